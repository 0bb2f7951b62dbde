"""Targets derived from observed counts: a funnel, survey scores, or the reasons non-users gave.

Each CSV has two columns:

* ``funnel``: ``milestone, customers`` — milestones of :data:`cxsim.metrics.MILESTONES`
  in journey order (any subset). Each row after the first gives a stage rate,
  ``customers / customers of the row before`` (target ``funnel:<m>/<before>``), with
  the binomial standard error ``sqrt(p (1 − p) / n_before)``.
* ``scores``: ``score, count`` — answers 0–10 to "would you recommend?". Targets
  ``nps`` (multinomial se ``100 sqrt((p₉₋₁₀ + p₀₋₆ − (p₉₋₁₀ − p₀₋₆)²) / n)``) and
  ``mean_score`` (se ``sd / sqrt(n)``).
* ``reasons``: ``reason, count`` — the reasons non-users gave (:data:`cxsim.barriers.REASONS`).
  One target ``reason:<r>`` per row: ``count / total`` with binomial se.

A share of 0 or 1 would have a standard error of 0; the se uses the share
clamped to ``[0.5 / n, 1 − 0.5 / n]`` instead (half a count of continuity).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..barriers import REASONS
from ..metrics import FUNNEL
from ..params import CxError

if TYPE_CHECKING:
    from .targets import Observed, Target

COLUMNS = {"funnel": ("milestone", "customers"), "scores": ("score", "count"), "reasons": ("reason", "count")}


def binomial_se(k: float, n: float) -> float:
    p = min(max(k / n, 0.5 / n), 1 - 0.5 / n)
    return math.sqrt(p * (1 - p) / n)


def read_counts(path: Path, kind: str, where: str) -> pd.DataFrame:
    if not path.exists():
        raise CxError(f"{where}.file: {str(path)!r} not found")
    try:
        df = pd.read_csv(path, skipinitialspace=True, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise CxError(f"{where}.file: {path.name} is not a readable CSV: {str(err).splitlines()[0]}") from None
    key, count = COLUMNS[kind]
    missing = [c for c in (key, count) if c not in df.columns]
    if missing:
        raise CxError(f"{where}.file: {path.name} needs columns {key}, {count} for kind {kind!r} (missing {', '.join(missing)})")
    counts = pd.to_numeric(df[count], errors="coerce")
    bad = df[counts.isna() | (counts < 0)]
    if len(bad):
        raise CxError(f"{where}.file: {path.name}: {count} = {bad[count].iloc[0]!r} in row {bad.index[0] + 2}: must be a count ≥ 0")
    return pd.DataFrame({key: df[key].astype(str).str.strip() if kind != "scores" else df[key], count: counts})


def targets(path: Path, obs: "Observed", where: str) -> list["Target"]:
    """The targets a CSV of observed counts gives (see the module docstring)."""
    df = read_counts(path, obs.kind, where)
    derive = {"funnel": _funnel, "scores": _scores, "reasons": _reasons}[obs.kind]
    return derive(df, obs, where, path.name)


def _target(obs: "Observed", name: str, value: float, se: float, label: str, file: str):
    from .targets import Target

    return Target(measure=name, variant=obs.variant, steps=obs.steps, value=value, se=se, label=label,
                  source=obs.source or f"observed counts in {file}")


def _funnel(df: pd.DataFrame, obs, where: str, file: str) -> list:
    unknown = [m for m in df["milestone"] if m not in FUNNEL]
    if unknown:
        raise CxError(f"{where}: {file}: unknown milestone {unknown[0]!r}: choose from {', '.join(FUNNEL)}")
    order = [FUNNEL.index(m) for m in df["milestone"]]
    if order != sorted(set(order)):
        raise CxError(f"{where}: {file}: milestones must be in journey order without repeats ({', '.join(FUNNEL)})")
    if len(df) < 2:
        raise CxError(f"{where}: {file}: a funnel needs at least two milestones")
    out = []
    rows = list(df.itertuples(index=False))
    for before, row in zip(rows, rows[1:]):
        n, k = float(before.customers), float(row.customers)
        if n <= 0 or k > n:
            raise CxError(f"{where}: {file}: {row.milestone} = {k:g} customers must be ≤ {before.milestone} = {n:g} (and that > 0)")
        out.append(_target(obs, f"funnel:{row.milestone}/{before.milestone}", k / n, binomial_se(k, n),
                           f"{row.milestone} / {before.milestone} ({obs.variant})", file))
    return out


def _scores(df: pd.DataFrame, obs, where: str, file: str) -> list:
    score = pd.to_numeric(df["score"], errors="coerce")
    if score.isna().any() or not score.between(0, 10).all() or not (score == score.round()).all():
        raise CxError(f"{where}: {file}: score = {df['score'][~score.between(0, 10) | score.isna()].iloc[0]!r}: must be a whole number 0 to 10")
    n = float(df["count"].sum())
    if n < 2:
        raise CxError(f"{where}: {file}: needs at least 2 answers")
    p = df.groupby(score)["count"].sum() / n
    promoters, detractors = float(p[p.index >= 9].sum()), float(p[p.index <= 6].sum())
    nps = 100 * (promoters - detractors)
    se_nps = 100 * math.sqrt(max(promoters + detractors - (promoters - detractors) ** 2, 1 / n) / n)
    mean = float((p * p.index).sum())
    sd = math.sqrt(max(float((p * (p.index - mean) ** 2).sum()) * n / (n - 1), 1 / n))
    return [_target(obs, "nps", nps, se_nps, f"NPS ({obs.variant})", file),
            _target(obs, "mean_score", mean, sd / math.sqrt(n), f"mean score to recommend ({obs.variant})", file)]


def _reasons(df: pd.DataFrame, obs, where: str, file: str) -> list:
    unknown = [r for r in df["reason"] if r not in REASONS]
    if unknown:
        raise CxError(f"{where}: {file}: unknown reason {unknown[0]!r}: choose from {', '.join(REASONS)}")
    counts = df.groupby("reason", sort=False)["count"].sum()
    n = float(counts.sum())
    if n <= 0:
        raise CxError(f"{where}: {file}: no reasons counted")
    return [_target(obs, f"reason:{r}", float(k) / n, binomial_se(float(k), n), f"non-users giving {r.replace('_', ' ')} ({obs.variant})", file)
            for r, k in counts.items()]
