"""Outcome metrics, each defined once, and the result tables built from a model.

:data:`METRICS` lists the scalar outcomes with their label and unit. Every one is
recorded at each step (the time series), reported at the end (``summary``),
averaged over replicates with a 95% interval, and charted by the explorer,
from this one definition.

Light to import (no mesa, no pandas until a table is built): scenario files that
check their story's measures import it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..rules.barriers import CASH_COSTS, REASONS
from ..rules.journey import loyalty_now
from ..state.stages import STAGES, Stage, reached

if TYPE_CHECKING:
    import pandas as pd

    from ..state.world import World


def ratio(a: float, b: float) -> float:
    """``a / b``, or NaN when there is nothing to divide by."""
    return float(a) / float(b) if b else math.nan


@dataclass(frozen=True)
class Metric:
    """A named outcome: label, unit, how to compute it from a model, what it means,
    and which direction is good (``better``: "higher", "lower", or None when neither is)."""

    name: str
    label: str
    unit: str
    fn: Callable[["World"], float]
    doc: str
    better: str | None = None


def _intervention_cost(m: "World") -> float:
    return float(sum(v for k, v in m.costs.items() if k != "service"))


METRICS: tuple[Metric, ...] = (
    Metric("reach", "Reach", "share", lambda m: 1.0 - m.counts[Stage.UNAWARE] / m.customers.n, "share of customers aware of the service", better="higher"),
    Metric("offered", "Offered", "customers", lambda m: m.tally["offered"], "customers screened and offered the service", better="higher"),
    Metric("accepted", "Accepted", "customers", lambda m: m.tally["accepted"], "customers who said yes", better="higher"),
    Metric("acceptance_rate", "Acceptance", "share", lambda m: ratio(m.tally["accepted"], m.tally["offered"]), "accepted / offered", better="higher"),
    Metric("served", "Served", "customers", lambda m: m.tally["served"], "customers who received the service", better="higher"),
    Metric("completion_rate", "Completion", "share", lambda m: ratio(m.tally["served"], m.tally["offered"]), "served / offered", better="higher"),
    Metric("satisfaction", "Satisfaction", "0–1", lambda m: ratio(m.satisfaction_sum, m.tally["scored"]), "mean satisfaction of customers past the outcome", better="higher"),
    Metric("nps", "NPS", "−100–100", lambda m: 100 * ratio(m.tally["promoters"] - m.tally["detractors"], m.tally["scored"]), "% promoters (9–10) − % detractors (0–6)", better="higher"),
    Metric("mean_loyalty", "Loyalty", "0–1", lambda m: ratio(m.loyalty_sum, m.tally["scored"]), "mean loyalty of customers past the outcome (churned count 0)", better="higher"),
    Metric("retention", "Retention", "share", lambda m: ratio(m.counts[Stage.LOYAL], m.tally["scored"]), "customers still loyal / customers past the outcome", better="higher"),
    Metric("referrals", "Referrals", "recommendations", lambda m: m.tally["referrals"], "recommendations made by promoters", better="higher"),
    Metric("referral_acceptances", "Referral-driven acceptances", "customers", lambda m: m.tally["referral_acceptances"], "acceptances by customers reached by a recommendation", better="higher"),
    Metric("intervention_cost", "Intervention cost", "currency", _intervention_cost, "what the switched-on interventions cost the provider", better="lower"),
    Metric("value_delivered", "Value delivered", "currency", lambda m: m.value_delivered, "value of good outcomes and repeat business", better="higher"),
    Metric("return_on_spend", "Return on spend", "×", lambda m: ratio(m.value_delivered, _intervention_cost(m)), "value delivered / intervention cost", better="higher"),
)
METRIC_BY_NAME = {mt.name: mt for mt in METRICS}


def _plain(x):
    """A numpy number as the Python number it holds (Mesa deep-copies each value it records; plain numbers copy for free)."""
    return x.item() if isinstance(x, np.generic) else x


def step_reporters() -> dict[str, Callable[["World"], float]]:
    """DataCollector model reporters: every metric plus the count in each stage (plain Python numbers)."""
    reporters = {mt.name: (lambda m, fn=mt.fn: _plain(fn(getattr(m, "world", m)))) for mt in METRICS}  # a model's world read directly
    for stage in Stage:
        reporters[f"n_{stage.name.lower()}"] = lambda m, s=stage: int(getattr(m, "world", m).counts[s])
    return reporters


def _step_recorder_class():
    import mesa

    class StepRecorder(mesa.DataCollector):
        """Mesa's DataCollector, used through its public API, with the step reporters of :func:`step_reporters`.

        ``collect(model)`` records every metric and stage count (Mesa keeps the times);
        ``get_model_vars_dataframe()`` gives one row per collection, one column per
        reporter. Reporters return plain Python numbers, so Mesa's defensive deep copy
        of each value costs next to nothing.
        """

        def __init__(self):
            super().__init__(model_reporters=step_reporters())

    StepRecorder.__module__, StepRecorder.__qualname__ = __name__, "StepRecorder"  # pickled by name
    return StepRecorder


def __getattr__(name: str):
    """``StepRecorder`` is built on first use, so importing the metrics does not import mesa."""
    if name == "StepRecorder":
        globals()[name] = cls = _step_recorder_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _clean(x):
    if isinstance(x, (float, np.floating)):
        return None if math.isnan(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


DROPOUT_STAGES = {Stage.DECLINED: "decision", Stage.DROPPED: "access", Stage.CHURNED: "loyalty"}
"""Where a non-user left the journey, by the stage they ended in."""


def dropout_table(model: "World") -> pd.DataFrame:
    """Non-users now, by the journey phase they left at and the reason they gave."""
    import pandas as pd

    c = model.customers
    out = c.reason >= 0
    stage, reason = c.stage[out], c.reason[out]
    rows = []
    for s, phase in DROPOUT_STAGES.items():
        counts = np.bincount(reason[stage == s], minlength=len(REASONS))
        rows += [{"stage": phase, "reason": REASONS[r], "customers": int(n)} for r, n in enumerate(counts) if n]
    df = pd.DataFrame(rows, columns=["stage", "reason", "customers"])
    return df.sort_values("customers", ascending=False, ignore_index=True)


def dropout_reasons(model: "World") -> dict[str, int]:
    """Reason → number of non-users giving it (all stages)."""
    table = dropout_table(model).groupby("reason", sort=False)["customers"].sum()
    return {str(k): int(v) for k, v in table.sort_values(ascending=False).items()}


def summarize(model: "World") -> dict:
    """The end-of-run summary: every metric, plus reasons, costs and stage counts."""
    sc = model.pars
    out = {mt.name: _clean(mt.fn(model)) for mt in METRICS}
    by_stage: dict[str, dict[str, int]] = defaultdict(dict)
    for row in dropout_table(model).itertuples():
        by_stage[row.stage][row.reason] = row.customers
    served = model.tally["scored"]
    out.update(
        scenario=sc.name,
        seed=model.seed,
        customers=model.customers.n,
        steps=model.t,
        interventions=sc.enabled_interventions,
        dropout_reasons=dropout_reasons(model),
        dropouts_by_stage=dict(by_stage),
        cost_by_intervention={k: float(v) for k, v in model.costs.items() if k != "service"},
        service_cost=float(model.costs.get("service", 0.0)),
        good_outcomes=model.tally["good_outcomes"],
        follow_up_rate=_clean(ratio(model.tally["followed_up"], served)),
        promoters=_clean(ratio(model.tally["promoters"], served)),
        detractors=_clean(ratio(model.tally["detractors"], served)),
        warnings=model.tally["warnings"],
        reconsiderations=model.tally["reconsiderations"],
        stage_counts={STAGES[s]: int(model.counts[s]) for s in Stage},
    )
    return out


SCALAR_OUTCOMES = tuple(mt.name for mt in METRICS)


def customer_table(model: "World") -> pd.DataFrame:
    """One row per customer: final state, barrier ledger, stage and reason by name."""
    import pandas as pd

    from ..state.agents import STATE

    c = model.customers
    df = pd.DataFrame({name: getattr(c, name) for name in STATE})
    loyal = np.flatnonzero(c.stage == Stage.LOYAL)
    df.loc[loyal, "loyalty"] = loyalty_now(model, loyal)
    for kind in CASH_COSTS:
        df[f"cost_{kind}"] = c.cost(kind)
    df["stage"] = pd.Categorical.from_codes(c.stage, categories=list(STAGES))
    df["segment"] = pd.Categorical.from_codes(c.segment, categories=model.pars.segment_names)
    # a customer with no reason to give (a user, or never offered) has none: missing, not a category of its own
    df["reason"] = pd.Categorical.from_codes(np.where(c.reason >= 0, c.reason, -1), categories=list(REASONS))
    df.index.name = "customer"
    return df.reset_index()


MILESTONES: dict[str, Callable] = {
    "aware": lambda c: reached(c, Stage.AWARE),
    "offered": lambda c: reached(c, Stage.OFFERED),
    "accepted": lambda c: reached(c, Stage.ACCEPTED),
    "served": lambda c: reached(c, Stage.SERVED),
    "followed_up": lambda c: c.followed_up,
    "good_outcome": lambda c: c.outcome == 1,
    "promoter": lambda c: c.recommend >= 9,
}
"""Journey milestones: which customers (state ``c``) ever reached each, in journey order
(``promoter``: a promoter now, the score to recommend being asked again at every encounter)."""

FUNNEL = tuple(MILESTONES)


def funnel(model: "World") -> pd.DataFrame:
    """How many customers ever reached each journey milestone."""
    import pandas as pd

    c = model.customers
    counts = {name: int(np.count_nonzero(mask(c))) for name, mask in MILESTONES.items()}
    df = pd.DataFrame({"milestone": list(counts), "customers": list(counts.values())})
    df["share_of_population"] = df["customers"] / c.n
    return df


MIN_REPLICATES = 3
"""Fewer replicates than this give no interval (NaN bounds): two runs say too little about the spread to print one."""

UNIT_RANGES: dict[str, tuple[float, float]] = {
    "share": (0.0, 1.0), "0–1": (0.0, 1.0), "0–10": (0.0, 10.0), "−100–100": (-100.0, 100.0),
    "customers": (0.0, math.inf), "recommendations": (0.0, math.inf), "actions": (0.0, math.inf),
    "failures": (0.0, math.inf), "encounters": (0.0, math.inf), "currency": (0.0, math.inf), "×": (0.0, math.inf),
}
"""The values a quantity of each unit can take (shares in [0, 1], NPS in [−100, 100], counts and money ≥ 0);
units not listed (an index) are unbounded."""

UNBOUNDED = (-math.inf, math.inf)


def unit_range(unit: str) -> tuple[float, float]:
    """The range of a quantity in ``unit`` (see :data:`UNIT_RANGES`)."""
    return UNIT_RANGES.get(unit, UNBOUNDED)


def difference_range(unit: str) -> tuple[float, float]:
    """The range of a difference of two quantities in ``unit``: a share difference lies in [−1, 1], an NPS one in [−200, 200]."""
    lo, hi = unit_range(unit)
    return lo - hi, hi - lo


def interval(values, confidence: float = 0.95, bounds: tuple[float, float] = UNBOUNDED,
             min_n: int = MIN_REPLICATES) -> tuple[float, float, float]:
    """Mean of replicate values (NaNs ignored) and its Student-t confidence interval, kept within ``bounds``.

    The t interval is the small-sample one (it widens with few replicates); intersecting it
    with the range the true mean must lie in (``bounds``: e.g. [0, 1] for a share) never lowers
    its coverage (Mandelkern 2002, "Setting confidence intervals for bounded parameters").
    With fewer than ``min_n`` values the bounds are NaN: no interval to print.
    """
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < max(2, min_n):
        return mean, math.nan, math.nan
    from scipy.special import stdtrit  # Student's t quantile; scipy.stats would add ~0.3 s to every command's start

    half = float(stdtrit(len(x) - 1, 0.5 + confidence / 2) * x.std(ddof=1) / math.sqrt(len(x)))
    lo, hi = bounds
    return mean, min(max(mean - half, lo), mean), max(min(mean + half, hi), mean)


def paired_differences(baseline: pd.DataFrame, alternative: pd.DataFrame, names=SCALAR_OUTCOMES, describe=None) -> pd.DataFrame:
    """Per outcome ``names`` (columns): both means and the paired difference (rows = the same seeds) with its 95% interval.

    ``describe(name)`` gives an outcome's label and unit (default: from :data:`METRICS`).
    """
    import pandas as pd

    rows = []
    for name in names:
        label, unit = describe(name) if describe else (METRIC_BY_NAME[name].label, METRIC_BY_NAME[name].unit)
        diff, lo, hi = interval((alternative[name] - baseline[name]).tolist(), bounds=difference_range(unit))  # unit: the outcome's
        rows.append({
            "metric": name, "label": label, "unit": unit,
            "baseline": baseline[name].mean(), "alternative": alternative[name].mean(),
            "difference": diff, "ci_low": lo, "ci_high": hi, "replicates": len(baseline),
        })
    return pd.DataFrame(rows)


def summarize_replicates(table: pd.DataFrame, outcomes=SCALAR_OUTCOMES) -> pd.DataFrame:
    """Mean and 95% interval of each outcome over the rows (replicates) of ``table``."""
    import pandas as pd

    rows = []
    for name in outcomes:
        if name in table:
            mean, lo, hi = interval(table[name].tolist(), bounds=unit_range(METRIC_BY_NAME[name].unit) if name in METRIC_BY_NAME else UNBOUNDED)
            rows.append({"metric": name, "mean": mean, "ci_low": lo, "ci_high": hi, "n": int(table[name].notna().sum())})
    return pd.DataFrame(rows)
