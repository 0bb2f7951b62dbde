"""The state the rules act on, as they see it: :class:`World` (no cxsim imports).

Rule modules (journey, relationship, feedback, staff, coverage, relief, metrics, …)
take a ``World`` (in a run: the :class:`cxsim.model.CxModel`) and read or change
only what is declared here; they never import the model. The dependency runs one
way — orchestrator on top (:mod:`cxsim.model`), rules below, state at the bottom
(this module, :mod:`cxsim.stages`, :mod:`cxsim.agents`, :mod:`cxsim.network`, …);
``tests/test_layers.py`` declares the layers and fails on an import that breaks them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

import numpy as np


SLICE = 1 << 16
"""Customers handled at a time by a pass over everyone that would otherwise make
population-sized temporaries (set-up draws, the ledger, who is tracked)."""


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
    tally: Counter[str]
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
