"""Analysis of a sweep's runs: means with intervals, paired differences, Sobol and Morris indices."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..readouts.metrics import interval
from ..state.params import CxError

ID_COLUMNS = ("run", "key", "policy", "point", "replicate", "seed", "interventions")


def summarize_runs(runs: pd.DataFrame, outcomes: list[str], params: list[str] = ()) -> pd.DataFrame:
    """Per policy and design point: each outcome's mean, 95% interval and number of runs."""
    rows = []
    for (policy, point), g in runs.groupby(["policy", "point"], sort=False):
        row: dict[str, Any] = {"policy": policy, "point": point, **{p: g[p].iloc[0] for p in params}, "runs": len(g)}
        for name in outcomes:
            row[name], row[f"{name}_low"], row[f"{name}_high"] = interval(g[name].tolist())
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["point"], kind="stable", ignore_index=True)


def paired_differences(runs: pd.DataFrame, outcomes: list[str], reference: str = "baseline") -> pd.DataFrame:
    """Each policy minus ``reference`` on the same point and seed (common random numbers), with 95% intervals."""
    if reference not in set(runs["policy"]):
        return pd.DataFrame()
    ref = runs[runs["policy"] == reference].set_index(["point", "seed"])
    rows = []
    for (policy, point), g in runs[runs["policy"] != reference].groupby(["policy", "point"], sort=False):
        g = g.set_index(["point", "seed"])
        both = g.index.intersection(ref.index)
        row: dict[str, Any] = {"policy": policy, "point": point, "pairs": len(both)}
        for name in outcomes:
            d = (g.loc[both, name] - ref.loc[both, name]).tolist()
            row[f"{name}_diff"], row[f"{name}_diff_low"], row[f"{name}_diff_high"] = interval(d)
        rows.append(row)
    return pd.DataFrame(rows)


def point_means(runs: pd.DataFrame, outcome: str, n_points: int) -> np.ndarray:
    """Mean of ``outcome`` over replicates at each design point 0..n_points-1 (undefined means → overall mean)."""
    missing = n_points - runs["point"].nunique()
    if missing:
        raise CxError(f"sensitivity analysis needs every design point; {missing} are missing (resume the sweep)")
    y = runs.groupby("point")[outcome].mean().reindex(range(n_points)).to_numpy(dtype=float)
    bad = ~np.isfinite(y)
    if bad.any():
        y[bad] = y[~bad].mean() if (~bad).any() else 0.0
    return y


def sobol_indices(problem: dict[str, Any], y: np.ndarray, second_order: bool = False, seed: int | None = None) -> pd.DataFrame:
    """First-order (S1) and total (ST) Sobol indices with 95% bootstrap half-widths."""
    from SALib.analyze import sobol

    res = sobol.analyze(problem, np.asarray(y, dtype=float), calc_second_order=second_order, conf_level=0.95, seed=seed)
    return pd.DataFrame({
        "parameter": problem["names"], "S1": res["S1"], "S1_conf": res["S1_conf"], "ST": res["ST"], "ST_conf": res["ST_conf"],
    })


def morris_indices(problem: dict[str, Any], x: np.ndarray, y: np.ndarray, levels: int = 4, seed: int | None = None) -> pd.DataFrame:
    """Morris elementary effects: mean (mu), mean absolute (mu_star) with 95% half-width, and spread (sigma)."""
    from SALib.analyze import morris

    res = morris.analyze(problem, np.asarray(x, dtype=float), np.asarray(y, dtype=float), conf_level=0.95, num_levels=levels, seed=seed)
    return pd.DataFrame({
        "parameter": problem["names"], "mu": res["mu"], "mu_star": res["mu_star"], "mu_star_conf": res["mu_star_conf"], "sigma": res["sigma"],
    })


def sensitivity(plan, runs: pd.DataFrame) -> pd.DataFrame:
    """Sobol or Morris indices of every outcome, per policy (long table)."""
    exp = plan.experiment
    problem, n = plan.problem(), len(plan.points)
    frames = []
    for policy in plan.policies:
        sub = runs[runs["policy"] == policy]
        for outcome in exp.outcomes:
            y = point_means(sub, outcome, n)
            if exp.design.kind == "sobol":
                t = sobol_indices(problem, y, exp.design.second_order, seed=exp.seed)
            else:
                t = morris_indices(problem, plan.points.to_numpy(dtype=float), y, exp.design.levels, seed=exp.seed)
            frames.append(t.assign(policy=policy, outcome=outcome))
    out = pd.concat(frames, ignore_index=True)
    return out[["policy", "outcome"] + [c for c in out.columns if c not in ("policy", "outcome")]]


def finite(x: float) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))
