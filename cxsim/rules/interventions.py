"""Interventions: what the provider switches on to lower barriers or lift touchpoints.

Each intervention is a small validated class registered under a key. It says
*when* it acts (``start``/``stop``), *for whom* (``coverage`` of the ``segments``
it is eligible to), *what it costs* (``cost_per_use``, ``cost_per_step``, plus any
cash it takes over from customers), and *what it does*, once: its ``effects_from``
names the :class:`Effects` it sets and the parameter each comes from (``FreeTransport``:
``cost_relief`` from ``subsidy``, ``distance_relief`` from ``escort``). The engine
applies every :class:`Effects` field the same way for every intervention, as the
field declares (its ``relief``, ``per``, ``bills_at`` and ``organisation_wide``
metadata); an organisation-wide intervention with behaviour of its own carries it in
its class (:class:`ImprovementLoop` has the step the feedback phase calls).

**Coverage means one thing: the share of what the intervention acts on that it
reaches**, so that coverage 0 leaves every result identical to the baseline
(tested for every class in :data:`REGISTRY`, ``tests/test_coverage.py``):

* interventions that act on customers (subsidies, counselling, outreach, fixes,
  recovery, retention, ...): the share of eligible customers covered, drawn once
  per customer from the intervention's own random stream (common random numbers);
* organisation-wide ones say in their docstring what they cover: camps the
  catchment they serve, staff care and motivational pushes the share of staff
  reached (their effect scales with coverage, :meth:`Intervention.across_organisation`);
  an improvement loop the share of customers it serves (their experience can reach
  the team and its fixes reach their touchpoints).

``cost_per_step`` is the running cost at full coverage: a programme pays it in
proportion to its coverage (one that reaches nobody costs nothing);
``cost_per_use`` is paid per covered use.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, fields
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, ValidationError, model_validator

from ..state.ledger import CASH_COSTS
from ..state.params import CxError, Params, choices, explain, par, shorten, validating

if TYPE_CHECKING:
    from ..state.world import World

BILLING_PHASES = ("follow_up", "access", "decision", "loyalty")
"""Journey phases where a fee per use is billed, first wins: an intervention is billed at the first
of them where one of its effects acts (:meth:`Intervention.billing_phase`)."""


def effect(default: Any, meaning: str, *, relief: tuple[str, str] | None = None, per: str = "", bills_at: str = "",
           organisation_wide: bool = False):
    """One field of :class:`Effects`: its no-change ``default``, what it means, and how the engine applies it.

    ``relief``: (attribute of :class:`cxsim.rules.relief.Relief`, how: ``reduce`` a multiplier by the share,
    ``increase`` a share or count, ``include`` the covered customers, ``cost`` shares by cash-cost kind);
    ``per``: the intervention's list the value is given for (``touchpoints``, ``kinds``); ``bills_at``:
    the journey phase where it acts on a covered customer's use (:data:`BILLING_PHASES`);
    ``organisation_wide``: it acts on the whole organisation, scaled by coverage (not per customer).
    """
    meta = {"meaning": meaning, "relief": relief, "per": per, "bills_at": bills_at, "organisation_wide": organisation_wide}
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Effects:
    """What an intervention changes (every field defaults to no change); each field says how the engine applies it."""

    cost_relief: dict[str, float] = effect({}, "cash-cost kind → share the provider pays", relief=("cost_share", "cost"), per="kinds", bills_at="access")
    distance_relief: float = effect(0.0, "share of travel hassle removed (escorted transport)", relief=("distance", "reduce"))
    fear_relief: float = effect(0.0, "share of fear removed before the decision", relief=("fear", "reduce"), bills_at="decision")
    distrust_relief: float = effect(0.0, "share of distrust removed before the decision", relief=("distrust", "reduce"), bills_at="decision")
    latent_insight: float = effect(0.0, "share of the hidden (latent) need made visible", relief=("insight", "increase"), bills_at="decision")
    social_reports: float = effect(0.0, "extra good-outcome reports the customer hears", relief=("reports", "increase"), bills_at="decision")
    outreach_boost: float = effect(0.0, "relative increase of the outreach hazard of covered customers (relief.refresh)")
    screening_boost: float = effect(0.0, "relative increase of the screening hazard (journey.consideration); camps serve the "
                                         "whole catchment, so coverage scales it", organisation_wide=True)
    follow_up_at_home: bool = effect(False, "follow-up comes to the customer (no trip)", relief=("at_home", "include"), bills_at="follow_up")
    touchpoint_reliability: dict[str, float] = effect({}, "touchpoint → reliability floor (relief.touchpoint_lift)", per="touchpoints", bills_at="access")
    touchpoint_quality: dict[str, float] = effect({}, "touchpoint → quality added (relief.touchpoint_lift)", per="touchpoints", bills_at="access")
    churn_relief: float = effect(0.0, "share of churn hazard removed", relief=("churn", "reduce"), bills_at="loyalty")
    touchpoint_recovery: dict[str, float] = effect({}, "touchpoint → chance a failure is put right, a floor (relief.recovery_chance)", per="touchpoints")
    defection_relief: float = effect(0.0, "share of the chance to leave at a moment of defection removed", relief=("defection", "reduce"))
    pace: float = effect(0.0, "share of customers' drifting needs the provider keeps pace with", relief=("pace", "increase"))
    morale_lift: float = effect(0.0, "rise of the staff morale set point while active (staff.update)", organisation_wide=True)
    morale_push: float = effect(0.0, "one-off jump in staff morale when the intervention starts (staff.update)", organisation_wide=True)
    renewal_window: int = effect(0, "acts only on customers whose contract ends within this many steps, 0 = any time (coverage.reach)")
    use_chance: float = effect(1.0, "chance it acts at each use of a covered customer, drawn per use (coverage.reach)")

    @staticmethod
    @cache
    def relieving() -> tuple[tuple[str, str, str], ...]:
        """(field, Relief attribute, how) of every field that changes a customer's relief, in field order."""
        return tuple((f.name, *f.metadata["relief"]) for f in fields(Effects) if f.metadata["relief"])


