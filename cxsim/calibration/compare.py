"""Observed counts beside simulated worlds: the tables behind the explorer's 'Your own data' tab (no Streamlit).

The observed figures are the counts of :mod:`.observed` (a funnel, 0–10 scores, reasons);
the simulated ones come from the run tables of each world (:func:`cxsim.views.run_tables`,
replicates on the same seeds). Each table is long: one row per figure (``item``) and
``source`` (``observed`` or a world), with ``value``, ``low`` and ``high`` (95%):

* observed shares: Wilson's binomial interval for ``k`` of ``n``;
* simulated shares and scores: the mean over replicates with its t-interval
  (:func:`cxsim.readouts.metrics.interval`; none with one replicate).

The quantities are the calibration's (:mod:`.quantities`): a funnel row is
``customers / customers of the row before`` (``funnel:<m>/<before>``), a reason's share is
of all non-users (``reason:<r>``), scores are those of customers past the outcome
(``mean_score``), NPS the metric. :func:`verdict` reads a table as one line;
:func:`template` writes an example CSV of each kind from a simulated run; :func:`fit_table` lists a fit's targets.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..readouts.metrics import FUNNEL, MIN_REPLICATES, interval, ratio
from ..rules.barriers import REASONS
from ..rules.emotions import DETRACTOR, PROMOTER
from .figure import Z95
from .observed import COLUMNS

COLUMNS_OUT = ["figure", "item", "order", "source", "value", "low", "high", "observed_count", "observed_n"]
OBSERVED = "observed"
SCORES = tuple(range(11))
MAX_RESPONDENTS = 2000
"""Most rows of an example given per respondent (a larger world's answers are sampled evenly)."""


def wilson(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson's 95% interval of a binomial share ``k / n`` (holds for 0 and n; counts need not be whole)."""
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _observed_row(figure: str, item: str, order: int, k: float, n: float) -> dict[str, Any]:
    lo, hi = wilson(k, n)
    return {"figure": figure, "item": item, "order": order, "source": OBSERVED, "value": k / n if n > 0 else math.nan,
            "low": lo, "high": hi, "observed_count": k, "observed_n": n}


def _simulated_row(figure: str, item: str, order: int, world: str, values: list[float], share: bool = True) -> dict[str, Any]:
    mean, lo, hi = interval(values)
    if share and not math.isnan(lo):  # a share's interval stays within 0–1
        lo, hi = max(0.0, lo), min(1.0, hi)
    return {"figure": figure, "item": item, "order": order, "source": world, "value": mean, "low": lo, "high": hi,
            "observed_count": math.nan, "observed_n": math.nan}


def _table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS_OUT)


# -- the funnel ----------------------------------------------------------------------------------
def funnel_label(milestone: str, before: str) -> str:
    return f"{milestone.replace('_', ' ')} / {before.replace('_', ' ')}"


def funnel_table(counts: pd.DataFrame, runs_by_world: dict[str, list[dict]]) -> pd.DataFrame:
    """Each observed stage rate (a row / the row before) beside the same rate in every world."""
    rows = []
    obs = list(counts.itertuples(index=False))
    for k, (before, row) in enumerate(zip(obs, obs[1:])):
        item = funnel_label(row.milestone, before.milestone)
        rows.append(_observed_row("funnel", item, k, float(row.customers), float(before.customers)))
        for world, runs in runs_by_world.items():
            rates = [ratio(_reached(r, row.milestone), _reached(r, before.milestone)) for r in runs]
            rows.append(_simulated_row("funnel", item, k, world, rates))
    return _table(rows)


def _reached(run: dict, milestone: str) -> float:
    f = run["funnel"]
    return float(f.loc[f["milestone"] == milestone, "customers"].sum())


# -- scores --------------------------------------------------------------------------------------
def _score_counts(run: dict) -> np.ndarray:
    s = run["scores"]
    out = np.zeros(len(SCORES))
    out[s["score"].to_numpy(int)] = s["customers"].to_numpy(float)
    return out


def _observed_scores(counts: pd.DataFrame) -> np.ndarray:
    out = np.zeros(len(SCORES))
    for score, n in zip(pd.to_numeric(counts["score"]).astype(int), counts["count"]):
        out[score] += float(n)
    return out


def scores_table(counts: pd.DataFrame, runs_by_world: dict[str, list[dict]]) -> pd.DataFrame:
    """The share of answers at each score 0–10, observed and in every world (customers past the outcome)."""
    observed = _observed_scores(counts)
    n = observed.sum()
    rows = []
    for score in SCORES:
        rows.append(_observed_row("scores", str(score), score, observed[score], n))
        for world, runs in runs_by_world.items():
            shares = [_share(c, score) for c in map(_score_counts, runs)]
            rows.append(_simulated_row("scores", str(score), score, world, shares))
    return _table(rows)


def _share(counts: np.ndarray, score: int) -> float:
    total = counts.sum()
    return counts[score] / total if total else math.nan


def _nps(counts: np.ndarray) -> float:
    n = counts.sum()
    return 100 * (counts[PROMOTER:].sum() - counts[:DETRACTOR + 1].sum()) / n if n else math.nan


def _mean_score(counts: np.ndarray) -> float:
    n = counts.sum()
    return float((counts * np.arange(len(SCORES))).sum() / n) if n else math.nan


def score_summary_table(counts: pd.DataFrame, runs_by_world: dict[str, list[dict]]) -> pd.DataFrame:
    """NPS and the mean score, observed (with the se of :mod:`.observed`, ±1.96 se) and in every world."""
    observed = _observed_scores(counts)
    n = observed.sum()
    p = observed / n
    promoters, detractors = p[9:].sum(), p[:7].sum()
    se_nps = 100 * math.sqrt(max(promoters + detractors - (promoters - detractors) ** 2, 1 / n) / n)
    mean = _mean_score(observed)
    sd = math.sqrt(max(float((p * (np.arange(11) - mean) ** 2).sum()) * n / max(n - 1, 1), 1 / n))
    rows = []
    for k, (item, value, se, simulated) in enumerate((
            ("NPS", _nps(observed), se_nps, lambda r: r["outcomes"]["nps"]),
            ("mean score", mean, sd / math.sqrt(n), lambda r: _mean_score(_score_counts(r))))):
        rows.append({"figure": "score summary", "item": item, "order": k, "source": OBSERVED, "value": value,
                     "low": value - Z95 * se, "high": value + Z95 * se, "observed_count": math.nan, "observed_n": n})
        for world, runs in runs_by_world.items():
            rows.append(_simulated_row("score summary", item, k, world, [simulated(r) for r in runs], share=False))
    return _table(rows)


# -- reasons -------------------------------------------------------------------------------------
def _reason_counts(run: dict) -> dict[str, float]:
    d = run["dropouts"]
    return {str(r): float(n) for r, n in d.groupby("reason", sort=False)["customers"].sum().items()} if len(d) else {}


def reasons_table(counts: pd.DataFrame, runs_by_world: dict[str, list[dict]]) -> pd.DataFrame:
    """The share of non-users giving each reason, observed and in every world (reasons of either, in the model's order;
    a reason only the simulation gives has no observed row)."""
    observed = counts.groupby("reason", sort=False)["count"].sum()
    n = float(observed.sum())
    simulated = {w: [_reason_counts(r) for r in runs] for w, runs in runs_by_world.items()}
    seen = set(observed.index) | {r for per_run in simulated.values() for c in per_run for r, v in c.items() if v}
    rows = []
    for k, reason in enumerate(r for r in REASONS if r in seen):
        item = reason.replace("_", " ")
        if reason in observed.index:
            rows.append(_observed_row("reasons", item, k, float(observed[reason]), n))
        for world, per_run in simulated.items():
            rows.append(_simulated_row("reasons", item, k, world, [ratio(c.get(reason, 0.0), sum(c.values())) for c in per_run]))
    return _table(rows)


# -- reading a table -----------------------------------------------------------------------------
def agreement(table: pd.DataFrame) -> pd.DataFrame:
    """Per item and world: the observed value, the simulated one with its interval, and whether the observed
    value lies inside it (``inside``: True, False, or None when there is no simulated interval)."""
    obs = table[table["source"] == OBSERVED].set_index("item")
    rows = []
    for r in table[table["source"] != OBSERVED].itertuples(index=False):
        if r.item not in obs.index:
            continue
        o = obs.loc[r.item]
        known = not (math.isnan(r.low) or math.isnan(r.high))
        rows.append({"item": r.item, "order": r.order, "world": r.source, "observed": o["value"], "observed_low": o["low"],
                     "observed_high": o["high"], "simulated": r.value, "low": r.low, "high": r.high,
                     "inside": (bool(r.low <= o["value"] <= r.high) if known else None)})
    return pd.DataFrame(rows)


def verdict(table: pd.DataFrame, what: str, show=lambda x: f"{100 * x:.1f}%", items: list[str] | None = None) -> str:
    """One line: for each world, how many observed figures lie inside its simulated 95% interval, naming those outside.

    ``what`` names the figures ('rates', 'shares'); ``show`` formats a value; ``items``: only these figures.
    """
    a = agreement(table)
    if items is not None:
        a = a[a["item"].isin(items)]
    parts = []
    for world, rows in a.groupby("world", sort=False):
        known = rows[rows["inside"].notna()]
        if rows["simulated"].isna().all():
            parts.append(f"{world}: not simulated (no such customers)")
        elif known.empty:
            parts.append(f"{world}: no simulated interval with fewer than {MIN_REPLICATES} replicates")
        else:
            outside = known[~known["inside"].astype(bool)]
            text = f"{world}: {len(known) - len(outside)} of {len(known)} {what} inside"
            if len(outside):
                text += " — outside: " + "; ".join(
                    f"{o.item} (observed {show(o.observed)}, simulated {show(o.low)}–{show(o.high)})" for o in outside.head(3).itertuples())
                text += " …" if len(outside) > 3 else ""
            parts.append(text)
    return "Observed against the simulated 95% interval · " + " · ".join(parts)


# -- a fit ---------------------------------------------------------------------------------------
def fit_table(cal) -> pd.DataFrame:
    """Each target of a :class:`~cxsim.calibration.Calibration` at its best fit: the figure with its 95% interval
    (± 1.96 se), the fitted mean with its 95% interval over the seeds, and the residual in se units."""
    rows = []
    for k, f in enumerate(cal.fits):
        t = f.target
        residual = f.residual if math.isfinite(f.residual) else math.nan
        rows.append({"target": t.label, "order": k, "measure": t.measure, "observed": t.value, "observed_low": t.value - Z95 * t.se,
                     "observed_high": t.value + Z95 * t.se, "fitted": f.mean, "fitted_low": f.low, "fitted_high": f.high,
                     "residual": residual, "within_noise": bool(abs(residual) <= 2) if math.isfinite(residual) else False})
    return pd.DataFrame(rows)


# -- templates -----------------------------------------------------------------------------------
def template(kind: str, run: dict, where: str, per_respondent: bool = False) -> str:
    """An example CSV of ``kind`` (the format ``[[observed]]`` reads) made from one simulated run's tables;
    ``where`` (e.g. "world 'baseline' of aravind, seed 1") goes into its opening comment."""
    key, count = COLUMNS[kind]
    head = f"# example of observed {kind} made from the simulated {where}: replace the counts with yours\n"
    if kind == "funnel":
        rows = _decreasing(run["funnel"])
    elif kind == "scores":
        counts = _score_counts(run)
        if per_respondent:
            scores = np.repeat(np.arange(len(SCORES)), counts.astype(int))
            if len(scores) > MAX_RESPONDENTS:  # an example, not a data dump: every k-th answer in score order
                k = math.ceil(len(scores) / MAX_RESPONDENTS)
                head += f"# (one in {k} of the {len(scores):,} simulated answers)\n"
                scores = scores[::k]
            return head + "respondent,score\n" + "".join(f"{i + 1},{s}\n" for i, s in enumerate(scores))
        rows = [(str(s), int(c)) for s, c in zip(SCORES, counts)]
    else:
        rows = [(r, int(n)) for r, n in _reason_counts(run).items() if n]
    return head + f"{key},{count}\n" + "".join(f"{k},{n}\n" for k, n in rows)


def _decreasing(funnel: pd.DataFrame) -> list[tuple[str, int]]:
    """Milestones in journey order, each kept only if no more customers reached it than the one kept before
    (what an observed funnel must be: every row a subset of the row before)."""
    rows: list[tuple[str, int]] = []
    by = dict(zip(funnel["milestone"], funnel["customers"]))
    for m in FUNNEL:
        n = int(by.get(m, 0))
        if n > 0 and (not rows or n <= rows[-1][1]):
            rows.append((m, n))
    return rows


__all__ = ["wilson", "funnel_table", "scores_table", "score_summary_table", "reasons_table", "agreement", "verdict", "template",
           "fit_table"]
