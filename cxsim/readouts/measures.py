"""Measures for scenario facts and stories: the step metrics, plus end-of-run and group measures.

``measure(results, name)`` gives one number for one run:

* any metric of :data:`cxsim.readouts.metrics.METRICS` (``acceptance_rate``, ``satisfaction``, …);
* an end-of-run measure of :data:`MEASURES` (``average_basket``, ``staff_morale``, …);
* a group measure ``NAME@GROUP`` of :data:`GROUP_MEASURES`, where GROUP is a segment
  name or one of :data:`GROUPS` (customers by what happened to them at touchpoints):
  ``satisfaction@recovered``, ``retention@top_accounts``, ``value_index@price_seekers``.

The scenario library's tests and ``cxsim story`` use these, so a fact and its
story are computed the same way.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..rules.journey import loyalty_now
from ..state.params import CxError, choices, shorten
from ..state.stages import Stage, reached
from .metrics import METRIC_BY_NAME, Metric, ratio

if TYPE_CHECKING:
    from ..state.world import Run as Results
    from ..state.world import World


Measure = Metric
"""The same record as a metric (name, label, unit, function, meaning); group measures' functions also take the group."""


def _loyal(m: "World") -> np.ndarray:
    return np.flatnonzero(m.customers.stage == Stage.LOYAL)


def _value_now(m: "World", loyal: np.ndarray) -> np.ndarray:
    """Each loyal customer's repeat value per step: value per step + expected encounter baskets."""
    segment = m.customers.segment[loyal]
    return m.value_per_step[segment] + m.basket[segment] * m.pars.relationship.encounters


def _revenue_now(m: "World") -> float:
    """Repeat value per step at the end: value per step of loyal customers + expected encounter baskets."""
    return float(_value_now(m, _loyal(m)).sum())


def _pareto_share(m: "World") -> float:
    """Share of the current customers' value per step held by the fifth of them who bring the most (the Pareto ratio)."""
    value = np.sort(_value_now(m, _loyal(m)))[::-1]
    return ratio(value[: math.ceil(0.2 * len(value))].sum(), value.sum())


def _staffed_quality(m: "World") -> float:
    from ..rules.staff import quality_shift

    shifts = [quality_shift(m, tp) for tp in m.pars.touchpoints.values() if tp.staff_effect]
    return float(np.mean(shifts)) if shifts else 0.0