EFFECT_FIELDS = {f.name: f for f in fields(Effects)}
_EFFECTS: dict[int, Effects] = {}  # id of a (frozen) intervention → its effects, built once


class Intervention(Params):
    """Common fields of every intervention."""

    kind: str = ""
    enabled: bool = Field(False, description="switched on")
    start: int = par(0, 0, 100_000, "step", "first step the intervention acts")
    stop: int = par(100_000, 0, 100_000, "step", "step from which it no longer acts")
    coverage: float = par(1.0, 0, 1, "fraction", "share of what it acts on that it reaches: eligible customers, or (organisation-wide ones) staff or customers served")
    segments: list[str] = Field(default_factory=list, description="eligible segments (empty = all)")
    cost_per_use: float = par(0.0, 0, 1e9, "currency", "provider's cost each time a covered customer uses it")
    cost_per_step: float = par(0.0, 0, 1e12, "currency/step", "provider's running cost per step while active, at full coverage (it scales with coverage)")

    label: ClassVar[str] = ""
    effects_from: ClassVar[dict[str, str | bool]] = {}
    """Its declaration of what it does: :class:`Effects` field → the parameter that sets it (``True``: always set).
    A field given ``per`` a list (``touchpoints``, ``kinds``) takes the value for every entry of that list."""
    bills_at: ClassVar[str] = ""
    """Where ``cost_per_use`` is billed when its effects do not imply it (:meth:`billing_phase`)."""
    acts_in: ClassVar[str] = ""
    """The phase whose rule calls its :meth:`step` while it is active ("": it has no step of its own)."""

    @model_validator(mode="after")
    def _starts_before_it_stops(self) -> "Intervention":
        if not self.start < self.stop:
            raise ValueError(f"start = {self.start} must be below stop = {self.stop} (it acts in steps start … stop − 1)")
        return self

    def active(self, step: int) -> bool:
        return self.enabled and self.start <= step < self.stop

    def effects(self) -> Effects:
        """What it changes, as declared in ``effects_from`` (built once per intervention: it is frozen)."""
        found = _EFFECTS.get(id(self))
        if found is None:
            found = _EFFECTS[id(self)] = Effects(**{name: self._effect_value(name, source) for name, source in self.effects_from.items()})
            weakref.finalize(self, _EFFECTS.pop, id(self), None)
        return found

    def _effect_value(self, name: str, source: str | bool):
        value = source if isinstance(source, bool) else getattr(self, source)
        per = EFFECT_FIELDS[name].metadata["per"]
        return {key: value for key in getattr(self, per)} if per else value

    def across_organisation(self, name: str) -> float:
        """Organisation-wide effect ``name`` at its coverage: camps serve the whole catchment, staff care and pushes
        reach the share ``coverage`` of staff, so the effect scales with coverage rather than picking customers."""
        return getattr(self.effects(), name) * self.coverage

    def billing_phase(self) -> str:
        """The journey phase at which ``cost_per_use`` is billed: ``bills_at``, else the first of
        :data:`BILLING_PHASES` where one of its effects acts (``none``: never per use)."""
        if self.bills_at:
            return self.bills_at
        e = self.effects()
        acting = {EFFECT_FIELDS[name].metadata["bills_at"] for name in self.effects_from if getattr(e, name)}
        return next((phase for phase in BILLING_PHASES if phase in acting), "none")

    def step(self, world: "World", name: str) -> None:
        """Its own behaviour, in phase ``acts_in`` (an organisation-wide action rather than an effect on customers)."""

    def bill(self, phase: str, users: int, costs_of) -> float | None:
        """What serving ``users`` covered customers at ``phase`` costs the provider; None: it bills nothing there.

        Its fee at its billing phase, plus the cash it takes over: the follow-up
        trip at follow-up, the other costs at access. ``costs_of(kind)`` gives the
        covered customers' ledger column ``kind``.
        """
        relief = self.effects().cost_relief
        here = self.billing_phase() == phase
        if not here and not (phase == "access" and relief):
            return None
        paid = self.cost_per_use * users if here else 0.0
        for kind, share in relief.items():
            if (kind == "follow_up") == (phase == "follow_up"):
                paid += share * float(costs_of(kind).sum())
        return paid


