"""What the active interventions change for the customers they reach: :class:`Relief`, their bills,
their lift of touchpoints.

Rules ask here, at each phase, what the interventions active now change for the
customers in front of them (:func:`relief_for`), bill what those interventions cost at
that phase (:func:`charge_use`), and how they lift a touchpoint
(:func:`touchpoint_lift`, :func:`recovery_chance`). Every intervention is applied the
same way, from its :class:`cxsim.rules.interventions.Effects` record (each field declares how:
:meth:`Relief.apply`). The state read is a :class:`cxsim.state.world.World`; who is reached
comes from :mod:`cxsim.rules.coverage`.

It also holds the step's phase 1, :func:`refresh`: which interventions act this step, their running
costs, and the outreach rates when that set changes. It is small and about the same thing (the
interventions acting now), so it lives here rather than in a module of its own.
"""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .barriers import CASH_COSTS, cost_borne

if TYPE_CHECKING:
    from ..state.world import World


def _where(covered: np.ndarray | bool, yes, no):
    """``np.where`` that keeps a single value when ``covered`` is ``True`` for everyone."""
    return yes if covered is True else np.where(covered, yes, no)


@dataclass
class Relief:
    """What the interventions covering customers ``ids`` change for them.

    Multipliers stay the scalar 1.0 until an intervention touches them; cost
    shares are kept only for the cost kinds some intervention relieves.
    """

    n: int
    cost_share: dict[int, np.ndarray] = field(default_factory=dict)  # cost column → share the customer still pays
    fear: np.ndarray | float = 1.0  # multiplier on fear
    distrust: np.ndarray | float = 1.0  # multiplier on distrust
    distance: np.ndarray | float = 1.0  # multiplier on travel hassle
    churn: np.ndarray | float = 1.0  # multiplier on churn hazard
    defection: np.ndarray | float = 1.0  # multiplier on the chance to leave at a moment of defection
    pace: np.ndarray | float = 0.0  # share of drifting needs the provider keeps pace with
    insight: np.ndarray | float = 0.0  # share of latent need made visible
    reports: np.ndarray | float = 0.0  # extra good-outcome reports
    at_home: np.ndarray | bool = False  # follow-up comes to the village
    covered: dict[str, np.ndarray | bool] = field(default_factory=dict)  # True: covers all of them

    def scale(self, attr: str, covered: np.ndarray | bool, factor: float) -> None:
        setattr(self, attr, getattr(self, attr) * _where(covered, np.float32(factor), np.float32(1.0)))

    def add(self, attr: str, covered: np.ndarray | bool, amount) -> None:
        setattr(self, attr, getattr(self, attr) + _where(covered, amount, 0))

    def reduce(self, attr: str, covered: np.ndarray | bool, share: float) -> None:
        """Multiplier ``attr`` loses the share ``share`` for the covered customers (nothing when 0)."""
        if share:
            self.scale(attr, covered, 1.0 - share)

    def increase(self, attr: str, covered: np.ndarray | bool, amount: float) -> None:
        """Share or count ``attr`` gains ``amount`` for the covered customers (nothing when 0)."""
        if amount:
            self.add(attr, covered, np.float32(amount))

    def relieve_cost(self, kind: str, covered: np.ndarray | bool, share: float) -> None:
        """The provider pays the share ``share`` of cost ``kind`` for the covered customers."""
        col = CASH_COSTS.index(kind)
        self.cost_share[col] = self.cost_share.get(col, 1.0) * _where(covered, np.float32(1.0 - share), np.float32(1.0))

    def include(self, attr: str, covered: np.ndarray | bool, flag: bool) -> None:
        """Flag ``attr`` becomes true for the covered customers (nothing when ``flag`` is false)."""
        if flag:
            setattr(self, attr, getattr(self, attr) | covered)

    def apply(self, effects, covered: np.ndarray | bool) -> None:
        """Add what one intervention's ``effects`` (a :class:`cxsim.rules.interventions.Effects`) change for the covered
        customers, each field as it declares (``Effects.relieving``)."""
        for name, attr, how in effects.relieving():
            value = getattr(effects, name)
            if how == "cost":
                for kind, share in value.items():
                    self.relieve_cost(kind, covered, share)
            else:
                getattr(self, how)(attr, covered, value)

    def remaining(self, ledger: np.ndarray, ids: np.ndarray, weight: np.ndarray, columns: np.ndarray | None = None) -> np.ndarray:
        """Weighted cost each of customers ``ids`` still bears after what is relieved (``columns``: the kinds ``ledger`` keeps)."""
        return cost_borne(ledger, ids, weight, self.cost_share, columns)

    def subset(self, mask: np.ndarray) -> "Relief":
        if not self.covered:  # no intervention reached them: nothing per customer to cut
            return Relief(n=int(np.count_nonzero(mask)))

        def cut(v):
            return v[mask] if isinstance(v, np.ndarray) else v

        kw = {k: cut(v) for k, v in self.__dict__.items() if k not in ("n", "cost_share", "covered")}
        return Relief(
            n=int(np.count_nonzero(mask)),
            cost_share={k: cut(v) for k, v in self.cost_share.items()},
            covered={k: cut(v) for k, v in self.covered.items()},
            **kw,
        )


