"""Tables behind the explorer's charts: plain pandas over cxsim results (no Streamlit).

The explorer (``app/``) turns widgets into scenario overrides and these tables into
charts. Everything here is a pure function of results or scenarios, so it can be
tested, reused in notebooks and cached by the app on plain inputs:

* :func:`run_tables` – the small tables of one run (what the app caches per seed), with
  :func:`score_counts` – the 0–10 scores of customers past the outcome;
* :func:`paired_comparison`, :func:`funnel_table`, :func:`dropout_table`,
  :func:`timeseries_table`, :func:`stage_table` – baseline vs intervention over
  replicates run on the same seeds;
* :func:`journey_table` – one customer's touchpoints with peak and end marked;
* :func:`widget_spec`, :func:`parameter_paths` – widgets described from the
  parameter declarations (:mod:`cxsim.state.params`), so a new parameter needs no UI code;
* :func:`trainer_steps` – the scenario's story told step by step.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel
from scipy.special import stdtrit  # Student's t quantile (scipy.stats is slow to import)

from .readouts import measures
from .readouts.measures import metric_range
from .readouts.metrics import FUNNEL, METRIC_BY_NAME, MIN_REPLICATES, SCALAR_OUTCOMES, paired_differences
from .rules.journey import Stage, reached
from .state.params import Params, field_info

if TYPE_CHECKING:
    from .engine.model import Results
    from .engine.scenario import Scenario

WORLDS = ("baseline", "intervention")
"""The two worlds the explorer compares, run on the same seeds."""

HEADLINE = (
    "acceptance_rate", "nps", "mean_loyalty", "referrals",
    "referral_acceptances", "intervention_cost", "value_delivered", "return_on_spend",
)
"""Metrics shown as cards, in this order (labels and units come from :data:`METRICS`)."""

SPARE = ("retention", "satisfaction", "served", "reach")
"""Shown as cards instead of headline metrics that have no value in a scenario (e.g. no offers made)."""

CURVES = ("mean_loyalty", "referrals", "referral_acceptances")
"""Metrics drawn over time by default."""

MILESTONE_LABELS = {
    "aware": "aware", "offered": "offered", "accepted": "accepted", "served": "served",
    "followed_up": "followed up", "good_outcome": "good outcome", "promoter": "promoter (9–10)",
}


# -- one run ---------------------------------------------------------------------------
def run_tables(res: "Results") -> dict[str, Any]:
    """The small tables of one run that the explorer charts (no per-customer rows).

    Outcomes: every metric, then the scenario's own measures (:func:`scenario_measures`).
    """
    s = res.summary
    outcomes = {k: _num(s[k]) for k in SCALAR_OUTCOMES}
    outcomes.update({k: _num(measures.measure(res, k)) for k in scenario_measures(res.scenario)})
    return {
        "outcomes": outcomes,
        "timeseries": res.timeseries,
        "funnel": res.funnel,
        "dropouts": res.dropouts,
        "flows": journey_flows(res.model),
        "scores": score_counts(res.model),
        "customers": int(s["customers"]),
    }


def score_counts(model) -> pd.DataFrame:
    """Customers past the outcome at each score 0–10 to "would you recommend?" (score, customers; all 11 scores)."""
    c = model.customers
    answer = c.recommend[~np.isnan(c.satisfaction)]
    counts = np.bincount(answer[answer >= 0].astype(np.int64), minlength=11)[:11]
    return pd.DataFrame({"score": np.arange(11), "customers": counts.astype(np.int64)})


FLOW_NODES = (
    "customers", "installed base", "never aware", "aware", "not offered", "offered", "declined", "deciding",
    "accepted", "dropped", "waiting for service", "served", "in follow-up", "loyal", "still customers", "churned", "elsewhere",
)
"""Nodes of the journey flow, in journey order (ends: never aware, not offered, declined, deciding,
dropped, waiting for service, in follow-up, still customers, churned, elsewhere)."""


def journey_flows(model) -> pd.DataFrame:
    """How customers moved between stages and where they left: (source, target, customers) per link.

    From each customer's stages ever reached (``visited`` bits) and final stage. A prospect
    counts as having reached a stage when they reached it or any later one; customers already
    loyal who were never served here are the installed base. Every node's inflow equals its
    outflow; links with no customer are left out.
    """
    c = model.customers
    stage = c.stage
    ever = {st_: reached(c, st_) for st_ in Stage}
    installed = ever[Stage.LOYAL] & ~ever[Stage.SERVED]
    path = (Stage.AWARE, Stage.OFFERED, Stage.ACCEPTED, Stage.SERVED)
    at_least = {}
    for k, st_ in enumerate(path):
        at_least[st_] = ~installed & np.logical_or.reduce([ever[s] for s in path[k:]])
    aware, offered, accepted, served = (at_least[s] for s in path)
    loyal = (served & ever[Stage.LOYAL]) | installed
    is_ = {st_: stage == st_ for st_ in (Stage.DECLINED, Stage.DROPPED, Stage.CHURNED, Stage.LOYAL)}
    links = [
        ("customers", "installed base", installed), ("customers", "aware", aware), ("customers", "never aware", ~installed & ~aware),
        ("installed base", "loyal", installed),
        ("aware", "offered", offered), ("aware", "not offered", aware & ~offered),
        ("offered", "accepted", accepted), ("offered", "declined", offered & ~accepted & is_[Stage.DECLINED]),
        ("offered", "deciding", offered & ~accepted & ~is_[Stage.DECLINED]),
        ("accepted", "served", served), ("accepted", "dropped", accepted & ~served & is_[Stage.DROPPED]),
        ("accepted", "waiting for service", accepted & ~served & ~is_[Stage.DROPPED]),
        ("served", "loyal", served & ever[Stage.LOYAL]), ("served", "churned", served & ~ever[Stage.LOYAL] & is_[Stage.CHURNED]),
        ("served", "in follow-up", served & ~ever[Stage.LOYAL] & ~is_[Stage.CHURNED]),
        ("loyal", "still customers", loyal & is_[Stage.LOYAL]), ("loyal", "churned", loyal & is_[Stage.CHURNED]),
        ("loyal", "elsewhere", loyal & ~is_[Stage.LOYAL] & ~is_[Stage.CHURNED]),
    ]
    rows = [{"source": a, "target": b, "customers": int(np.count_nonzero(m))} for a, b, m in links]
    return pd.DataFrame([r for r in rows if r["customers"]], columns=["source", "target", "customers"])


def scenario_measures(scenario: "Scenario") -> list[str]:
    """The measures a scenario's story names that are not metrics (end-of-run and group measures)."""
    return [name for name in scenario.story.measures if name not in METRIC_BY_NAME]