REGISTRY: dict[str, type[Intervention]] = {}


def register(key: str, label: str):
    """Class decorator: make an intervention available under ``key`` in scenario files."""

    def wrap(cls: type[Intervention]) -> type[Intervention]:
        cls.label = label
        REGISTRY[key] = cls
        return cls

    return wrap


def intervention_names() -> list[str]:
    return sorted(REGISTRY)


def build_intervention(name: str, spec: Any) -> Intervention:
    """Validate one intervention spec; its class is ``spec['kind']`` or else its name."""
    at = f"interventions.{shorten(name, 30).strip(chr(39))}"
    if isinstance(spec, Intervention):
        return spec
    if not isinstance(spec, dict):
        raise CxError(f"{at} = {shorten(spec)}: an intervention is a table of its settings, e.g. [{at}] coverage = 0.5")
    spec = dict(spec)
    kind = spec.setdefault("kind", name)
    if not isinstance(kind, str) or kind not in REGISTRY:
        raise CxError(f"{at}: unknown intervention kind {shorten(kind)}; choose from {choices(intervention_names(), 120)}")
    cls = REGISTRY[kind]
    try:
        with validating():
            return cls.model_validate(spec)
    except ValidationError as err:
        raise CxError(explain(err, cls, at=at)) from None


class _Subsidy(Intervention):
    subsidy: float = par(1.0, 0, 1, "fraction", "share of the cost the provider pays")
    kinds: ClassVar[tuple[str, ...]] = ()
    effects_from = {"cost_relief": "subsidy"}  # billed at access, when the customer travels for the service


@register("free_service", "Free service (its price paid by the provider)")
class FreeService(_Subsidy):
    """The price of the service itself waived (e.g. free cataract surgery where it was sold)."""

    kinds = ("price",)


@register("recall", "Recall those who declined")
class Recall(Intervention):
    """A reminder: at its ``start`` step every covered customer who declined is offered the service again.

    It is how a trial re-approaches the people who did not take up an earlier offer (Zhang
    et al. 2013 re-contacted patients who had not had low-cost cataract surgery three
    months after screening); they decide afresh under whatever acts from that step on.
    ``world.recalled`` marks who was recalled (the trial population of a recall).
    """

    acts_in = "consideration"

    def step(self, world: "World", name: str) -> None:
        """At its start step, before screening: covered decliners are offered the service again and decide this step."""
        from ..state.stages import Stage
        from . import journey

        if self.start != world.t:
            return
        declined = journey.in_stage(world, Stage.DECLINED)
        ids = declined[world.coverage.covered(name, self, declined)]
        if len(world.recalled) == 0:
            world.recalled = np.zeros(world.customers.n, dtype=bool)
        world.recalled[ids] = True
        journey.move(world, ids, Stage.DECLINED, Stage.OFFERED)
        world.agenda.book("decision", world.t, ids)
        world.tally["recalled"] += len(ids)
        world.log(ids, "consideration", "recalled and offered the service again")


