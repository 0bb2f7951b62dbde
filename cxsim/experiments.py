"""Experiments: replicates and paired comparisons (more designs build on these).

Replicate ``r`` of any experiment uses seed ``base_seed + r``, so a baseline and
an intervention run on the same seeds share every random draw the intervention
does not touch (common random numbers): their paired difference has a tight
interval with few replicates.
"""

from __future__ import annotations

import pandas as pd

from .metrics import SCALAR_OUTCOMES, interval, summarize_replicates
from .model import run
from .scenario import Scenario


def seeds_for(replicates: int, base_seed: int = 1) -> list[int]:
    return [base_seed + r for r in range(replicates)]


def run_replicates(scenario: Scenario, seeds: list[int]) -> pd.DataFrame:
    """One row per seed: the scalar outcomes of one run."""
    rows = []
    for seed in seeds:
        s = run(scenario, seed).summary
        rows.append({"seed": seed, **{k: s[k] for k in SCALAR_OUTCOMES}})
    return pd.DataFrame(rows).astype({k: float for k in SCALAR_OUTCOMES})


def compare(baseline: Scenario, alternative: Scenario, seeds: list[int]) -> pd.DataFrame:
    """Per metric: baseline and alternative means, and the paired difference with its 95% interval."""
    a, b = run_replicates(baseline, seeds), run_replicates(alternative, seeds)
    rows = []
    for name in SCALAR_OUTCOMES:
        diff, lo, hi = interval((b[name] - a[name]).tolist())
        rows.append({"metric": name, "baseline": a[name].mean(), "alternative": b[name].mean(), "difference": diff, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


__all__ = ["seeds_for", "run_replicates", "compare", "summarize_replicates"]
