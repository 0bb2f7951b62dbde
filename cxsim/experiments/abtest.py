"""A/B tests inside one simulated population, and the power / sample-size helpers to plan them.

In the spirit of Netflix's consumer science (shared seed 001: "forming hypotheses
… and then A/B testing these ideas to see what works"), :func:`ab_test` randomises
the customers of *one* population to control and treatment, switches the
treatment interventions on for the treatment arm only, runs the journey once,
and compares the arms customer by customer: the effect with its confidence
interval and p-value. Assignment is its own random stream (``ab:assignment``),
so it is independent of every customer trait.

Customers talk to each other, so treated customers who accept also make control
customers aware and less afraid: the A/B effect is the *direct* effect under
spillover, not the effect of treating everyone. ``global_effect`` measures the
latter (everyone treated vs no one, same seed) to show the gap.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
import pandas as pd
from scipy import stats, optimize

from ..engine.model import CxModel
from ..engine.scenario import Scenario
from ..readouts.metrics import MILESTONES
from ..state.params import CxError
from ..state.randomness import Streams


def _share(milestone: str):
    return lambda c: MILESTONES[milestone](c).astype(float)


def _among(outcome, condition):
    return lambda c: np.where(condition(c) > 0, outcome(c), np.nan)


CUSTOMER_METRICS = {
    "aware": _share("aware"),
    "offered": _share("offered"),
    "accepted": _share("accepted"),
    "accepted_if_offered": _among(_share("accepted"), _share("offered")),
    "served": _share("served"),
    "good_outcome": _share("good_outcome"),
    "promoter": _share("promoter"),
    "satisfaction": lambda c: c.satisfaction.astype(float),
}
"""Per-customer outcomes (NaN = not applicable to this customer): shares of all assigned customers unless named ``_if_``."""


def assign(seed: int, customers: int, share: float = 0.5) -> np.ndarray:
    """Random assignment to treatment (True) with probability ``share``, from its own stream."""
    return Streams(seed).uniform("ab:assignment", np.arange(customers)) < share


def check_treatment(scenario: Scenario, treatment: Iterable[str]) -> None:
    """Treatments must be interventions of the scenario that act customer by customer."""
    for name in treatment:
        if name not in scenario.interventions:
            raise CxError(f"unknown intervention {name!r}: {scenario.name!r} has {', '.join(scenario.interventions) or 'none'}")
        if scenario.interventions[name].effects().screening_boost:
            raise CxError(f"{name!r} boosts screening for the whole catchment and cannot be randomised per customer; compare two runs instead")


def ab_run(scenario: Scenario, treatment: list[str], seed: int | None = None, share: float = 0.5) -> tuple[CxModel, np.ndarray]:
    """Run one population with ``treatment`` switched on for a random ``share`` of customers."""
    check_treatment(scenario, treatment)
    seed = scenario.seed if seed is None else int(seed)
    names = list(scenario.interventions)
    sc = scenario.with_overrides({f"interventions.{n}.enabled": True for n in treatment if n in names})
    arm = assign(seed, sc.population.customers, share)
    return CxModel(sc, seed, assigned={name: arm for name in treatment}).run(), arm


def two_sample(treated: np.ndarray, control: np.ndarray, alpha: float = 0.05) -> dict[str, float]:
    """Difference of means with a (1 − alpha) interval and two-sided p-value.

    0/1 outcomes: two-proportion z-test (pooled variance for the p-value, unpooled for the
    interval); other outcomes: Welch's t-test. NaNs (customers the metric does not apply to) are dropped.
    """
    t, c = np.asarray(treated, float), np.asarray(control, float)
    t, c = t[np.isfinite(t)], c[np.isfinite(c)]
    nt, nc = len(t), len(c)
    out = {"n_control": nc, "n_treatment": nt, "control": c.mean() if nc else math.nan, "treatment": t.mean() if nt else math.nan}
    effect = out["treatment"] - out["control"]
    out.update(effect=effect, ci_low=math.nan, ci_high=math.nan, p_value=math.nan)
    if nt < 2 or nc < 2:
        return out
    if np.isin(t, (0.0, 1.0)).all() and np.isin(c, (0.0, 1.0)).all():
        pt, pc = out["treatment"], out["control"]
        pooled = (t.sum() + c.sum()) / (nt + nc)
        se0 = math.sqrt(pooled * (1 - pooled) * (1 / nt + 1 / nc))
        se = math.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc)
        z = stats.norm.ppf(1 - alpha / 2)
        p = 2 * stats.norm.sf(abs(effect) / se0) if se0 > 0 else (1.0 if effect == 0 else 0.0)
        lo, hi = effect - z * se, effect + z * se
    else:
        res = stats.ttest_ind(t, c, equal_var=False)
        ci = res.confidence_interval(1 - alpha)
        p, lo, hi = float(res.pvalue), float(ci.low), float(ci.high)
    out.update(ci_low=lo, ci_high=hi, p_value=float(p))
    return out


def ab_test(scenario: Scenario, treatment: list[str], seed: int | None = None, share: float = 0.5,
            metrics: Iterable[str] = ("accepted",), alpha: float = 0.05) -> pd.DataFrame:
    """Randomised A/B test in one population: per metric, arms' means, effect, interval, p-value and lift."""
    metrics = list(metrics)
    for m in metrics:
        if m not in CUSTOMER_METRICS:
            raise CxError(f"unknown A/B metric {m!r}: choose from {', '.join(CUSTOMER_METRICS)}")
    model, arm = ab_run(scenario, treatment, seed, share)
    rows = []
    for m in metrics:
        values = CUSTOMER_METRICS[m](model.customers)
        r = two_sample(values[arm], values[~arm], alpha)
        r["lift"] = r["effect"] / r["control"] if r["control"] else math.nan
        r["significant"] = bool(r["p_value"] < alpha)
        rows.append({"metric": m, **r})
    return pd.DataFrame(rows)