@register("free_transport", "Free transport to hospital and back")
class FreeTransport(_Subsidy):
    escort: float = par(0.5, 0, 1, "fraction", "share of travel hassle removed by an escorted ride")
    kinds = ("transport",)
    effects_from = {"cost_relief": "subsidy", "distance_relief": "escort"}


@register("free_food_lodging", "Free food and lodging")
class FreeFoodLodging(_Subsidy):
    kinds = ("food", "lodging")


@register("free_medicine", "Free medicine")
class FreeMedicine(_Subsidy):
    kinds = ("medicine",)


@register("wage_compensation", "Compensate lost wages (patient and companion)")
class WageCompensation(_Subsidy):
    kinds = ("own_wages", "companion_wages")


@register("free_follow_up", "Free follow-up visit in the village")
class FreeFollowUp(_Subsidy):
    kinds = ("follow_up",)
    effects_from = {"cost_relief": "subsidy", "follow_up_at_home": True}


@register("counselling", "Door-to-door counselling")
class Counselling(Intervention):
    fear_relief: float = par(0.2, 0, 1, "fraction", "share of fear removed")
    distrust_relief: float = par(0.1, 0, 1, "fraction", "share of distrust removed")
    latent_insight: float = par(0.1, 0, 1, "fraction", "share of hidden need made visible")
    effects_from = {"fear_relief": "fear_relief", "distrust_relief": "distrust_relief", "latent_insight": "latent_insight"}


@register("outreach_camps", "More outreach camps")
class OutreachCamps(Intervention):
    """Camps in the catchment: covered customers hear of the service sooner (``outreach_boost``); the camps
    screen the whole catchment faster (``screening_boost``, scaled by coverage: :meth:`~Intervention.across_organisation`)."""

    outreach_boost: float = par(1.0, 0, 20, "×", "relative increase in the outreach hazard")
    screening_boost: float = par(0.5, 0, 20, "×", "relative increase in the screening hazard")
    effects_from = {"outreach_boost": "outreach_boost", "screening_boost": "screening_boost"}


@register("testimonials", "Patient testimonials at camps")
class Testimonials(Intervention):
    reports: float = par(1.0, 0, 10, "reports", "good-outcome reports each customer hears")
    fear_relief: float = par(0.1, 0, 1, "fraction", "share of fear removed")
    effects_from = {"social_reports": "reports", "fear_relief": "fear_relief"}


@register("fix_touchpoint", "Make touchpoints reliable and better")
class FixTouchpoint(Intervention):
    touchpoints: list[str] = Field(default_factory=list, description="touchpoints fixed")
    reliability: float = par(0.99, 0, 1, "probability", "reliability after the fix (a floor)")
    quality_gain: float = par(0.0, 0, 1, "0–1", "quality added to each fixed touchpoint")
    effects_from = {"touchpoint_reliability": "reliability", "touchpoint_quality": "quality_gain"}


@register("retention_program", "Proactive engagement of existing customers")
class RetentionProgram(Intervention):
    churn_relief: float = par(0.5, 0, 1, "fraction", "share of churn hazard removed")
    effects_from = {"churn_relief": "churn_relief"}


# -- scenario library: relationship, staff, feedback ---------------------------------------------
@register("acquisition", "Acquisition drive: campaigns and channel partners")
class Acquisition(OutreachCamps):
    """Acquisition effort acts like outreach: more prospects become aware and are offered the service."""


@register("account_management", "Proactive engagement of key accounts")
class AccountManagement(Intervention):
    churn_relief: float = par(0.5, 0, 1, "fraction", "share of the churn hazard removed (issues found and addressed early)")
    pace: float = par(0.8, 0, 1, "fraction", "share of the customer's drifting needs the provider keeps pace with")
    defection_relief: float = par(0.0, 0, 1, "fraction", "share of the chance to leave after a disappointing encounter removed")
    effects_from = {"churn_relief": "churn_relief", "pace": "pace", "defection_relief": "defection_relief"}


@register("service_recovery", "Empower staff to put failures right")
class ServiceRecovery(Intervention):
    touchpoints: list[str] = Field(default_factory=list, description="touchpoints where failures are recovered")
    recovery: float = par(0.9, 0, 1, "probability", "chance a failure is put right on the spot (a floor)")
    effects_from = {"touchpoint_recovery": "recovery"}


