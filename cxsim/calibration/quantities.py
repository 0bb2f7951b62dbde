"""What a calibration target measures in one run: any measure, a funnel stage rate, a reason share, the mean score.

Names:

* any name :func:`cxsim.measures.measure` knows (``acceptance_rate``, ``nps``,
  ``satisfaction``, ``churn_rate``, ``value_delivered``, ``satisfaction@recovered``, …);
* ``funnel:<milestone>``: customers who reached a milestone of
  :data:`cxsim.metrics.MILESTONES` ÷ customers who reached the one before it
  (``funnel:aware`` is a share of all customers); ``funnel:<milestone>/<earlier>``
  divides by the customers who reached ``<earlier>`` instead;
* ``reason:<reason>``: share of non-users (all stages) whose binding reason is
  ``<reason>`` (one of :data:`cxsim.barriers.REASONS`), e.g. ``reason:cost``;
* ``mean_score``: mean 0–10 score to recommend of customers past the outcome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..barriers import REASONS
from ..measures import GROUP_MEASURES, GROUPS, MEASURES, definition, measure
from ..metrics import FUNNEL, METRIC_BY_NAME, MILESTONES, ratio

if TYPE_CHECKING:
    from ..model import Results

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
    if arg and kind in ("funnel", "reason"):
        return True
    return definition(name).unit in RATE_UNITS


def label(name: str) -> str:
    kind, _, arg = name.partition(":")
    if arg and kind == "funnel":
        milestone, _, earlier = arg.partition("/")
        return f"reached {milestone.replace('_', ' ')} (of {earlier.replace('_', ' ') if earlier else 'the stage before'})"
    if arg and kind == "reason":
        return f"non-users whose reason is {arg.replace('_', ' ')}"
    if name == "mean_score":
        return "mean score to recommend (0–10)"
    return definition(name).label


@dataclass(frozen=True)
class Extract:
    """The quantities a calibration run reports (``task.extract`` of :func:`cxsim.experiments.runner.run_task`)."""

    names: tuple[str, ...]

    def __call__(self, res: "Results") -> dict[str, float]:
        return {f"q:{n}": float(value(res, n)) for n in self.names}
