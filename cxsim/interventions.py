"""Interventions: what the provider switches on to lower barriers or lift touchpoints.

Each intervention is a small validated class registered under a key. It says
*when* it acts (``start``/``stop``), *for whom* (``coverage`` of the ``segments``
it is eligible to), *what it costs* (``cost_per_use``, ``cost_per_step``, plus any
cash it takes over from customers), and *what it does*. The engine asks each
active intervention what it changes, and everything one does is found in its
class: :meth:`Intervention.relieve` adds its part to the :class:`cxsim.relief.Relief`
of the customers it covers (cost shares, fear, distrust, churn, …),
:meth:`~Intervention.touchpoint_lift` and :meth:`~Intervention.recovery_floor` say
how it lifts a touchpoint, :meth:`~Intervention.billing_phase` and
:meth:`~Intervention.bill` what it costs where. :class:`Effects` is the same
description as one record (the pure-Mesa reference and the A/B tests read it).

**Coverage means one thing: the share of what the intervention acts on that it
reaches**, so that coverage 0 leaves every result identical to the baseline
(tested for every class in :data:`REGISTRY`, ``tests/test_coverage.py``):

* interventions that act on customers (subsidies, counselling, outreach, fixes,
  recovery, retention, ...): the share of eligible customers covered, drawn once
  per customer from the intervention's own random stream (common random numbers);
* organisation-wide ones say in their docstring what they cover: staff care and
  motivational pushes the share of staff reached (the morale lift or push scales
  with it); an improvement loop the share of customers it serves (their
  experience can reach the team and its fixes reach their touchpoints).

``cost_per_step`` is the running cost at full coverage: a programme pays it in
proportion to its coverage (one that reaches nobody costs nothing);
``cost_per_use`` is paid per covered use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationError, model_validator

from .ledger import CASH_COSTS
from .params import CxError, Params, choices, explain, par, shorten, validating


@dataclass(frozen=True)
class Effects:
    """What an intervention changes for a covered customer (all default to no change)."""

    cost_relief: dict[str, float] = field(default_factory=dict)  # cash-cost kind → share the provider pays
    distance_relief: float = 0.0  # share of travel hassle removed (escorted transport)
    fear_relief: float = 0.0  # share of fear removed before the decision
    distrust_relief: float = 0.0  # share of distrust removed before the decision
    latent_insight: float = 0.0  # share of the hidden (latent) need made visible
    social_reports: float = 0.0  # extra good-outcome reports the customer hears
    outreach_boost: float = 0.0  # relative increase of the outreach hazard
    screening_boost: float = 0.0  # relative increase of the screening hazard
    follow_up_at_home: bool = False  # follow-up comes to the customer (no trip)
    touchpoint_reliability: dict[str, float] = field(default_factory=dict)  # touchpoint → reliability floor
    touchpoint_quality: dict[str, float] = field(default_factory=dict)  # touchpoint → quality added
    churn_relief: float = 0.0  # share of churn hazard removed
    touchpoint_recovery: dict[str, float] = field(default_factory=dict)  # touchpoint → chance a failure is put right (a floor)
    defection_relief: float = 0.0  # share of the chance to leave at a moment of defection removed
    pace: float = 0.0  # share of customers' drifting needs the provider keeps pace with
    morale_lift: float = 0.0  # rise of the staff morale set point while active
    morale_push: float = 0.0  # one-off jump in staff morale when the intervention starts
    renewal_window: int = 0  # acts only on customers whose contract ends within this many steps (0 = any time)
    use_chance: float = 1.0  # chance it acts at each use of a covered customer (drawn per use)
    bill_at: str = ""  # journey phase where cost_per_use is billed, when the effects do not imply it


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

    @model_validator(mode="after")
    def _starts_before_it_stops(self) -> "Intervention":
        if not self.start < self.stop:
            raise ValueError(f"start = {self.start} must be below stop = {self.stop} (it acts in steps start … stop − 1)")
        return self

    def active(self, step: int) -> bool:
        return self.enabled and self.start <= step < self.stop

    def effects(self) -> Effects:
        """What it changes for a covered customer, as one record (see the methods below for the engine's view)."""
        return Effects()

    # -- what it changes, asked by the engine for the customers it reaches (``covered``) ----------
    def cost_relief(self) -> dict[str, float]:
        """Cash-cost kind → share of it the provider takes over (none by default)."""
        return {}

    def relieve(self, relief, covered) -> None:
        """Add what it changes for the ``covered`` customers to ``relief`` (a :class:`cxsim.relief.Relief`)."""
        for kind, share in self.cost_relief().items():
            relief.relieve_cost(kind, covered, share)

    def touchpoint_lift(self, touchpoint: str) -> tuple[float, float] | None:
        """(reliability floor, quality added) at ``touchpoint`` for covered customers; None: it leaves it alone."""
        return None

    def recovery_floor(self, touchpoint: str) -> float | None:
        """Chance a failure of ``touchpoint`` is put right on the spot, as a floor; None: it leaves it alone."""
        return None

    def billing_phase(self) -> str:
        """The journey phase at which ``cost_per_use`` is billed (``none``: never per use)."""
        return "none"

    def outreach_gain(self) -> float:
        """Relative increase of the outreach hazard for covered customers."""
        return 0.0

    def screening_gain(self) -> float:
        """Relative increase of the screening hazard, at full coverage (camps serve the whole catchment)."""
        return 0.0

    def staff_lift(self) -> float:
        """Rise of the staff morale set point while active, at full coverage (coverage: the share of staff reached)."""
        return 0.0

    def staff_push(self) -> float:
        """One-off jump in staff morale when it starts, at full coverage."""
        return 0.0

    def renewal_window(self) -> int:
        """It acts only on customers whose contract ends within this many steps (0: any time)."""
        return 0

    def chance_per_use(self) -> float:
        """Chance it acts at each use of a covered customer (drawn per use)."""
        return 1.0

    def recalls(self) -> bool:
        """At its ``start`` step, it offers the service again to the covered customers who declined."""
        return False

    def bill(self, phase: str, users: int, costs_of) -> float | None:
        """What serving ``users`` covered customers at ``phase`` costs the provider; None: it bills nothing there.

        Its fee at its billing phase, plus the cash it takes over: the follow-up
        trip at follow-up, the other costs at access. ``costs_of(kind)`` gives the
        covered customers' ledger column ``kind``.
        """
        relief = self.cost_relief()
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

    def effects(self) -> Effects:
        return Effects(cost_relief=self.cost_relief())

    def cost_relief(self) -> dict[str, float]:
        return {k: self.subsidy for k in self.kinds}

    def billing_phase(self) -> str:
        return "access"  # billed when the customer travels for the service


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
    """

    def recalls(self) -> bool:
        return True


@register("free_transport", "Free transport to hospital and back")
class FreeTransport(_Subsidy):
    escort: float = par(0.5, 0, 1, "fraction", "share of travel hassle removed by an escorted ride")
    kinds = ("transport",)

    def effects(self) -> Effects:
        return Effects(cost_relief={"transport": self.subsidy}, distance_relief=self.escort)

    def relieve(self, relief, covered) -> None:
        super().relieve(relief, covered)
        relief.reduce("distance", covered, self.escort)


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

    def effects(self) -> Effects:
        return Effects(cost_relief={"follow_up": self.subsidy}, follow_up_at_home=True)

    def relieve(self, relief, covered) -> None:
        super().relieve(relief, covered)
        relief.at_home = relief.at_home | covered

    def billing_phase(self) -> str:
        return "follow_up"


@register("counselling", "Door-to-door counselling")
class Counselling(Intervention):
    fear_relief: float = par(0.2, 0, 1, "fraction", "share of fear removed")
    distrust_relief: float = par(0.1, 0, 1, "fraction", "share of distrust removed")
    latent_insight: float = par(0.1, 0, 1, "fraction", "share of hidden need made visible")

    def effects(self) -> Effects:
        return Effects(fear_relief=self.fear_relief, distrust_relief=self.distrust_relief, latent_insight=self.latent_insight)

    def relieve(self, relief, covered) -> None:
        relief.reduce("fear", covered, self.fear_relief)
        relief.reduce("distrust", covered, self.distrust_relief)
        relief.increase("insight", covered, self.latent_insight)

    def billing_phase(self) -> str:
        return "decision" if self.fear_relief or self.distrust_relief or self.latent_insight else "none"


@register("outreach_camps", "More outreach camps")
class OutreachCamps(Intervention):
    outreach_boost: float = par(1.0, 0, 20, "×", "relative increase in the outreach hazard")
    screening_boost: float = par(0.5, 0, 20, "×", "relative increase in the screening hazard")

    def effects(self) -> Effects:
        return Effects(outreach_boost=self.outreach_boost, screening_boost=self.screening_boost)

    def outreach_gain(self) -> float:
        return self.outreach_boost

    def screening_gain(self) -> float:
        return self.screening_boost


@register("testimonials", "Patient testimonials at camps")
class Testimonials(Intervention):
    reports: float = par(1.0, 0, 10, "reports", "good-outcome reports each customer hears")
    fear_relief: float = par(0.1, 0, 1, "fraction", "share of fear removed")

    def effects(self) -> Effects:
        return Effects(social_reports=self.reports, fear_relief=self.fear_relief)

    def relieve(self, relief, covered) -> None:
        relief.reduce("fear", covered, self.fear_relief)
        relief.increase("reports", covered, self.reports)

    def billing_phase(self) -> str:
        return "decision" if self.reports or self.fear_relief else "none"


@register("fix_touchpoint", "Make touchpoints reliable and better")
class FixTouchpoint(Intervention):
    touchpoints: list[str] = Field(default_factory=list, description="touchpoints fixed")
    reliability: float = par(0.99, 0, 1, "probability", "reliability after the fix (a floor)")
    quality_gain: float = par(0.0, 0, 1, "0–1", "quality added to each fixed touchpoint")

    def effects(self) -> Effects:
        return Effects(
            touchpoint_reliability={t: self.reliability for t in self.touchpoints},
            touchpoint_quality={t: self.quality_gain for t in self.touchpoints},
        )

    def touchpoint_lift(self, touchpoint: str) -> tuple[float, float] | None:
        return (self.reliability, self.quality_gain) if touchpoint in self.touchpoints else None

    def billing_phase(self) -> str:
        return "access" if self.touchpoints else "none"


@register("retention_program", "Proactive engagement of existing customers")
class RetentionProgram(Intervention):
    churn_relief: float = par(0.5, 0, 1, "fraction", "share of churn hazard removed")

    def effects(self) -> Effects:
        return Effects(churn_relief=self.churn_relief)

    def relieve(self, relief, covered) -> None:
        relief.reduce("churn", covered, self.churn_relief)

    def billing_phase(self) -> str:
        return "loyalty" if self.churn_relief else "none"


# -- scenario library: relationship, staff, feedback ---------------------------------------------
@register("acquisition", "Acquisition drive: campaigns and channel partners")
class Acquisition(OutreachCamps):
    """Acquisition effort acts like outreach: more prospects become aware and are offered the service."""


@register("account_management", "Proactive engagement of key accounts")
class AccountManagement(Intervention):
    churn_relief: float = par(0.5, 0, 1, "fraction", "share of the churn hazard removed (issues found and addressed early)")
    pace: float = par(0.8, 0, 1, "fraction", "share of the customer's drifting needs the provider keeps pace with")
    defection_relief: float = par(0.0, 0, 1, "fraction", "share of the chance to leave after a disappointing encounter removed")

    def effects(self) -> Effects:
        return Effects(churn_relief=self.churn_relief, pace=self.pace, defection_relief=self.defection_relief)

    def relieve(self, relief, covered) -> None:
        relief.reduce("churn", covered, self.churn_relief)
        relief.reduce("defection", covered, self.defection_relief)
        relief.increase("pace", covered, self.pace)

    def billing_phase(self) -> str:
        return "loyalty" if self.churn_relief else "none"


@register("service_recovery", "Empower staff to put failures right")
class ServiceRecovery(Intervention):
    touchpoints: list[str] = Field(default_factory=list, description="touchpoints where failures are recovered")
    recovery: float = par(0.9, 0, 1, "probability", "chance a failure is put right on the spot (a floor)")

    def effects(self) -> Effects:
        return Effects(touchpoint_recovery={t: self.recovery for t in self.touchpoints})

    def recovery_floor(self, touchpoint: str) -> float | None:
        return self.recovery if touchpoint in self.touchpoints else None


@register("save_desk", "Anticipate and respond at moments of defection")
class SaveDesk(Intervention):
    touchpoints: list[str] = Field(default_factory=list, description="touchpoints where a failure is a moment of defection the desk responds to")
    recovery: float = par(0.7, 0, 1, "probability", "chance the desk puts the failure right (a floor)")
    defection_relief: float = par(0.5, 0, 1, "fraction", "share of the chance to leave after a disappointing encounter removed")

    def effects(self) -> Effects:
        return Effects(touchpoint_recovery={t: self.recovery for t in self.touchpoints}, defection_relief=self.defection_relief)

    def relieve(self, relief, covered) -> None:
        relief.reduce("defection", covered, self.defection_relief)

    def recovery_floor(self, touchpoint: str) -> float | None:
        return self.recovery if touchpoint in self.touchpoints else None


@register("personal_recommendations", "Personalised recommendations (e.g. an in-store kiosk)")
class PersonalRecommendations(Intervention):
    latent_insight: float = par(0.5, 0, 1, "fraction", "share of the customer's latent need the recommendations make visible")

    def effects(self) -> Effects:
        return Effects(latent_insight=self.latent_insight, bill_at="relationship")

    def relieve(self, relief, covered) -> None:
        relief.increase("insight", covered, self.latent_insight)

    def billing_phase(self) -> str:
        return "relationship"  # billed at each repeat encounter it serves


@register("renewal_delight", "Delight before renewal (e.g. complimentary detailing at service)")
class RenewalDelight(Intervention):
    touchpoints: list[str] = Field(default_factory=list, description="touchpoints lifted (e.g. a detailing delighter at the service appointment)")
    quality_gain: float = par(0.9, 0, 1, "0–1", "quality added to the touchpoints for covered customers")
    window_steps: int = par(6, 0, 1000, "steps", "acts only in this many steps before the contract ends (0 = any time)")
    use_chance: float = par(1.0, 0, 1, "probability", "chance it is given at each encounter of a covered customer (at random)")

    def effects(self) -> Effects:
        return Effects(
            touchpoint_quality={t: self.quality_gain for t in self.touchpoints}, renewal_window=self.window_steps,
            use_chance=self.use_chance, bill_at="relationship",
        )

    def touchpoint_lift(self, touchpoint: str) -> tuple[float, float] | None:
        return (0.0, self.quality_gain) if touchpoint in self.touchpoints else None

    def billing_phase(self) -> str:
        return "relationship"

    def renewal_window(self) -> int:
        return self.window_steps

    def chance_per_use(self) -> float:
        return self.use_chance


@register("staff_care", "Invest in staff: training, recognition, empowerment")
class StaffCare(Intervention):
    """Training, recognition, empowerment. ``coverage`` is the share of staff it reaches: morale (the
    staff's mean) has its set point raised by ``morale_lift · coverage`` while active."""

    morale_lift: float = par(0.2, 0, 1, "0–1", "rise of the staff morale set point while active")

    def effects(self) -> Effects:
        return Effects(morale_lift=self.morale_lift)

    def staff_lift(self) -> float:
        return self.morale_lift


@register("motivational_push", "One-off push: rally, targets, verbatim read-out")
class MotivationalPush(Intervention):
    """A one-off rally. ``coverage`` is the share of staff it reaches: morale jumps by
    ``morale_push · coverage`` when it starts, then fades."""

    morale_push: float = par(0.3, 0, 1, "0–1", "jump in staff morale when the push happens (it then fades)")

    def effects(self) -> Effects:
        return Effects(morale_push=self.morale_push)

    def staff_push(self) -> float:
        return self.morale_push


@register("improvement_loop", "Listen, assign actions, fix touchpoints (closed loop)")
class ImprovementLoop(Intervention):
    """The provider hears about failing touchpoints and acts; see :mod:`cxsim.feedback`.

    ``coverage`` is the share of customers the programme serves (its sites,
    regions or accounts): their failures can reach the team and its fixes reach
    their touchpoints; ``response`` is the share of them whose experience
    reaches the team (a short immediate survey's response rate; 1 = operational
    monitoring of every interaction, an early-warning system). Coverage 0 serves
    nobody: no actions, no fixes, no running cost.
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


assert all(k in CASH_COSTS for cls in REGISTRY.values() for k in getattr(cls, "kinds", ()))