@register("save_desk", "Anticipate and respond at moments of defection")
class SaveDesk(Intervention):
    touchpoints: list[str] = Field(default_factory=list, description="touchpoints where a failure is a moment of defection the desk responds to")
    recovery: float = par(0.7, 0, 1, "probability", "chance the desk puts the failure right (a floor)")
    defection_relief: float = par(0.5, 0, 1, "fraction", "share of the chance to leave after a disappointing encounter removed")
    effects_from = {"touchpoint_recovery": "recovery", "defection_relief": "defection_relief"}


@register("personal_recommendations", "Personalised recommendations (e.g. an in-store kiosk)")
class PersonalRecommendations(Intervention):
    latent_insight: float = par(0.5, 0, 1, "fraction", "share of the customer's latent need the recommendations make visible")
    effects_from = {"latent_insight": "latent_insight"}
    bills_at = "relationship"  # billed at each repeat encounter it serves


@register("renewal_delight", "Delight before renewal (e.g. complimentary detailing at service)")
class RenewalDelight(Intervention):
    touchpoints: list[str] = Field(default_factory=list, description="touchpoints lifted (e.g. a detailing delighter at the service appointment)")
    quality_gain: float = par(0.9, 0, 1, "0–1", "quality added to the touchpoints for covered customers")
    window_steps: int = par(6, 0, 1000, "steps", "acts only in this many steps before the contract ends (0 = any time)")
    use_chance: float = par(1.0, 0, 1, "probability", "chance it is given at each encounter of a covered customer (at random)")
    effects_from = {"touchpoint_quality": "quality_gain", "renewal_window": "window_steps", "use_chance": "use_chance"}
    bills_at = "relationship"


@register("staff_care", "Invest in staff: training, recognition, empowerment")
class StaffCare(Intervention):
    """Training, recognition, empowerment. ``coverage`` is the share of staff it reaches: morale (the
    staff's mean) has its set point raised by ``morale_lift · coverage`` while active."""

    morale_lift: float = par(0.2, 0, 1, "0–1", "rise of the staff morale set point while active")
    effects_from = {"morale_lift": "morale_lift"}


@register("motivational_push", "One-off push: rally, targets, verbatim read-out")
class MotivationalPush(Intervention):
    """A one-off rally. ``coverage`` is the share of staff it reaches: morale jumps by
    ``morale_push · coverage`` when it starts, then fades."""

    morale_push: float = par(0.3, 0, 1, "0–1", "jump in staff morale when the push happens (it then fades)")
    effects_from = {"morale_push": "morale_push"}


@dataclass
class Action:
    """An action an improvement loop's team assigned: the loop's n-th (it keys its random draw), where, when it is due,
    and who reported the failure it answers."""

    number: int
    touchpoint: str
    due: int
    reporters: np.ndarray


@dataclass
class Team:
    """One improvement loop's state in a run: what it has heard since its last review, its open actions, its fixes."""

    heard: dict[str, list[np.ndarray]] = field(default_factory=dict)
    open: list[Action] = field(default_factory=list)
    turn: int = 0
    assigned: int = 0
    done: int = 0
    unmonitored: dict[str, list[float]] = field(default_factory=dict)  # touchpoint → [reliability, quality] gained by untracked fixes
    levels: dict[str, list[float]] = field(default_factory=dict)  # touchpoint → [reliability, quality] after this loop's fixes
    listeners: np.ndarray | None = None  # which customers' failures reach the team (covered and responding)


