"""The feedback phase: a run's improvement loops, the touchpoint levels their fixes set, and the calls into them.

What an improvement loop does — listening, reviews, actions, fixes, relapse, closing
the loop — is its class's, :class:`cxsim.rules.interventions.ImprovementLoop`; its state in
a run is a :class:`~cxsim.rules.interventions.Team`. This module holds those teams
(:class:`Loops`, ``world.loops``), lets the loops covering a customer hear a failure
(:func:`observe`), gives a touchpoint's levels after the fixes of the loops covering each
customer (:func:`levels`, for :func:`cxsim.rules.journey.touchpoint_levels`), and runs the
last phase of :data:`cxsim.engine.model.PHASES` (:func:`review`: each active loop's step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .interventions import ImprovementLoop, Team
from .relief import take_steps

if TYPE_CHECKING:
    from ..state.world import World


class Loops:
    """The improvement loops of one run and their teams (empty when the scenario has none)."""

    def __init__(self, scenario):
        self.names = [n for n, iv in scenario.interventions.items() if isinstance(iv, ImprovementLoop) and iv.enabled]
        self.loops = {n: scenario.interventions[n] for n in self.names}
        self.teams = {n: Team() for n in self.names}
        self.fixes: list[tuple[int, str, str]] = []  # (step, loop, touchpoint)

    def __bool__(self) -> bool:
        return bool(self.names)

    def levels(self, world: "World", name: str, ids: np.ndarray):
        """Touchpoint ``name``'s levels for ``ids`` after these loops' fixes (see :func:`levels`)."""
        return levels(world, name, ids)

    def observe(self, world: "World", name: str, ids: np.ndarray, works: np.ndarray) -> None:
        """The loops covering ``ids`` hear of touchpoint ``name``'s failures (see :func:`observe`)."""
        observe(world, name, ids, works)


def _active_loops(world: "World"):
    return [(n, iv) for n, iv in world.active if n in world.loops.teams]


def levels(world: "World", name: str, ids: np.ndarray):
    """Reliability and quality of touchpoint ``name`` for customers ``ids`` after the fixes of the loops covering them.

    Numbers when no loop changed it (or one loop covering everyone did), else one per customer.
    """
    reliability, quality = world.levels[name]
    for loop, team in world.loops.teams.items():
        fixed = team.levels.get(name)
        if fixed is None:
            continue
        cov = world.coverage.covering(loop, world.loops.loops[loop], ids)
        if cov is True and np.isscalar(reliability) and np.isscalar(quality):
            reliability, quality = max(reliability, fixed[0]), max(quality, fixed[1])
        else:
            reliability = np.where(cov, np.maximum(reliability, fixed[0]), reliability)
            quality = np.where(cov, np.maximum(quality, fixed[1]), quality)
    return reliability, quality


def observe(world: "World", name: str, ids: np.ndarray, works: np.ndarray) -> None:
    """Customers ``ids`` met touchpoint ``name``; the active loops hear of its failures (:meth:`ImprovementLoop.hear`)."""
    failed = ids[~works]
    if len(failed) == 0:
        return
    for loop, iv in _active_loops(world):
        iv.hear(world, loop, name, failed)


def review(world: "World") -> None:
    """Last phase: each active loop takes its step (:meth:`ImprovementLoop.step`: actions done, fixes, reviews)."""
    take_steps(world, "feedback")