def _num(x) -> float:
    return math.nan if x is None else float(x)


def _outcomes(runs: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([r["outcomes"] for r in runs], columns=list(runs[0]["outcomes"]), dtype=float)


def describe(name: str) -> tuple[str, str]:
    """Label and unit of a metric or measure."""
    d = measures.definition(name)
    return d.label, d.unit


# -- units -----------------------------------------------------------------------------
def unit_text(unit: str, scenario: "Scenario | None" = None) -> str:
    """A declared unit in the scenario's words: 'currency/step' → 'rupees/week'."""
    if scenario is None:
        return unit
    return unit.replace("currency", scenario.currency).replace("step", scenario.step_unit)


def display_unit(metric: str, currency: str = "currency") -> tuple[float, str]:
    """Scale and unit to show a metric in: shares as %, money in the scenario's currency."""
    unit = measures.unit(metric)
    if unit == "share":
        return 100.0, "%"
    if unit == "currency":
        return 1.0, currency
    return 1.0, unit


COUNT_UNITS = ("customers", "recommendations", "actions", "failures", "encounters")
"""Units that count things: shown as whole numbers (unless a small mean, e.g. 0.3 failures per customer)."""

_BIG = ((1e12, "T"), (1e9, "bn"), (1e6, "M"), (1e3, "k"))


def _decimals(v: float, shown: str, metric: str, currency: str) -> int:
    fixed = {"%": 1, "×": 2, "0–1": 2, "−100–100": 1, "index": 1, "0–10": 1}
    if shown in fixed:
        return fixed[shown]
    if measures.unit(metric) in COUNT_UNITS or shown == currency:
        return 0 if abs(v) >= 10 or float(v).is_integer() else (1 if abs(v) >= 1 else 2)
    return 0 if abs(v) >= 100 else 2


def _compact(v: float, sign: str) -> str:
    """10,000 and more in three significant digits with a letter: 900,848 → '901k', 5.2e13 → '52.0T'."""
    k = next(k for k, (size, _) in enumerate(_BIG) if abs(v) >= size)
    big, letter = v / _BIG[k][0], _BIG[k][1]
    decimals = max(0, 2 - math.floor(math.log10(abs(big))))
    if abs(round(big, decimals)) >= 1000 and k > 0:  # 999,960 → '1.00M', not '1,000k'
        big, letter, decimals = v / _BIG[k - 1][0], _BIG[k - 1][1], 2
    return f"{big:{sign},.{decimals}f}{letter}"


def fmt(value: float, metric: str, currency: str = "currency", signed: bool = False, unit: bool = True, compact: bool = False) -> str:
    """A metric value (or, ``signed``, a difference) as people read it: '71.5 %', '+66.8 pp', '900,848 rupees'.

    Counts of things are whole numbers; a value that rounds to zero is '0' (no sign, never '−0');
    ``compact`` writes numbers of 10,000 and more as '901k', '10.2M' or '3.40bn' (never an exponent).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    scale, shown = display_unit(metric, currency)
    v = value * scale
    decimals = _decimals(v, shown, metric, currency)
    if round(v, decimals) == 0:
        v, sign, decimals = 0.0, "", 0
    else:
        sign = "+" if signed else ""
    text = _compact(v, sign) if compact and abs(v) >= 10_000 else f"{v:{sign},.{decimals}f}"
    suffix = {"%": " pp" if signed else " %", "×": "×", currency: f" {currency}"}.get(shown, "")
    return text + suffix if unit else text


def _is_zero(x: float, metric: str, currency: str) -> bool:
    """Zero as shown (rounded to the digits :func:`fmt` prints)."""
    return not any(ch in "123456789" for ch in fmt(x, metric, currency, unit=False))


def verdict(row: dict | pd.Series, currency: str = "currency") -> str:
    """How one row of :func:`paired_comparison` reads, by the measure's declared direction (``better``):

    'better' or 'worse'; 'changed' (neither direction is better); 'no clear change'
    (the 95% interval spans zero); 'no change' (zero as shown); '' (no value).
    """
    diff, lo, hi, m = row["difference"], row["ci_low"], row["ci_high"], row["metric"]
    if math.isnan(diff):
        return ""
    if _is_zero(diff, m, currency) and (math.isnan(lo) or (_is_zero(lo, m, currency) and _is_zero(hi, m, currency))):
        return "no change"
    if not math.isnan(lo) and lo <= 0 <= hi:
        return "no clear change"
    if _is_zero(diff, m, currency):
        return "no change"
    better = measures.definition(m).better
    if better is None:
        return "changed"
    return "better" if (diff > 0) == (better == "higher") else "worse"


def fmt_difference(row: dict | pd.Series, currency: str = "currency", unit: bool = True, compact: bool = False,
                   kind: str | None = None) -> str | None:
    """'+66.8 pp ±2.1 (95%)' for one row of :func:`paired_comparison` (the interval's bounds if it is not symmetric);
    'no change' when the difference and its interval are zero as shown."""
    m = row["metric"]
    if math.isnan(row["difference"]):
        return None
    diff, lo, hi = row["difference"], row["ci_low"], row["ci_high"]
    if verdict(row, currency) == "no change":
        return "no change"
    text = fmt(diff, m, currency, signed=True, unit=unit, compact=compact)
    if math.isnan(lo) or hi == lo:  # one replicate, or the same difference in every replicate
        return text
    from .uncertainty import KIND_WORDS

    words = f", {KIND_WORDS[kind]}" if kind else ""  # which uncertainty: 'parameters + seeds' or 'seeds only'
    if abs((lo + hi) / 2 - diff) <= 1e-9 * max(1.0, abs(diff)):  # symmetric: '+66.8 pp ±2.1 (95%)'
        return f"{text} ±{_half_width((hi - lo) / 2, diff, m, currency, compact)} (95%{words})"
    lo_text, hi_text = (fmt(v, m, currency, signed=True, unit=False, compact=compact) for v in (lo, hi))
    return f"{text} (95% CI {lo_text} to {hi_text}{words})"


def _half_width(half: float, diff: float, metric: str, currency: str, compact: bool) -> str:
    """An interval's half-width at the digits of its difference: '2.1', or '<0.01' when it rounds to zero."""
    text = fmt(half, metric, currency, unit=False, compact=compact)
    if half > 0 and not any(ch in "123456789" for ch in text):
        scale, shown = display_unit(metric, currency)
        decimals = _decimals(diff * scale, shown, metric, currency)
        return f"<{10 ** -decimals:.{decimals}f}" if decimals else "<1"
    return text


def comparison_text(table: pd.DataFrame, currency: str = "currency") -> pd.DataFrame:
    """:func:`paired_comparison` as text to read: metric, baseline, intervention, difference ±95%."""
    rows = [{
        "metric": r["label"],
        "baseline": fmt(r["baseline"], r["metric"], currency),
        "intervention": fmt(r["intervention"], r["metric"], currency),
        "difference (95% interval)": fmt_difference(r, currency) or "–",
        "reading": verdict(r, currency),
    } for r in table.to_dict("records")]
    return pd.DataFrame(rows)


ARROWS = {"better": True, "worse": True, "changed": True, "no clear change": False, "no change": False, "": False}
"""Whether a reading (:func:`verdict`) shows an arrow: zero and unclear changes get none."""


def level_text(mean: float, low: float, high: float, metric: str, currency: str = "currency", kind: str | None = None,
               compact: bool = True) -> str:
    """A level with its interval and the kind of uncertainty it carries, for a card or a table cell:
    '72.7 % (95%: 16.0 to 98.0, parameters + seeds)'; with no interval (fewer than 3 runs or draws):
    '72.7 % (no interval: 2 runs)' is the caller's to say, here '72.7 % (no interval)'.

    ``kind``: ``"posterior"`` or ``"seeds"`` (:mod:`cxsim.ensemble`); the words are :data:`cxsim.uncertainty.KIND_WORDS`.
    """
    from .uncertainty import KIND_WORDS

    text = fmt(mean, metric, currency, compact=compact)
    words = f", {KIND_WORDS[kind]}" if kind else ""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return f"{text} (no interval{words})" if not math.isnan(mean) else text
    lo, hi = (fmt(v, metric, currency, unit=False, compact=compact) for v in (low, high))
    return f"{text} (95%: {lo} to {hi}{words})"


def ensemble_cards(ens, currency: str = "currency", first: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """The what-if cards of an ensemble (:mod:`cxsim.ensemble`), as :func:`card_text` builds them, each with its
    ``uncertainty`` kind and ``level`` (:func:`level_text`): what a page shows in one call, with the ensemble's ``caption`` beside it."""
    table = ens.differences()
    levels = ens.levels().set_index(["world", "metric"])
    rows = []
    for world in dict.fromkeys(table["world"]):
        mine = table[table["world"] == world]
        for name in card_metrics(mine, first=first):
            r = mine.set_index("metric").loc[name]
            lv = levels.loc[(world, name)]
            card = card_text(r, name, currency, kind=ens.kind)
            rows.append({"world": world, "metric": name, **card, "uncertainty": ens.kind,
                         "level": level_text(lv["mean"], lv["low"], lv["high"], name, currency, ens.kind)})
    return pd.DataFrame(rows)


def card_text(row: dict | pd.Series, metric: str, currency: str = "currency", kind: str | None = None) -> dict[str, str]:
    """One metric card as the explorer and the report show it: label (with the currency unit), value,
    delta, baseline, reading (:func:`verdict`) and arrow ('up', 'down' or 'off')."""
    m = measures.definition(metric)
    unit = f" ({currency})" if m.unit == "currency" else ""
    full = {**dict(row), "metric": metric}
    reading = verdict(full, currency)
    delta = fmt_difference(full, currency, unit=not unit, compact=True, kind=kind)
    baseline = f"baseline {fmt(full['baseline'], metric, currency, unit=not unit, compact=True)}"
    if reading == "no clear change":
        delta, baseline = "no clear change", f"{baseline} · difference {delta}"
    arrow = ("up" if full["difference"] > 0 else "down") if ARROWS[reading] else "off"
    return {"label": m.label + unit, "value": fmt(full["value"], metric, currency, unit=not unit, compact=True),
            "delta": delta or "", "baseline": baseline, "reading": reading, "arrow": arrow}


def number_text(x: float) -> str:
    """A range bound for a label: 100000 → '100,000', 1e9 → '1e9'."""
    return f"{x:.0e}".replace("e+0", "e").replace("e+", "e") if abs(x) >= 1e6 else f"{x:,g}"


# -- baseline vs intervention ------------------------------------------------------------
def paired_comparison(base: list[dict], alt: list[dict]) -> pd.DataFrame:
    """Per metric: both means and the paired difference with its 95% interval.

    ``base`` and ``alt`` are :func:`run_tables` of the same seeds, in the same
    order (common random numbers), as in :func:`cxsim.experiments.compare`.
    """
    before, after = _outcomes(base), _outcomes(alt)
    table = paired_differences(before, after, names=list(before.columns), describe=describe)
    return table.rename(columns={"alternative": "intervention"})


def worlds_comparison(runs_by_world: dict[str, list[dict]], baseline: str = "baseline") -> pd.DataFrame:
    """Every other world against ``baseline``: :func:`paired_comparison` per world, stacked, with a ``world``
    column (in the order of ``runs_by_world``) and each row's :func:`verdict`.

    All worlds must have been run on the same seeds in the same order (paired differences)."""
    base = runs_by_world[baseline]
    frames = []
    for world, runs in runs_by_world.items():
        if world != baseline:
            if len(runs) != len(base):
                raise ValueError(f"world {world!r} has {len(runs)} replicates, the baseline {len(base)}: pair them on the same seeds")
            frames.append(paired_comparison(base, runs).rename(columns={"intervention": "value"}).assign(world=world))
    if not frames:
        return pd.DataFrame(columns=["world", "metric", "label", "unit", "baseline", "value", "difference", "ci_low", "ci_high", "replicates"])
    out = pd.concat(frames, ignore_index=True)
    return out[["world", *[c for c in out.columns if c != "world"]]]


def card_metrics(table: pd.DataFrame, n: int = len(HEADLINE), first: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The outcomes to show as cards: ``first`` (a scenario's own measures), then the headline
    metrics, topped up from :data:`SPARE` – ``n`` of those that have a value."""
    values = [c for c in ("baseline", "intervention", "value") if c in table]
    has_value = set(table.loc[table[values].notna().any(axis=1), "metric"])
    chosen: list[str] = []
    for name in (*first, *HEADLINE, *SPARE):
        if name in has_value and name not in chosen and len(chosen) < n:
            chosen.append(name)
    return chosen


def display_comparison(table: pd.DataFrame, currency: str = "currency") -> pd.DataFrame:
    """:func:`paired_comparison` in display units (shares in %, differences in points)."""
    scale_unit = [display_unit(m, currency) for m in table["metric"]]
    scale = np.array([su[0] for su in scale_unit])
    cols = [c for c in ("baseline", "intervention", "value", "difference", "ci_low", "ci_high") if c in table]
    out = table.copy()
    out[cols] = out[cols].to_numpy() * scale[:, None]
    out["unit"] = [su[1] for su in scale_unit]
    out["reading"] = [verdict(r, currency) for r in table.to_dict("records")]
    out["scale"] = [difference_scale(u) for u in out["unit"]]
    return out


def difference_scale(unit: str) -> str:
    """The axis a difference in ``unit`` is drawn on: differences of shares are percentage points."""
    named = {"%": "percentage points", "×": "× (ratio)", "−100–100": "points (scale −100 to 100)", "0–1": "score (0 to 1)",
             "0–10": "score (0 to 10)", "": "number"}
    return named.get(unit, unit)


def _stack(runs_by_world: dict[str, list[dict]], part: str) -> pd.DataFrame:
    frames = [r[part].assign(world=w, replicate=k) for w, runs in runs_by_world.items() for k, r in enumerate(runs)]
    return pd.concat(frames, ignore_index=True)


def funnel_table(runs_by_world: dict[str, list[dict]]) -> pd.DataFrame:
    """Mean customers reaching each journey milestone, per world (replicate means)."""
    df = _stack(runs_by_world, "funnel")
    out = df.groupby(["world", "milestone"], sort=False, as_index=False)[["customers", "share_of_population"]].mean()
    out["label"] = out["milestone"].map(MILESTONE_LABELS).fillna(out["milestone"])
    out["order"] = out["milestone"].map({m: k for k, m in enumerate(FUNNEL)})
    return out.sort_values(["world", "order"], ignore_index=True)


def dropout_table(runs_by_world: dict[str, list[dict]]) -> pd.DataFrame:
    """Mean non-users per world, journey stage they left at and reason (missing = 0)."""
    out = _mean_customers(runs_by_world, "dropouts", ["stage", "reason"])
    return out.sort_values(["world", "customers"], ascending=[True, False], ignore_index=True)


def _mean_customers(runs_by_world: dict[str, list[dict]], table: str, keys: list[str]) -> pd.DataFrame:
    """Customers per world and ``keys`` in each run's ``table``, averaged over the world's replicates (a missing row = 0)."""
    df = _stack(runs_by_world, table)
    cols = ["world", *keys, "customers"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    n = {w: len(runs) for w, runs in runs_by_world.items()}
    out = df.groupby(["world", *keys], sort=False, as_index=False)["customers"].sum()
    out["customers"] = out["customers"] / out["world"].map(n)
    return out[cols]


def timeseries_table(runs_by_world: dict[str, list[dict]], metrics: tuple[str, ...] | list[str] = CURVES) -> pd.DataFrame:
    """Per world, step and metric: replicate mean and 95% interval (long format): Student-t within the metric's range,
    none below :data:`cxsim.readouts.metrics.MIN_REPLICATES` replicates (as :func:`cxsim.readouts.metrics.interval`)."""
    df = _stack(runs_by_world, "timeseries")
    long = df.melt(id_vars=["world", "replicate", "step"], value_vars=list(metrics), var_name="metric")
    g = long.groupby(["world", "metric", "step"], sort=False)["value"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    t = stdtrit(np.maximum(out["n"] - 1, 1), 0.975)
    half = np.where(out["n"] >= MIN_REPLICATES, t * out["sd"].fillna(0) / np.sqrt(out["n"]), np.nan)
    lo_hi = np.array([metric_range(m) for m in out["metric"]]).reshape(-1, 2)  # within each metric's range (cxsim.readouts.metrics.interval)
    out["low"] = np.clip(out["mean"] - half, lo_hi[:, 0], None)
    out["high"] = np.clip(out["mean"] + half, None, lo_hi[:, 1])
    out["label"] = out["metric"].map(lambda m: METRIC_BY_NAME[m].label)
    return out.drop(columns=["sd", "n"])


def flow_table(runs_by_world: dict[str, list[dict]]) -> pd.DataFrame:
    """Mean customers on each link of the journey flow (:func:`journey_flows`) per world (a missing link = 0)."""
    cols = ["world", "source", "target", "customers"]
    out = _mean_customers(runs_by_world, "flows", ["source", "target"])
    if out.empty:
        return out
    order = {name: k for k, name in enumerate(FLOW_NODES)}
    out = out.assign(_a=out["source"].map(order), _b=out["target"].map(order), _w=out["world"].map({w: k for k, w in enumerate(runs_by_world)}))
    return out.sort_values(["_w", "_a", "_b"], ignore_index=True)[cols]


def stage_table(runs_by_world: dict[str, list[dict]]) -> pd.DataFrame:
    """Mean customers in each journey stage at each step, per world (long format)."""
    df = _stack(runs_by_world, "timeseries")
    cols = [c for c in df.columns if c.startswith("n_")]
    out = df.groupby(["world", "step"], sort=False)[cols].mean().reset_index()
    out = out.melt(id_vars=["world", "step"], var_name="stage", value_name="customers")
    out["stage"] = out["stage"].str.removeprefix("n_")
    return out


PLAY_STAGES = {  # timeseries column → the stage in plain words, in journey order (those who left last)
    "n_unaware": "not yet aware", "n_aware": "aware, not yet offered", "n_offered": "offered, deciding", "n_accepted": "accepted, waiting",
    "n_served": "served", "n_loyal": "loyal", "n_declined": "said no", "n_dropped": "dropped out", "n_churned": "left again",
}
PLAY_CURVES = {"accepted": "customers who accepted", "referrals": "recommendations to others"}
"""What the Play of a run shows growing week by week (cumulative counts of the timeseries)."""


def play_tables(runs_by_world: dict[str, list[dict]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A computed run, week by week, for the Play (no recomputation): ``stages`` (world, step, stage, customers: mean over
    the replicates, stages in :data:`PLAY_STAGES`' words and order) and ``curves`` (world, step, what, value: the
    cumulative counts of :data:`PLAY_CURVES`, mean over the replicates). Worlds keep the order given."""
    df = _stack(runs_by_world, "timeseries")
    order = {w: k for k, w in enumerate(runs_by_world)}
    cols = [c for c in PLAY_STAGES if c in df.columns]
    mean = df.groupby(["world", "step"], sort=False)[cols + [c for c in PLAY_CURVES if c in df.columns]].mean().reset_index()
    mean = mean.iloc[mean["world"].map(order).argsort(kind="stable")].reset_index(drop=True)
    stages = mean.melt(id_vars=["world", "step"], value_vars=cols, var_name="stage", value_name="customers")
    stages["stage"] = stages["stage"].map(PLAY_STAGES)
    curves = mean.melt(id_vars=["world", "step"], value_vars=[c for c in PLAY_CURVES if c in mean.columns], var_name="what", value_name="value")
    curves["what"] = curves["what"].map(PLAY_CURVES)
    return stages, curves


def play_week(stages: pd.DataFrame, curves: pd.DataFrame, week: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Play at ``week``: customers per stage that week, and the curves up to it."""
    return stages[stages["step"] == week].reset_index(drop=True), curves[curves["step"] <= week].reset_index(drop=True)


# -- one customer ---------------------------------------------------------------------------
def journey_table(events: pd.DataFrame, customer: int) -> pd.DataFrame:
    """One customer's events in order, with the peak and the end of their feelings marked."""
    ev = events[events["customer"] == customer].reset_index(drop=True)
    ev.insert(0, "moment", np.arange(1, len(ev) + 1))
    ev["moved"] = ev["feeling_change"] != 0
    ev["marker"] = ""
    if len(ev):
        peak, end = int(ev["valence"].abs().idxmax()), len(ev) - 1
        ev.loc[peak, "marker"] = "peak"
        ev.loc[end, "marker"] = "peak and end" if peak == end else "end"
    return ev


# -- widgets from parameter declarations --------------------------------------------------------
@dataclass(frozen=True)
class WidgetSpec:
    """How to show one declared parameter: kind is toggle, slider, int, number, choice or multiselect."""

    path: str
    kind: str
    label: str
    help: str
    value: Any
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    options: tuple = ()


_JS_INT = 2**53 - 1  # browsers hold integers exactly up to here


def _list_options(field: str, scenario: "Scenario") -> tuple[str, ...] | None:
    sources = {"segments": scenario.segment_names, "touchpoints": list(scenario.touchpoints)}
    return tuple(sources[field]) if field in sources else None


def widget_spec(path: str, model_cls: type[BaseModel], field: str, value: Any, scenario: "Scenario") -> WidgetSpec | None:
    """The widget for parameter ``field`` of ``model_cls`` (None: not shown as a widget)."""
    info = field_info(model_cls, field)
    typ, unit = info["type"], unit_text(info["unit"], scenario)
    lo, hi = info["lo"], info["hi"]
    pretty = field.replace("_", " ")
    if typ is int:
        lo, hi = (None if lo is None else int(max(lo, -_JS_INT))), (None if hi is None else int(min(hi, _JS_INT)))
    rng = "" if lo is None or hi is None else f"{number_text(lo)}–{number_text(hi)}"
    help_text = " · ".join(x for x in (info["doc"], f"allowed {rng} {unit}".strip() if rng else "", info["source"]) if x)
    spec = dict(path=path, help=help_text or pretty, value=value, lo=lo, hi=hi)
    if typ is bool:
        return WidgetSpec(kind="toggle", label=pretty, **spec)
    if typing.get_origin(typ) is typing.Literal:
        return WidgetSpec(kind="choice", label=pretty, options=typing.get_args(typ), **spec)
    if typing.get_origin(typ) is list:
        options = _list_options(field, scenario)
        return None if options is None else WidgetSpec(kind="multiselect", label=pretty, options=options, **spec)
    if typ not in (int, float):
        return None
    unit_part = f"{unit}; " if unit and unit != pretty else ""
    if typ is float and lo is not None and hi is not None and hi - lo <= 20:
        step = 10 ** math.floor(math.log10((hi - lo) / 100)) if hi > lo else 0.01
        return WidgetSpec(kind="slider", label=f"{pretty} ({unit})" if unit else pretty, step=step, **spec)
    if typ is int:
        step = 10 ** max(0, math.floor(math.log10(abs(value))) - 1) if value else 1
        return WidgetSpec(kind="int", label=f"{pretty} ({unit_part}{rng})" if rng else pretty, step=step, **spec)
    mag = 10 ** math.floor(math.log10(abs(value))) if value else 1.0
    return WidgetSpec(kind="number", label=f"{pretty} ({unit_part}{rng})" if rng else pretty, step=float(mag / 10), **spec)


def first_sentence(text: str, most: int = 170) -> str:
    """A story in one line: its first sentence (up to the first '. ', ': ' or ', a '), at most ``most`` characters."""
    import re

    text = " ".join(str(text).split())
    m = re.search(r"(?<=[a-z0-9%)])[.:;] ", text)
    head = text[: m.start() + 1].rstrip(":;") if m else text
    return head if len(head) <= most else head[: most - 1].rsplit(" ", 1)[0] + "…"


def readable(name: str) -> str:
    """An identifier in words for a chart or a sentence (``camp_screening`` → 'camp screening'); text with spaces as it is."""
    text = str(name)
    return text if " " in text else text.replace("_", " ")


def intervention_label(scenario: "Scenario", name: str) -> str:
    """A switch's own label: the kind's label when the intervention is named after its kind
    (``free_transport``), else its name made readable (``early_warning_priority`` → 'Early warning priority')."""
    iv = scenario.interventions[name]
    title = getattr(iv, "title", "")
    if title:
        return title
    if iv.kind in ("", name) and type(iv).label:
        return type(iv).label
    return name.replace("_", " ").capitalize()


def plan_label(scenario: "Scenario", overrides: dict) -> str:
    """An intervention plan (``interventions.NAME.enabled`` overrides) in words: its switches' labels, or 'no intervention'."""
    on = [path.split(".")[1] for path, value in overrides.items()
          if path.startswith("interventions.") and path.endswith(".enabled") and value and path.split(".")[1] in scenario.interventions]
    return " + ".join(intervention_label(scenario, n) for n in on) or "no intervention"


def plans_shown(scenario: "Scenario", res: Any, table: pd.DataFrame, primary: str, currency: str = "currency") -> pd.DataFrame:
    """A plans or frontier table of an optimisation (``res``: :class:`cxsim.optimisation.Optimisation`) as a page shows it:
    plans named in words (:func:`plan_label`), the objective in its display unit (% like the cards)."""
    scale, _ = display_unit(primary, currency)
    out = table.copy()
    by_trial = {p.trial: p for p in res.plans}
    out["plan"] = [plan_label(scenario, by_trial[t].overrides) if t in by_trial else plan for t, plan in zip(out["trial"], out["plan"])]
    for col in (primary, f"{primary}_low", f"{primary}_high"):
        if col in out:
            out[col] = out[col] * scale
    return out


def intervention_help(scenario: "Scenario", name: str) -> str:
    """What kind of intervention a switch is, for its help text."""
    iv = scenario.interventions[name]
    kind = type(iv).label or iv.kind or name
    return f"{kind} (kind {iv.kind or name}, interventions.{name} in the scenario file)"


def intervention_specs(scenario: "Scenario", name: str) -> list[WidgetSpec]:
    """Widgets for one intervention's parameters (switch first), from its class's declarations."""
    iv = scenario.interventions[name]
    cls = type(iv)
    fields = ["enabled"] + [f for f in cls.model_fields if f not in ("kind", "enabled")]
    specs = [widget_spec(f"interventions.{name}.{f}", cls, f, getattr(iv, f), scenario) for f in fields]
    return [s for s in specs if s is not None]


SEPARATE_PATHS = ("steps", "seed", "population.customers")
"""Parameters the explorer shows as their own widgets (run size)."""


def _is_scalar(cls: type[BaseModel], field: str) -> bool:
    ann = cls.model_fields[field].annotation
    return ann in (int, float, bool) or typing.get_origin(ann) is typing.Literal


def parameter_paths(scenario: "Scenario") -> list[tuple[str, type[BaseModel], str, Any]]:
    """Every numeric, switch or choice parameter of a scenario: (dotted path, class, field, value).

    Interventions (shown on their own) and variants are left out.
    """
    out: list[tuple[str, type[BaseModel], str, Any]] = []

    def walk(obj: BaseModel, prefix: str) -> None:
        for field in type(obj).model_fields:
            value, path = getattr(obj, field), f"{prefix}{field}"
            if isinstance(value, Params):
                walk(value, path + ".")
            elif isinstance(value, dict) and value and all(isinstance(v, Params) for v in value.values()):
                if path not in ("interventions", "variants"):
                    for key, sub in value.items():
                        walk(sub, f"{path}.{key}.")
            elif _is_scalar(type(obj), field) and path not in SEPARATE_PATHS:
                out.append((path, type(obj), field, value))

    walk(scenario, "")
    return out


# -- trainer's mode -----------------------------------------------------------------------
def setup_and_outcome(text: str) -> tuple[str, str]:
    """A story paragraph split after its first sentence: the setup (shown before a prediction)
    and the rest (how it turned out, shown only with the reveal)."""
    flat = " ".join(text.split())
    for k, ch in enumerate(flat):
        if ch in ".!?" and flat[k + 1 : k + 2] == " " and flat[k + 2 : k + 3].isupper():
            return flat[: k + 1], flat[k + 2 :]
    return flat, ""


def trainer_steps(scenario: "Scenario", interventions: list[str]) -> list[dict[str, Any]]:
    """The story step by step: inside-out, outside-in, then each intervention added in turn.

    Each step: ``kind`` (inside_out, outside_in, intervention, what_changed), ``title``,
    ``text`` (shown from the start), ``after`` (shown only once the step's result is
    revealed, so no step gives its answer away) and ``interventions`` switched on when
    its effect is revealed (None: no run).
    """
    story, labels = scenario.story, {n: intervention_label(scenario, n) for n in scenario.interventions}
    setup, outcome = setup_and_outcome(story.inside_out) if story.inside_out else (
        f"The provider offers: {scenario.title or scenario.name}. From the inside, the offer looks right.", "")
    steps = [
        {"kind": "inside_out", "title": "Inside out: the provider's view", "short": "no intervention", "interventions": [],
         "text": setup, "after": outcome},
        {"kind": "outside_in", "title": "Outside in: ask the non-user", "interventions": None, "after": "",
         "text": story.outside_in or "Ask the people who stayed away why, in their own words and with their own costs."},
    ]
    on: list[str] = []
    for name in interventions:
        on = on + [name]
        steps.append({"kind": "intervention", "title": f"Switch on: {labels[name]}", "short": f"+ {labels[name]}", "interventions": on,
                      "text": f"Now add **{labels[name]}**" + (f" (on top of {', '.join(labels[n] for n in on[:-1])})." if len(on) > 1 else "."),
                      "after": ""})
    steps.append({"kind": "what_changed", "title": "What changed", "interventions": None, "after": "",
                  "text": " ".join(story.what_changed.split()), "fact": story.fact, "source": story.source,
                  "labels": [labels[n] for n in interventions]})
    return steps


__all__ = [
    "WORLDS", "worlds_comparison", "score_counts", "HEADLINE", "SPARE", "CURVES", "card_metrics", "run_tables", "paired_comparison", "display_comparison", "funnel_table",
    "dropout_table", "timeseries_table", "stage_table", "journey_flows", "flow_table", "FLOW_NODES", "journey_table", "WidgetSpec", "widget_spec",
    "intervention_specs", "intervention_label", "intervention_help", "parameter_paths", "trainer_steps", "setup_and_outcome", "unit_text", "display_unit", "fmt", "fmt_difference", "verdict", "card_text", "ARROWS", "COUNT_UNITS", "number_text", "comparison_text",
]


# -- every world on every posterior draw × seed ------------------------------------------------------------
@dataclass(frozen=True)
class PageUncertainty:
    """Which uncertainty a page's runs carry (:mod:`cxsim.uncertainty`): the kind, the parameter sets each world runs on
    (``draws``: posterior draws as overrides, or one empty set for seeds only), the seeds per draw and where it comes from."""

    kind: str
    draws: tuple[dict[str, float], ...]
    seeds: int
    source: str

    @property
    def words(self) -> tuple[str, str]:
        """The caption every number closes with (over how many draws × seeds, whether parameters are included) and the
        kind in a few words ('parameters + seeds', 'seeds only'): :mod:`cxsim.uncertainty`'s words."""
        from .uncertainty import KIND_WORDS, uncertainty_caption

        return uncertainty_caption(self.kind, len(self.draws), self.seeds, self.source), KIND_WORDS[self.kind]


def page_uncertainty(scenario: "str | Scenario", wanted: str | None, draws: int, seeds: int, draw_seed: int = 0) -> PageUncertainty:
    """The uncertainty a page shows: ``wanted`` (``"posterior"``, ``"seeds"``, or None: posterior where there is one).

    Unlike :func:`cxsim.uncertainty.choose_kind`, asking for the posterior of a scenario that has none is not an error
    here: the page falls back to seeds only and says so in words (the ``source``)."""
    from .uncertainty import POSTERIOR, SEEDS, choose_kind, resolve_posterior

    post, source = resolve_posterior(scenario)
    kind = choose_kind(None if wanted == POSTERIOR and post is None else wanted, post, source)
    if kind == SEEDS:
        if post is not None:
            source = f"posterior not used: {source}"
        return PageUncertainty(SEEDS, ({},), seeds, source)
    return PageUncertainty(POSTERIOR, tuple(post.draws(draws, draw_seed)), seeds, source)


def draw_seeds(seeds: list[int], draw: int) -> list[int]:
    """The seeds of posterior draw ``draw``: ``seeds`` shifted by ``draw · len(seeds)`` (as :func:`cxsim.ensemble.plan`)."""
    return [s + draw * len(seeds) for s in seeds]


def run_worlds(worlds: "dict[str, Scenario]", seeds: list[int], run: "typing.Callable[[Scenario, int], dict] | None" = None,
               draws: "typing.Sequence[dict[str, float]]" = ({},), keep: "typing.Collection[str]" = (),
               on_run: "typing.Callable[[int, int, str, int], None] | None" = None) -> dict[str, list[dict]]:
    """Every world on every draw × seed, with common random numbers: :func:`run_tables` per run, by world, in draw
    then seed order. Within a draw every world runs on the same seeds (:func:`draw_seeds`), so differences pair.

    ``run(scenario, seed)``: how to run one (default: :func:`cxsim.run`; the explorer passes its cache); a draw's
    parameters apply to every world except the paths in ``keep`` (settings the user chose stay as chosen);
    ``on_run(done, total, world, seed)`` before each run."""
    if run is None:
        from . import run as simulate

        def run(sc, seed):
            return run_tables(simulate(sc, seed))
    jobs = []
    for d, draw in enumerate(draws):
        over = {k: v for k, v in draw.items() if k not in keep}
        for world, sc in worlds.items():
            world_sc = sc.with_overrides(over) if over else sc
            jobs.extend((world, world_sc, seed) for seed in draw_seeds(seeds, d))
    out: dict[str, list[dict]] = {w: [] for w in worlds}
    for k, (world, sc, seed) in enumerate(jobs):
        if on_run is not None:
            on_run(k, len(jobs), world, seed)
        out[world].append(run(sc, seed))
    return out


def worlds_ensemble(runs_by_world: dict[str, list[dict]], scenario: "Scenario", unc: PageUncertainty):
    """The runs of :func:`run_worlds` as a :class:`cxsim.ensemble.Ensemble`: its ``levels()`` and ``differences()``
    (paired within each draw and seed) with the intervals of ``unc``'s kind, and its caption."""
    from .ensemble import Ensemble

    rows = [{"world": world, "draw": k // unc.seeds, "seed": k % unc.seeds, **r["outcomes"]}
            for world, runs in runs_by_world.items() for k, r in enumerate(runs)]
    first = next(iter(runs_by_world.values()))[0]["outcomes"]
    extra = [n for n in first if n not in SCALAR_OUTCOMES]
    return Ensemble(scenario, unc.kind, pd.DataFrame(rows), list(runs_by_world), list(unc.draws), unc.seeds, unc.source, extra)