@register("improvement_loop", "Listen, assign actions, fix touchpoints (closed loop)")
class ImprovementLoop(Intervention):
    """A team that hears about failing touchpoints and acts; its state in a run is a :class:`Team`
    (``world.loops``, :mod:`cxsim.rules.feedback`, which calls :meth:`hear` and :meth:`step`).

    * **Coverage** is the share of customers the programme serves (its sites, regions or
      accounts): their failures can reach the team and its fixes reach their touchpoints.
      Coverage 0 serves nobody: it hears nothing, assigns nothing, fixes nothing and costs nothing.
    * **Listening** (:meth:`hear`). A covered customer's failure reaches the team if the customer
      responds (``response``: a short immediate survey's response rate; 1 = operational monitoring
      of every interaction, an early-warning system); responders are drawn once per customer.
    * **Review** (:meth:`step`, phase 9, after the customers' moments of truth). Every
      ``review_steps`` the team assigns up to ``actions`` actions to touchpoints with no open
      action: ``worst`` targets the most reported failures × weight; ``spread`` takes every
      eligible touchpoint in turn, whatever was heard.
    * **Actions.** An action is due ``deadline_steps`` later. A *tracked* one (assigned with a
      deadline and monitored) is done by then with probability ``completion``; an untracked one
      with ``untracked + (completion − untracked) · drive``, where ``drive`` is staff motivation
      above its status quo (:func:`cxsim.rules.staff.drive`): once a push has faded, untracked actions
      are forgotten. Undone actions lapse (a failing touchpoint is heard about again).
    * **Fixes.** A done action removes the share ``fix_share`` of the touchpoint's failures below
      ``ceiling`` (``fix = reliability``) or adds ``quality_gain`` (``fix = quality``), for every
      covered customer from the next step on (the loop's own levels, starting from the
      touchpoint's ``world.levels``; a customer covered by several loops meets the best of them,
      :func:`cxsim.rules.feedback.levels`). Customers who reported the failure and are still customers
      are told: they lose the share ``close_loop`` of their dissatisfaction and are asked for
      their score to recommend again (a closed-loop contact).
    * **Relapse.** A fix made by an untracked action is a change of habit nobody monitors: each
      step it loses the share ``relapse`` of what it gained. Tracked fixes are monitored and kept.
    """

    touchpoints: list[str] = Field(default_factory=list, description="touchpoints the team may act on (empty = all)")
    response: float = par(1.0, 0, 1, "fraction", "share of covered customers whose experience reaches the team (survey response rate; 1 = operational monitoring)")
    review_steps: int = par(4, 1, 520, "steps", "steps between reviews where actions are assigned")
    actions: int = par(1, 0, 100, "actions per review", "actions the team can take on at each review (its capacity)")
    targeting: Literal["worst", "spread"] = Field("worst", description="worst: touchpoints with most reported failures × weight first; spread: every touchpoint in turn")
    fix: Literal["reliability", "quality"] = Field("reliability", description="what an action improves")
    fix_share: float = par(0.4, 0, 1, "fraction", "share of the remaining failures (below the ceiling) an action removes")
    ceiling: float = par(0.99, 0, 1, "probability", "reliability beyond which actions remove no more failures")
    quality_gain: float = par(0.05, 0, 1, "0–1", "quality an action adds when fix = quality")
    tracked: bool = Field(True, description="actions are assigned with deadlines and monitored")
    deadline_steps: int = par(4, 1, 520, "steps", "steps from assigning an action to its deadline")
    completion: float = par(0.9, 0, 1, "probability", "chance a tracked action is done by its deadline (and an untracked one when staff are fully motivated)")
    untracked: float = par(0.05, 0, 1, "probability", "chance an untracked action is done when staff morale is at its status quo")
    relapse: float = par(0.0, 0, 1, "per step", "share of an untracked action's fix lost each step as old habits return (tracked fixes are monitored and kept)")
    close_loop: float = par(0.0, 0, 1, "fraction", "share of their dissatisfaction removed for customers told their reported failure was fixed")
    cost_per_action: float = par(0.0, 0, 1e9, "currency", "provider's cost of each action assigned")


    acts_in = "feedback"

    def step(self, world: "World", name: str) -> None:
        """Actions due are done (or lapse), untracked fixes relapse, and at review steps new actions are assigned."""
        if not world.coverage.covers_anyone(name, self):
            return  # a programme that serves nobody does nothing
        team = world.loops.teams[name]
        if self.relapse and team.unmonitored:
            self._relapse(team)
        self._finish(world, name, team)
        if (world.t - self.start + 1) % self.review_steps == 0:
            self._assign(world, name, team)

    def hear(self, world: "World", name: str, touchpoint: str, failed: np.ndarray) -> None:
        """Customers ``failed`` met ``touchpoint`` failing: the team hears of those it listens to."""
        team = world.loops.teams[name]
        heard = failed[self._listeners(world, name, team)[failed]]
        if len(heard):
            team.heard.setdefault(touchpoint, []).append(heard)

    def _listeners(self, world: "World", name: str, team: Team) -> np.ndarray:
        """Covered customers who respond: the share ``response`` of the covered, from the coverage draw itself."""
        if team.listeners is None:
            everyone = np.arange(world.customers.n)
            covered = world.coverage.covering(name, self, everyone)
            responds = world.streams.uniform(f"coverage:{name}", everyone) < self.coverage * self.response
            team.listeners = responds & covered
        return team.listeners

    def _finish(self, world: "World", name: str, team: Team) -> None:
        from . import staff

        due = [a for a in team.open if a.due <= world.t]
        if not due:
            return
        team.open = [a for a in team.open if a.due > world.t]
        chance = self.completion if self.tracked else self.untracked + (self.completion - self.untracked) * staff.drive(world)
        draws = world.streams.uniform(f"actions:{name}", np.array([a.number for a in due]), world.t)
        for action, u in zip(due, draws):
            if u >= chance:
                world.tally["actions_lapsed"] += 1
                continue
            team.done += 1
            world.tally["actions_done"] += 1
            self._fix(world, team, action.touchpoint)
            world.loops.fixes.append((world.t, name, action.touchpoint))
            if self.close_loop:
                self._close_loop(world, action.reporters)

    def _fix(self, world: "World", team: Team, touchpoint: str) -> None:
        level = team.levels.setdefault(touchpoint, list(world.levels[touchpoint]))
        before = list(level)
        if self.fix == "reliability":
            if level[0] < self.ceiling:
                level[0] += self.fix_share * (self.ceiling - level[0])
        else:
            level[1] = min(1.0, level[1] + self.quality_gain)
        if not self.tracked:
            gain = team.unmonitored.setdefault(touchpoint, [0.0, 0.0])
            gain[0] += level[0] - before[0]
            gain[1] += level[1] - before[1]

    def _relapse(self, team: Team) -> None:
        """Untracked fixes lose the share ``relapse`` of their gain (old habits return)."""
        for touchpoint, gain in team.unmonitored.items():
            level = team.levels[touchpoint]
            for k in (0, 1):
                lost = self.relapse * gain[k]
                level[k] -= lost
                gain[k] -= lost

    def _close_loop(self, world: "World", reporters: np.ndarray) -> None:
        """Reporters still customers are told their failure was fixed: they lose ``close_loop`` of their dissatisfaction."""
        from ..state.stages import Stage
        from . import relationship

        c = world.customers
        who = np.unique(reporters)
        who = who[c.stage[who] == Stage.LOYAL]
        if len(who):
            sat = c.satisfaction[who]
            relationship.set_satisfaction(world, who, (sat + self.close_loop * (1.0 - sat)).astype(np.float32), "closed_loop")
            world.tally["loops_closed"] += len(who)

    def _assign(self, world: "World", name: str, team: Team) -> None:
        heard = {k: np.concatenate(v) for k, v in team.heard.items()}
        team.heard = {}
        busy = {a.touchpoint for a in team.open}
        order = self.touchpoints or list(world.pars.touchpoints)
        eligible = [t for t in order if t not in busy]
        chosen = self._worst(world, eligible, heard) if self.targeting == "worst" else self._in_turn(team, order, eligible)
        empty = np.empty(0, dtype=np.int64)
        for t in chosen:
            team.open.append(Action(team.assigned, t, world.t + self.deadline_steps, heard.get(t, empty)))
            team.assigned += 1
            world.tally["actions_assigned"] += 1
            world.costs[name] += self.cost_per_action

    def _worst(self, world: "World", eligible: list[str], heard: dict[str, np.ndarray]) -> list[str]:
        """Up to ``actions`` eligible touchpoints with the most reported failures × weight (none unheard)."""
        score = {t: len(heard.get(t, ())) * world.pars.touchpoints[t].weight for t in eligible}
        return sorted((t for t in eligible if score[t] > 0), key=lambda t: -score[t])[: self.actions]

    def _in_turn(self, team: Team, order: list[str], eligible: list[str]) -> list[str]:
        """Up to ``actions`` eligible touchpoints, taking every touchpoint in turn."""
        chosen: list[str] = []
        for _ in range(len(order)):
            if len(chosen) >= self.actions:
                break
            t = order[team.turn % len(order)]
            team.turn += 1
            if t in eligible:
                chosen.append(t)
        return chosen

assert all(k in CASH_COSTS for cls in REGISTRY.values() for k in getattr(cls, "kinds", ()))