def _late_value(m: "World") -> float:
    """Value delivered in the last quarter of the run (from the recorded time series)."""
    v = m.datacollector.model_vars["value_delivered"]
    k = max(1, (len(v) - 1) // 4)
    return float(v[-1] - v[-1 - k])


MEASURES: dict[str, Measure] = {
    mt.name: mt
    for mt in (
        Measure("customer_base", "Customers ever", "customers", lambda m: m.tally["scored"], "customers who were customers at some point (installed base and new)", better="higher"),
        Measure("encounters", "Repeat encounters", "encounters", lambda m: m.tally["encounters"], "repeat encounters of customers (purchases, visits, calls)", better="higher"),
        Measure("repeat_value", "Repeat-encounter value", "currency", lambda m: m.encounter_value, "value of all repeat encounters", better="higher"),
        Measure("average_basket", "Average basket", "currency", lambda m: ratio(m.encounter_value, m.tally["encounters"]), "value per repeat encounter", better="higher"),
        Measure("late_value", "Value in the last quarter", "currency", _late_value, "value delivered in the last quarter of the run (repeat business once changes have settled)", better="higher"),
        Measure("revenue_per_step", "Revenue per step at the end", "currency", _revenue_now, "repeat value per step the remaining customers bring at the end", better="higher"),
        Measure("pareto_share", "Revenue share of the top fifth", "share", _pareto_share, "share of the repeat value per step at the end brought by the fifth of current customers who bring the most", better=None),
        Measure("current_satisfaction", "Satisfaction of current customers", "0–1", lambda m: float(np.nanmean(m.customers.satisfaction[_loyal(m)])) if len(_loyal(m)) else math.nan, "mean satisfaction of customers still loyal at the end", better="higher"),
        Measure("current_loyalty", "Loyalty of current customers", "0–1", lambda m: float(loyalty_now(m, _loyal(m)).mean()) if len(_loyal(m)) else math.nan, "mean loyalty of customers still loyal at the end", better="higher"),
        Measure("churned", "Churned", "customers", lambda m: int(m.counts[Stage.CHURNED]), "customers who left", better="lower"),
        Measure("churn_rate", "Churn", "share", lambda m: ratio(m.counts[Stage.CHURNED], m.tally["scored"]), "customers who left / customers who were ever customers", better="lower"),
        Measure("defections", "Moments of defection lost", "customers", lambda m: m.tally["defections"], "customers who left right after a disappointing encounter", better="lower"),
        Measure("lapses", "Contracts not renewed", "customers", lambda m: m.tally["lapses"], "contracts that ended without renewal", better="lower"),
        Measure("renewal_rate", "Renewal rate", "share", lambda m: 1.0 - ratio(m.tally["lapses"], m.tally["renewals_due"]), "contracts renewed / contracts that ended", better="higher"),
        Measure("staff_morale", "Staff morale at the end", "0–1", lambda m: m.staff.level, "front-line staff morale at the end of the run", better="higher"),
        Measure("peak_morale", "Highest staff morale", "0–1", lambda m: m.staff.peak, "the highest front-line staff morale during the run", better="higher"),
        Measure("staffed_quality", "Quality change at staffed touchpoints", "0–1", _staffed_quality, "mean change in quality of staffed touchpoints due to morale, at the end", better="higher"),
        Measure("actions_done", "Improvement actions done", "actions", lambda m: m.tally["actions_done"], "actions of improvement loops completed", better=None),
        Measure("failures", "Touchpoint failures", "failures", lambda m: m.tally["failures"], "touchpoint failures customers met", better="lower"),
        Measure("failure_rate", "Failures per customer", "failures", lambda m: ratio(m.tally["failures"], m.customers.n), "touchpoint failures met per customer simulated", better="lower"),
        Measure("recoveries", "Failures put right", "failures", lambda m: m.tally["recoveries"], "failures recovered on the spot", better=None),
    )
}

GROUPS = ("no_failure", "recovered", "unrecovered", "installed_base", "new_customers")
"""Groups of customers by what happened to them (besides segments)."""


def _group_mask(m: "World", group: str) -> np.ndarray:
    c = m.customers
    names = m.pars.segment_names
    if group in names:
        return c.segment == names.index(group)
    if group == "no_failure":
        return c.failures == 0
    if group == "recovered":
        return (c.failures > 0) & (c.recoveries == c.failures)
    if group == "unrecovered":
        return c.recoveries < c.failures
    if group == "installed_base":
        return ~reached(c, Stage.SERVED)
    if group == "new_customers":
        return reached(c, Stage.SERVED)
    raise CxError(f"unknown group {group!r}: choose a segment ({', '.join(names)}) or one of {', '.join(GROUPS)}")


def _scored(m: "World", mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask & ~np.isnan(m.customers.satisfaction))


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else math.nan


def _revenue_at_risk(m: "World", mask: np.ndarray) -> float:
    """Share of the revenue at risk (value per step × churn hazard) held by the group's customers."""
    loyal = _loyal(m)
    risk = _value_now(m, loyal) * (1.0 - loyalty_now(m, loyal))
    return ratio(risk[mask[loyal]].sum(), risk.sum())


GROUP_MEASURES: dict[str, Measure] = {
    mt.name: mt
    for mt in (
        Measure("customers", "Customers", "customers", lambda m, g: int(g.sum()), "customers in the group", better=None),
        Measure("satisfaction", "Satisfaction", "0–1", lambda m, g: _mean(m.customers.satisfaction[_scored(m, g)]), "mean satisfaction of the group's customers past the outcome", better="higher"),
        Measure("value_index", "Value-for-money index", "index", lambda m, g: 100.0 * _mean(m.customers.satisfaction[_scored(m, g)]) / m.pars.emotions.confirmed, "100 × satisfaction ÷ satisfaction when the promise is exactly met", better="higher"),
        Measure("promoters", "Promoters", "share", lambda m, g: _mean((m.customers.recommend[_scored(m, g)] >= 9).astype(float)), "share of the group's customers who would recommend (9–10)", better="higher"),
        Measure("recommend", "Score to recommend", "0–10", lambda m, g: _mean(m.customers.recommend[_scored(m, g)].astype(float)), "mean 0–10 score to recommend", better="higher"),
        Measure("referrals", "Referrals per customer", "recommendations", lambda m, g: _mean(m.customers.referrals_made[_scored(m, g)].astype(float)), "recommendations made per customer of the group", better="higher"),
        Measure("retention", "Retention", "share", lambda m, g: _mean((m.customers.stage[_scored(m, g)] == Stage.LOYAL).astype(float)), "share of the group's customers still loyal", better="higher"),
        Measure("spend", "Repeat spend per customer", "currency", lambda m, g: _mean(m.customers.spend[_scored(m, g)].astype(float)), "value of repeat encounters per customer of the group", better="higher"),
        Measure("revenue_at_risk_share", "Share of revenue at risk", "share", lambda m, g: _revenue_at_risk(m, g), "share of the revenue at risk (value × (1 − loyalty)) held by the group", better=None),
        Measure("revenue_share", "Share of revenue", "share", lambda m, g: ratio(m.value_per_step[m.customers.segment[_loyal(m)]][g[_loyal(m)]].sum(), m.value_per_step[m.customers.segment[_loyal(m)]].sum()), "share of the value per step of current customers held by the group", better=None),
    )
}


def measure(results: "Results", name: str) -> float:
    """One number of one run (see the module docstring for the names)."""
    m = results.model
    if "@" in name:
        what, group = name.split("@", 1)
        if what not in GROUP_MEASURES:
            raise CxError(f"unknown group measure {what!r}: choose from {', '.join(GROUP_MEASURES)}")
        return float(GROUP_MEASURES[what].fn(m, _group_mask(m, group)))
    if name in METRIC_BY_NAME:
        v = results.summary[name]
        return math.nan if v is None else float(v)
    if name in MEASURES:
        return float(MEASURES[name].fn(m))
    raise CxError(f"unknown measure {name!r}: choose a metric ({', '.join(METRIC_BY_NAME)}), one of {', '.join(MEASURES)}, or NAME@GROUP")


def definition(name: str) -> Measure:
    """Label, unit and meaning of any measure name: a metric, an end-of-run measure or ``NAME@GROUP``."""
    what, _, group = name.partition("@")
    if group and what in GROUP_MEASURES:
        mt = GROUP_MEASURES[what]
        return Measure(name, f"{mt.label} ({group.replace('_', ' ')})", mt.unit, mt.fn, f"{mt.doc}; group: {group.replace('_', ' ')}", mt.better)
    if not group and what in METRIC_BY_NAME:
        return METRIC_BY_NAME[what]
    if not group and what in MEASURES:
        return MEASURES[what]
    return Measure(name, name, "", lambda m: math.nan, name)


def metric_range(name: str) -> tuple[float, float]:
    """The values a metric or measure can take, by its unit (:func:`cxsim.readouts.metrics.unit_range`); unknown names are unbounded."""
    from .metrics import UNBOUNDED, unit_range

    try:
        return unit_range(definition(name).unit)
    except CxError:
        return UNBOUNDED


def label(name: str) -> str:
    """A short human label for a measure name."""
    return definition(name).label


def unit(name: str) -> str:
    return definition(name).unit


def check(names: list[str], scenario) -> None:
    """Raise CxError naming the first measure that does not exist for ``scenario``."""
    for name in names:
        what, _, group = name.partition("@")
        shown = shorten(name)
        if group:
            if what not in GROUP_MEASURES:
                raise CxError(f"story.measures: unknown group measure {shorten(what)} in {shown}: choose from {choices(GROUP_MEASURES, 110)}")
            if group not in scenario.segment_names and group not in GROUPS:
                raise CxError(f"story.measures: unknown group {shorten(group)} in {shown}: choose a segment ({choices(scenario.segment_names, 50)}) or one of {', '.join(GROUPS)}")
        elif what not in METRIC_BY_NAME and what not in MEASURES:
            raise CxError(f"story.measures: unknown measure {shown}: choose a metric ({choices(METRIC_BY_NAME, 60)}), a measure ({choices(MEASURES, 40)}) or NAME@GROUP")


__all__ = ["MEASURES", "GROUP_MEASURES", "GROUPS", "measure", "definition", "label", "unit", "check"]