def global_effect(scenario: Scenario, treatment: list[str], seed: int, metrics: Iterable[str]) -> dict[str, float]:
    """Everyone treated minus no one treated (same seed): the total effect, spillovers included."""
    names = list(scenario.interventions)
    off = scenario.with_overrides({f"interventions.{n}.enabled": False for n in treatment if n in names})
    on = scenario.with_overrides({f"interventions.{n}.enabled": True for n in treatment if n in names})
    a, b = CxModel(off, seed).run().customers, CxModel(on, seed).run().customers
    return {m: float(np.nanmean(CUSTOMER_METRICS[m](b)) - np.nanmean(CUSTOMER_METRICS[m](a))) for m in metrics}


def ab_row(scenario: Scenario, spec, seed: int) -> dict[str, Any]:
    """Flat columns ``<metric>_<field>`` of one A/B test (what a sweep stores per run)."""
    table = ab_test(scenario, spec.treatment, seed, spec.share, spec.metrics, spec.alpha)
    row: dict[str, Any] = {"customers": scenario.population.customers, "share": spec.share}
    for rec in table.to_dict("records"):
        m = rec.pop("metric")
        row.update({f"{m}_{k}": (float(v) if not isinstance(v, bool) else v) for k, v in rec.items()})
    if spec.global_effect:
        row.update({f"{m}_global_effect": v for m, v in global_effect(scenario, spec.treatment, seed, spec.metrics).items()})
    return row


# -- planning: power and sample size ----------------------------------------------------
def _z(p: float) -> float:
    return float(stats.norm.ppf(p))


def _check_rates(p_control: float, effect: float) -> tuple[float, float]:
    p1, p2 = p_control, p_control + effect
    if not (0 < p1 < 1 and 0 < p2 < 1):
        raise CxError(f"rates must lie strictly between 0 and 1: control {p1:g}, treatment {p2:g}")
    return p1, p2


def power(customers: int, p_control: float, effect: float, alpha: float = 0.05, share: float = 0.5) -> float:
    """Chance that a two-sided two-proportion test on ``customers`` (both arms) detects ``effect``."""
    p1, p2 = _check_rates(p_control, effect)
    n1, n2 = customers * (1 - share), customers * share
    pooled = (n1 * p1 + n2 * p2) / customers
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    se1 = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    za = _z(1 - alpha / 2)
    d = abs(effect)
    return float(stats.norm.cdf((d - za * se0) / se1) + stats.norm.cdf((-d - za * se0) / se1))


def sample_size(p_control: float, effect: float, alpha: float = 0.05, power: float = 0.8, share: float = 0.5) -> int:
    """Customers needed in total (both arms) to detect an absolute ``effect`` on a rate ``p_control``."""
    if effect == 0:
        raise CxError("effect must not be 0")
    p1, p2 = _check_rates(p_control, effect)
    pooled = (1 - share) * p1 + share * p2
    k = 1 / (1 - share) + 1 / share
    root = _z(1 - alpha / 2) * math.sqrt(pooled * (1 - pooled) * k) + _z(power) * math.sqrt(p1 * (1 - p1) / (1 - share) + p2 * (1 - p2) / share)
    return math.ceil(root**2 / effect**2)


def sample_size_mean(sd: float, effect: float, alpha: float = 0.05, power: float = 0.8, share: float = 0.5) -> int:
    """Customers needed in total to detect a difference ``effect`` in a mean with standard deviation ``sd``."""
    if effect == 0 or sd <= 0:
        raise CxError("effect must not be 0 and sd must be positive")
    k = 1 / (1 - share) + 1 / share
    return math.ceil((_z(1 - alpha / 2) + _z(power)) ** 2 * sd**2 * k / effect**2)


def minimum_detectable_effect(customers: int, p_control: float, alpha: float = 0.05, power_: float = 0.8, share: float = 0.5) -> float:
    """Smallest absolute lift of a rate ``p_control`` detected with the given power by ``customers``."""
    hi = 1 - p_control - 1e-9
    if power(customers, p_control, hi, alpha, share) < power_:
        return math.nan
    return float(optimize.brentq(lambda d: power(customers, p_control, d, alpha, share) - power_, 1e-9, hi, xtol=1e-7))
