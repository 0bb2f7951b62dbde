"""How well the targets pin the parameters, and predictions of facts never used in fitting.

*Within noise of the best*: trials whose objective is at most
``best + χ²₀.₉₅(k)`` (k = number of free parameters) — the usual likelihood-ratio
region for k parameters, read off the trials the sampler made. The range of each
parameter over these trials is its reported uncertainty.

*Predictions* (``[validation]`` of the targets file) run the parameter sets
within noise of the best (the best, each parameter's lowest and highest value
in the region, then others spread over the region, up to ``max_sets``) on seeds
not used in calibration. A prediction's interval is the envelope of the 95%
intervals over seeds of those parameter sets: it holds parameter uncertainty and
run-to-run noise.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..engine.scenario import Scenario
from ..readouts.metrics import interval
from ..rules.barriers import REASONS
from .fit import run_values
from .targets import Spec


def threshold(k: int, confidence: float = 0.95) -> float:
    return float(stats.chi2.ppf(confidence, k))


def trials_table(study, parameters: list[str]) -> pd.DataFrame:
    """Finished trials: number, objective, parameters, and the simulated mean and residual of each target."""
    from .fit import finished_trials

    rows = []
    for t in finished_trials(study):
        row = {"trial": t.number, "objective": t.value, **{p: t.params[p] for p in parameters}}
        for key, (mean, lo, hi, res) in t.user_attrs.get("fits", {}).items():
            row[f"sim:{key}"] = mean
            row[f"residual:{key}"] = res
        rows.append(row)
    return pd.DataFrame(rows).sort_values("trial", ignore_index=True)


def within_noise(trials: pd.DataFrame, k: int) -> pd.DataFrame:
    best = trials["objective"].min()
    return trials[trials["objective"] <= best + threshold(k)].sort_values(["objective", "trial"], ignore_index=True)


def _scaled(trials: pd.DataFrame, spec: Spec) -> np.ndarray:
    """Parameters of the trials mapped to [0, 1] of their priors (log priors in their logarithm)."""
    cols = []
    for path, p in spec.parameters.items():
        x, lo, hi = trials[path].to_numpy(float), p.low, p.high
        if p.log:
            x, lo, hi = np.log(x), math.log(lo), math.log(hi)
        cols.append((x - lo) / (hi - lo))
    return np.column_stack(cols)


def _unscale(u: float, prior) -> float:
    u = min(max(u, 0.0), 1.0)
    if prior.log:
        return math.exp(math.log(prior.low) + u * (math.log(prior.high) - math.log(prior.low)))
    return prior.low + u * (prior.high - prior.low)


def quadratic_ranges(trials: pd.DataFrame, spec: Spec) -> dict[str, tuple[float, float]] | None:
    """Each parameter's range in the region Δobjective ≤ χ²₀.₉₅(k) of a quadratic fitted to the trials near the best.

    The sampler's trials within noise cover that region only patchily; the quadratic
    (least squares on the trials within 25 χ²₀.₉₅(k) of the best, at least twice as many as its coefficients)
    gives its projection on each parameter. None when the fit is not a bowl
    (a direction the targets do not pin).
    """
    k = len(spec.parameters)
    coefficients = (k + 1) * (k + 2) // 2
    ranked = trials.sort_values("objective")
    near = ranked[ranked["objective"] <= ranked["objective"].iloc[0] + 25 * threshold(k)]
    if len(near) < 2 * coefficients:
        near = ranked.head(2 * coefficients)
    if len(near) < 2 * coefficients:
        return None
    x = _scaled(near, spec)
    pairs = [(i, j) for i in range(k) for j in range(i, k)]
    design = np.column_stack([np.ones(len(x))] + [x[:, i] for i in range(k)] + [x[:, i] * x[:, j] for i, j in pairs])
    coef, *_ = np.linalg.lstsq(design, near["objective"].to_numpy(float), rcond=None)
    g = coef[1:k + 1]
    h = np.zeros((k, k))
    for c, (i, j) in zip(coef[k + 1:], pairs):
        h[i, j] += c if i != j else 2 * c
        h[j, i] = h[i, j]
    if np.any(np.linalg.eigvalsh(h) <= 0):
        return None
    cov = np.linalg.inv(h)
    centre = -cov @ g
    half = np.sqrt(2 * threshold(k) * np.diag(cov))
    return {path: (_unscale(centre[i] - half[i], p), _unscale(centre[i] + half[i], p))
            for i, (path, p) in enumerate(spec.parameters.items())}


def parameter_ranges(region: pd.DataFrame, spec: Spec, trials: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per parameter: best value, range within noise, and whether that range reaches a prior bound.

    The range is that of the trials within noise of the best, widened to the quadratic
    region of :func:`quadratic_ranges` when ``trials`` are given and it exists.
    """
    rows = []
    best = region.iloc[0]
    bowl = quadratic_ranges(trials, spec) if trials is not None else None
    for path, prior in spec.parameters.items():
        lo, hi = float(region[path].min()), float(region[path].max())
        if bowl:
            lo, hi = min(lo, bowl[path][0]), max(hi, bowl[path][1])
        width = prior.high - prior.low
        edge = [name for name, hit in (("low", lo - prior.low <= 0.02 * width), ("high", prior.high - hi <= 0.02 * width)) if hit]
        rows.append({"parameter": path, "prior_low": prior.low, "prior_high": prior.high, "log": prior.log,
                     "best": float(best[path]), "low": lo, "high": hi, "reaches_bound": ", ".join(edge)})
    return pd.DataFrame(rows)


