"""Staff morale: employees are the first customers.

One morale level (0–1) for the provider's front-line staff, updated in phase 1
of :data:`cxsim.engine.model.PHASES`:

* its **set point** is the status quo ``staff.morale``, plus ``morale_lift ·
  coverage`` of active interventions that invest in staff (training, recognition,
  empowerment: ``coverage`` is the share of staff they reach, so morale, the
  staff's mean, rises by that share of the lift), plus ``mirror · (S − confirmed)``
  (``emotions.confirmed``, satisfaction at confirmed expectations) where S is the mean satisfaction of
  current customers (staff feel their customers' mood: the satisfaction mirror of
  the service-profit chain, Heskett et al. 1994);
* it closes the share ``adapt`` of its gap to the set point each step, so a
  one-off push (``morale_push · coverage``, coverage = share of staff reached; a rally, a read-out of customers' verbatim) fades back
  to the status quo — the emotional high that "meets resistance and hard work"
  (seed 000, Sage);
* a touchpoint with ``staff_effect`` s performs at
  ``quality + s · (morale − staff.morale)``: staffed moments of truth are as good
  as the people delivering them.

With no staffed touchpoint and no staff intervention, morale stays at its
status quo and changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..state.world import World


class Morale:
    """The provider's staff morale and which one-off pushes have happened."""

    def __init__(self, status_quo: float):
        self.level = float(status_quo)
        self.set_point = float(status_quo)
        self.peak = float(status_quo)
        self.pushed: set[str] = set()


def update(world: "World") -> None:
    """Phase 1 (after the interventions): morale moves toward its set point; pushes jump it."""
    p, m = world.pars.staff, world.staff
    lift = sum(iv.across_organisation("morale_lift") for _, iv in world.active)
    mirror = 0.0
    if p.mirror:
        n, sat = world.cohorts[:, 0].sum(), world.cohorts[:, 1].sum()
        if n > 0:
            mirror = p.mirror * (sat / n - world.pars.emotions.confirmed)
    m.set_point = min(1.0, max(0.0, p.morale + lift + mirror))
    m.level += p.adapt * (m.set_point - m.level)
    for name, iv in world.active:
        if iv.effects().morale_push and name not in m.pushed:
            m.pushed.add(name)
            m.level += iv.across_organisation("morale_push")
    m.level = min(1.0, max(0.0, m.level))
    m.peak = max(m.peak, m.level)


def quality_shift(world: "World", tp) -> float:
    """Change in a staffed touchpoint's quality at the current morale."""
    return tp.staff_effect * (world.staff.level - world.pars.staff.morale)


def drive(world: "World") -> float:
    """Motivation beyond the status quo, 0 (status quo or below) to 1 (fully motivated)."""
    status_quo = world.pars.staff.morale
    return min(1.0, max(0.0, (world.staff.level - status_quo) / max(1e-6, 1.0 - status_quo)))
