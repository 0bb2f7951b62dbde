"""What a calibration target measures in one run: any measure, a funnel stage rate, a reason share, the mean score.

Names:

* any name :func:`cxsim.readouts.measures.measure` knows (``acceptance_rate``, ``nps``,
  ``satisfaction``, ``churn_rate``, ``value_delivered``, ``satisfaction@recovered``, …);
* ``funnel:<milestone>``: customers who reached a milestone of
  :data:`cxsim.readouts.metrics.MILESTONES` ÷ customers who reached the one before it
  (``funnel:aware`` is a share of all customers); ``funnel:<milestone>/<earlier>``
  divides by the customers who reached ``<earlier>`` instead;
* ``reason:<reason>``: share of non-users (all stages) whose binding reason is
  ``<reason>`` (one of :data:`cxsim.rules.barriers.REASONS`), e.g. ``reason:cost``;
* ``recalled:<milestone>``: share of the customers a recall offered the service again
  (kind ``recall``) who reached a milestone, e.g. ``recalled:served`` = uptake among
  recalled decliners, as a trial of reminders counts it;
* ``barrier:<barrier>``: share of the non-users who were offered the service (declined or
  dropped out) for whom that barrier is *present* at the end: its term is at least
  :data:`PRESENT` utility units. Several barriers can be present for one person, as in a
  survey where each respondent may name several reasons (a binding reason is only one);
* ``mean_score``: mean 0–10 score to recommend of customers past the outcome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..readouts.measures import GROUP_MEASURES, GROUPS, MEASURES, definition, measure
from ..readouts.metrics import FUNNEL, METRIC_BY_NAME, MILESTONES, ratio
from ..rules.barriers import BARRIERS, REASONS, assess

if TYPE_CHECKING:
    from ..engine.model import Results

RATE_UNITS = ("share", "0–1")
"""Units of quantities that are rates: their targets must lie in [0, 1]."""


def funnel_rate(res: "Results", stage: str) -> float:
    c = res.model.customers
    milestone, _, earlier = stage.partition("/")
    i = FUNNEL.index(milestone)
    earlier = earlier or (FUNNEL[i - 1] if i else "")
    reached = np.count_nonzero(MILESTONES[milestone](c))
    before = np.count_nonzero(MILESTONES[earlier](c)) if earlier else c.n
    return ratio(reached, before)


def reason_share(res: "Results", reason: str) -> float:
    counts = res.summary["dropout_reasons"]
    return ratio(counts.get(reason, 0), sum(counts.values()))


PRESENT = 1.0
"""Utility units from which a barrier counts as present for a non-user (``barrier:``): removing it
alone would multiply the odds of accepting by e ≈ 2.7 (assumption: a reason strong enough to be
named when asked; surveys do not say where their respondents draw the line)."""


def recalled_share(res: "Results", milestone: str) -> float:
    m = res.model
    if len(m.recalled) == 0:
        return math.nan
    reached = MILESTONES[milestone](m.customers)[m.recalled]
    return ratio(np.count_nonzero(reached), np.count_nonzero(m.recalled))


def barrier_present(res: "Results", barrier: str) -> float:
    from ..rules.relief import relief_for
    from ..state.stages import Stage

    m = res.model
    ids = np.flatnonzero(np.isin(m.customers.stage, (Stage.DECLINED, Stage.DROPPED)))
    if len(ids) == 0:
        return math.nan
    terms, _, _ = assess(m.pars.decision, m.customers, ids, relief_for(m, ids))
    return ratio(np.count_nonzero(terms[:, BARRIERS.index(barrier)] >= PRESENT), len(ids))


def mean_score(res: "Results") -> float:
    c = res.model.customers
    scored = ~np.isnan(c.satisfaction)
    return float(c.recommend[scored].mean()) if scored.any() else math.nan


def value(res: "Results", name: str) -> float:
    """The number ``name`` (see the module docstring) of one run."""
    kind, _, arg = name.partition(":")
    if arg and kind == "funnel":
        return funnel_rate(res, arg)
    if arg and kind == "reason":
        return reason_share(res, arg)
    if arg and kind == "recalled":
        return recalled_share(res, arg)
    if arg and kind == "barrier":
        return barrier_present(res, arg)
    if name == "mean_score":
        return mean_score(res)
    return measure(res, name)


def problem(name: str, segments: list[str]) -> str | None:
    """Why ``name`` is not a quantity of a scenario with these segments (None: it is one)."""
    kind, _, arg = name.partition(":")
    if kind == "funnel" and arg:
        milestone, _, earlier = arg.partition("/")
        for m in (milestone, earlier) if earlier else (milestone,):
            if m not in MILESTONES:
                return f"unknown funnel milestone {m!r}: choose from {', '.join(FUNNEL)}"
        if earlier and FUNNEL.index(earlier) >= FUNNEL.index(milestone):
            return f"funnel:{arg}: {earlier!r} must come before {milestone!r} ({', '.join(FUNNEL)})"
        return None
    if kind == "reason" and arg:
        return None if arg in REASONS else f"unknown reason {arg!r}: choose from {', '.join(REASONS)}"
    if kind == "recalled" and arg:
        return None if arg in MILESTONES else f"unknown funnel milestone {arg!r}: choose from {', '.join(FUNNEL)}"
    if kind == "barrier" and arg:
        return None if arg in BARRIERS else f"unknown barrier {arg!r}: choose from {', '.join(BARRIERS)}"
    what, _, group = name.partition("@")
    if group:
        if what not in GROUP_MEASURES:
            return f"unknown group measure {what!r}: choose from {', '.join(GROUP_MEASURES)}"
        return None if group in segments or group in GROUPS else f"unknown group {group!r}: choose a segment ({', '.join(segments)}) or one of {', '.join(GROUPS)}"
    if name == "mean_score" or name in METRIC_BY_NAME or name in MEASURES:
        return None
    return (f"unknown measure {name!r}: choose a metric ({', '.join(METRIC_BY_NAME)}), one of {', '.join(MEASURES)}, "
            f"NAME@GROUP, funnel:<milestone>, reason:<reason> or mean_score")


def is_rate(name: str) -> bool:
    """True for quantities that are shares or 0–1 scores (their targets lie in [0, 1])."""
    kind, _, arg = name.partition(":")
    if arg and kind in ("funnel", "reason", "recalled", "barrier"):
        return True
    return definition(name).unit in RATE_UNITS


def label(name: str) -> str:
    kind, _, arg = name.partition(":")
    if arg and kind == "funnel":
        milestone, _, earlier = arg.partition("/")
        return f"reached {milestone.replace('_', ' ')} (of {earlier.replace('_', ' ') if earlier else 'the stage before'})"
    if arg and kind == "reason":
        return f"non-users whose reason is {arg.replace('_', ' ')}"
    if arg and kind == "recalled":
        return f"recalled decliners who reached {arg.replace('_', ' ')}"
    if arg and kind == "barrier":
        return f"non-users for whom {arg.replace('_', ' ')} is a barrier"
    if name == "mean_score":
        return "mean score to recommend (0–10)"
    return definition(name).label


@dataclass(frozen=True)
class Extract:
    """The quantities a calibration run reports (``task.extract`` of :func:`cxsim.experiments.runner.run_task`)."""

    names: tuple[str, ...]

    def __call__(self, res: "Results") -> dict[str, float]:
        return {f"q:{n}": float(value(res, n)) for n in self.names}