def parameter_sets(region: pd.DataFrame, parameters: list[str], limit: int) -> list[dict[str, Any]]:
    """The best, each parameter's extremes within noise, then others evenly spread by objective (≤ ``limit``)."""
    picks = [0]
    for p in parameters:
        picks += [int(region[p].idxmin()), int(region[p].idxmax())]
    picks += [int(i) for i in np.linspace(0, len(region) - 1, num=min(limit, len(region))).round()]
    order = list(dict.fromkeys(picks))[:limit]
    return [{p: _plain(region.loc[i, p]) for p in parameters} for i in order]


def _plain(x):
    return int(x) if float(x).is_integer() and isinstance(x, (int, np.integer)) else float(x)


@dataclass
class ValidationResult:
    measure: str
    steps: int
    seeds: list[int]
    sets: list[dict[str, Any]]
    predictions: pd.DataFrame  # variant, predicted, set_low, set_high, low, high, observed, source, note
    reasons: pd.DataFrame  # variant, reason, share (at the best parameters)
    per_set: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per parameter set: parameters, mean per variant
    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)  # variant, steps, switches…, predicted, low, high


def _summarise(per_set: list[list[float]]) -> dict[str, float]:
    """Prediction at the best set (the first) and envelopes over all sets."""
    stats_ = [interval(v) for v in per_set]
    means = [m for m, _, _ in stats_]
    lows = [lo if not math.isnan(lo) else m for m, lo, _ in stats_]
    highs = [hi if not math.isnan(hi) else m for m, _, hi in stats_]
    return {"predicted": means[0], "set_low": min(means), "set_high": max(means), "low": min(lows), "high": max(highs)}


def validate(scenario: Scenario, spec: Spec, sets: list[dict[str, Any]], *, workers: int = 1, scheduler: Any = None,
             horizons: bool = True) -> ValidationResult | None:
    """Predictions of ``spec``'s ``[validation]`` at parameter sets ``sets`` (the best first), on the validation seeds.

    ``horizons``: also the table over horizons and switches (:func:`sensitivity`).
    """
    v = spec.file.validation
    if v is None or not v.predict:
        return None
    steps = v.steps or scenario.steps
    seeds = v.seed_list
    variants = [p.variant for p in v.predict]
    names = (v.measure,) + tuple(f"reason:{r}" for r in REASONS)
    groups = {(variant, steps): names for variant in variants}
    per_set = [run_values(scenario, groups, s, seeds, workers=workers, scheduler=scheduler) for s in sets]
    rows, reasons = [], []
    for p in v.predict:
        values = [vals[(p.variant, steps, v.measure)] for vals in per_set]
        rows.append({"variant": p.variant, **_summarise(values), "observed": p.observed, "source": p.source, "note": p.note})
        for r in REASONS:
            share = float(np.nanmean(per_set[0][(p.variant, steps, f"reason:{r}")]))
            if share > 0:
                reasons.append({"variant": p.variant, "reason": r, "share": share})
    table = pd.DataFrame([{"set": i, **s, **{p.variant: float(np.mean(vals[(p.variant, steps, v.measure)])) for p in v.predict}}
                          for i, (s, vals) in enumerate(zip(sets, per_set))])
    result = ValidationResult(v.measure, steps, seeds, sets, pd.DataFrame(rows), pd.DataFrame(reasons), table)
    if horizons:
        result.sensitivity = sensitivity(scenario, spec, sets, workers=workers, scheduler=scheduler)
    return result


def sensitivity(scenario: Scenario, spec: Spec, sets: list[dict[str, Any]], *, workers: int = 1, scheduler: Any = None) -> pd.DataFrame:
    """The measure under baseline and each predicted variant, per horizon and per combination of switches."""
    v = spec.file.validation
    horizons = v.horizons or [v.steps or scenario.steps]
    variants = list(dict.fromkeys(["baseline"] + [p.variant for p in v.predict]))
    switch_paths = list(v.switches)
    rows = []
    for combo in itertools.product(*(v.switches[p] for p in switch_paths)) if switch_paths else [()]:
        extra = dict(zip(switch_paths, combo))
        groups = {(variant, h): (v.measure,) for variant in variants for h in horizons}
        per_set = [run_values(scenario, groups, {**s}, v.seed_list, workers=workers, scheduler=scheduler, extra=extra) for s in sets]
        for variant in variants:
            for h in horizons:
                summary = _summarise([vals[(variant, h, v.measure)] for vals in per_set])
                rows.append({"variant": variant, "steps": h, **extra, **summary})
    return pd.DataFrame(rows)
