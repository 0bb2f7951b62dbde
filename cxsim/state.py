"""The state the rules act on, as they see it: :class:`World` (no cxsim imports).

Rule modules (journey, relationship, feedback, staff, coverage, relief, metrics, …)
take a ``World`` (in a run: the :class:`cxsim.model.CxModel`) and read or change
only what is declared here; they never import the model. The dependency runs one
way — orchestrator on top (:mod:`cxsim.model`), rules below, state at the bottom
(this module, :mod:`cxsim.stages`, :mod:`cxsim.agents`, :mod:`cxsim.network`, …);
``tests/test_layers.py`` declares the layers and fails on an import that breaks them.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


SLICE = 1 << 16
"""Customers handled at a time by a pass over everyone that would otherwise make
population-sized temporaries (set-up draws, the ledger, who is tracked)."""


TALLIES: dict[str, str] = {
    "offered": "customers screened and offered the service",
    "accepted": "customers who said yes",
    "served": "customers who received the service",
    "scored": "customers who judged the experience (served, or of the installed base)",
    "installed_base": "customers who were customers when the run began",
    "good_outcomes": "services with a good core outcome",
    "followed_up": "customers who attended follow-up",
    "promoters": "customers who scored 9–10",
    "detractors": "customers who scored 0–6",
    "referrals": "recommendations made by promoters",
    "referral_acceptances": "acceptances by customers reached by a recommendation",
    "warnings": "ties warned off by a detractor",
    "reconsiderations": "decliners who decide again after hearing a recommendation",
    "recalled": "customers offered the service again by a recall",
    "failures": "touchpoint failures customers met",
    "recoveries": "failures put right on the spot",
    "encounters": "repeat encounters of customers",
    "disappointments": "repeat encounters judged below expectation",
    "defections": "customers who left right after a disappointing encounter",
    "renewals_due": "contracts that reached their end",
    "lapses": "contracts that ended without renewal",
    "loops_closed": "customers whose feedback an improvement loop closed",
    "actions_assigned": "improvement actions assigned",
    "actions_done": "improvement actions completed",
    "actions_lapsed": "improvement actions dropped unfinished",
}
"""The running counts of a run, each declared once with its meaning (:class:`Tally`)."""


class Tally(dict):
    """The running counts of :data:`TALLIES`, all starting at 0; a key not declared there raises ``KeyError``
    (reading or writing), so a misspelt count fails instead of reading 0."""

    def __init__(self):
        super().__init__(dict.fromkeys(TALLIES, 0))

    def __setitem__(self, key: str, value) -> None:
        if key not in TALLIES:
            raise KeyError(f"{key!r} is not a declared tally (cxsim.state.TALLIES)")
        super().__setitem__(key, value)


def slices(n: int):
    """Consecutive slices of ``range(n)``, :data:`SLICE` customers each (the last shorter)."""
    return (slice(lo, min(n, lo + SLICE)) for lo in range(0, n, SLICE))


class World(Protocol):
    """One run's state: inputs, customers, their network and the running sums rules update."""

    pars: Any  # the validated Scenario
    seed: int
    streams: Any  # randomness.Streams: named random streams (common random numbers)
    customers: Any  # agents.Customers: one array per state entry
    net: Any  # network.Network: who talks to whom
    counts: np.ndarray  # customers per Stage
    tally: Tally
    costs: dict[str, float]  # provider's costs by intervention (and "service")
    value_delivered: float
    encounter_value: float
    screen_hazard: float
    loyalty_sum: float
    satisfaction_sum: float
    aware_rate: np.ndarray  # awareness hazard per step and customer
    value_per_step: np.ndarray  # per segment
    basket: np.ndarray  # per segment
    cohorts: np.ndarray  # per anchor step: loyal customers, Σ satisfaction, Σ (anchor loyalty − initial)
    loyal_by_segment: np.ndarray
    tracked: np.ndarray  # bool per customer: events kept for their story
    recalled: np.ndarray  # bool per customer once a recall acted (empty before): offered again by a recall
    feeling: Any  # emotions' behavioural coefficients
    levels: dict[str, list[float]]  # touchpoint → [reliability, quality] before any loop's fixes
    touchpoints_by_stage: dict[str, list]
    touchpoint_segments: dict[str, np.ndarray]
    active: list  # (name, intervention) acting this step; the rules ask each what it changes
    coverage: Any  # coverage.Coverage: whom each intervention reaches
    agenda: Any  # agenda.Agenda: who is due for which phase when
    staff: Any  # staff.Morale
    loops: Any  # feedback.Loops

    @property
    def t(self) -> int: ...

    def log(self, ids, stage, what, delta=None, flag=None, labels=("", ""), reasons=None) -> None: ...


class Run(Protocol):
    """One finished run as readouts see it (in practice :class:`cxsim.model.Results`)."""

    model: World
    summary: dict[str, Any]