def reach(world: "World", name: str, iv, ids: np.ndarray) -> np.ndarray | bool:
    """Which of ``ids`` intervention ``name`` acts on now (see :meth:`cxsim.rules.coverage.Coverage.reach`)."""
    return world.coverage.reach(name, iv, ids, world.t)


def refresh(world: "World") -> None:
    """Phase 1: which interventions act this step; their running costs; outreach rates when that set changes."""
    sc = world.pars
    changed = world.active.update([(n, iv) for n, iv in sc.interventions.items() if iv.active(world.t)])
    for name, iv in world.active:
        world.costs[name] += iv.cost_per_step * iv.coverage  # running cost at full coverage, for the share covered
    if not changed:
        return
    c = world.customers
    outreach = np.float32(sc.journey.outreach)
    gains = [(name, iv) for name, iv in world.active if iv.effects().outreach_boost]
    if gains:
        boost = np.zeros(c.n, dtype=np.float32)
        everyone = np.arange(c.n)
        for name, iv in gains:
            boost += iv.effects().outreach_boost * world.coverage.covered(name, iv, everyone)
        outreach = outreach * (1.0 + boost)
    np.multiply(c.reach, outreach, out=world.aware_rate)
    if world.net.listen_weight is not None:  # ties talking (a fully mixed population hears through global_share())
        world.aware_rate += c.talk_count * world.net.listen_weight * np.float32(sc.journey.word_of_mouth)


def take_steps(world: "World", phase: str) -> None:
    """Active interventions with a step of their own in ``phase`` (their ``acts_in``) take it, in scenario order."""
    for name, iv in world.active:
        if iv.acts_in == phase:
            iv.step(world, name)


def relief_for(world: "World", ids: np.ndarray) -> Relief:
    """What the active interventions change for customers ``ids`` (see :class:`Relief`).

    When every active intervention covers everyone, that is the same for anyone, so it is
    built once (until the active set changes). A Relief is never changed once built.
    """
    if world.active.relief_for_all is not None:
        r = copy(world.active.relief_for_all)
        r.n = len(ids)
        return r
    r = _relief(world, ids)
    if world.active and all(r.covered.get(name) is True for name, _ in world.active):
        world.active.relief_for_all = r
    return r


def _relief(world: "World", ids: np.ndarray) -> Relief:
    r = Relief(n=len(ids))
    for name, iv in world.active:
        cov = reach(world, name, iv, ids)
        if cov is not True and not cov.any():
            continue
        r.covered[name] = cov
        r.apply(iv.effects(), cov)  # each intervention adds what it changes
    return r


def charge_use(world: "World", ids: np.ndarray, relief: Relief, stage: str) -> None:
    """Bill the interventions that serve customers ``ids`` at this journey phase."""
    columns: dict[str, np.ndarray] = {}  # each kind's costs of customers ``ids``, gathered once (a column, not whole rows: ~7× faster)

    def costs_of(kind: str) -> np.ndarray:
        if kind not in columns:
            columns[kind] = world.customers.cost(kind, ids)
        costs = columns[kind]
        return costs if cov is True else costs[cov]

    for name, iv in world.active:
        cov = relief.covered.get(name)
        if cov is None:
            continue
        paid = iv.bill(stage, len(ids) if cov is True else int(np.count_nonzero(cov)), costs_of)
        if paid is not None:
            world.costs[name] += paid


def touchpoint_lift(world: "World", name: str, ids: np.ndarray, reliability, quality):
    """Reliability and quality of touchpoint ``name`` for ``ids`` after the interventions covering each customer."""
    for iv_name, iv in world.active:
        e = iv.effects()
        if name in e.touchpoint_reliability or name in e.touchpoint_quality:
            floor, gain = e.touchpoint_reliability.get(name, 0.0), e.touchpoint_quality.get(name, 0.0)
            cov = reach(world, iv_name, iv, ids)
            reliability = _where(cov, np.maximum(reliability, floor), reliability)
            quality = _where(cov, np.minimum(1.0, quality + gain), quality)
    return reliability, quality


def recovery_chance(world: "World", name: str, tp, ids: np.ndarray):
    """Chance that a failure of touchpoint ``name`` is put right on the spot, for customers ``ids``."""
    chance = tp.recovery
    for iv_name, iv in world.active:
        floor = iv.effects().touchpoint_recovery.get(name)
        if floor is not None:
            cov = reach(world, iv_name, iv, ids)
            chance = _where(cov, np.maximum(chance, floor), chance)
    return chance
