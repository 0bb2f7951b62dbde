"""Scenarios: the validated description of one world to simulate.

A scenario file (TOML, in ``cxsim/scenarios/`` or anywhere on disk) fills the
parameter groups declared here. Each number has a default, a unit and a range
(see :mod:`cxsim.state.params`); numbers taken from a source say so in the file.
:meth:`Scenario.with_overrides` is the only way the app, the CLI and experiments
change a scenario: dotted paths such as ``population.customers`` or
``interventions.free_transport.coverage``.

Defaults serve programmatic construction and overrides only: a *file* declares every
section of :data:`REQUIRED_SECTIONS` itself, or says ``extends = "aravind"`` (or a
relative ``.toml`` path) and lists what changes (:func:`scenario_table`). Values are
strict and finite; cross-field rules (shares add up to 1, ties, references, variants)
are checked when a scenario is validated, and every error is one :class:`CxError` line.
"""

from __future__ import annotations

import copy
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, SerializeAsAny, ValidationError, field_validator, model_validator

from ..rules.interventions import Intervention, build_intervention, intervention_names
from ..state.ledger import CASH_COSTS
from ..state.params import CxError, Params, choices, explain, flatten, par, path_text, read_toml, reject_nonfinite, shorten, validating

SCENARIO_DIR = Path(__file__).parent.parent / "scenarios"


class Segment(Params):
    """A group of customers sharing means, distance, needs and attitudes (means of distributions)."""

    share: float = par(1.0, 0, 1, "fraction", "share of the population in this segment")
    daily_wage: float = par(5.0, 0.01, 1e7, "currency/day", "median daily wage or income")
    wage_spread: float = par(0.5, 0, 3, "log-sd", "spread of wages (sd of log wage)")
    cash_days: float = par(3.0, 0, 3650, "days of wages", "cash on hand or credit, in days of wages")
    distance_km: float = par(40.0, 0, 5000, "km", "mean distance to the service point")
    need: float = par(0.7, 0, 1, "0–1", "mean overt need: how much the customer feels the problem")
    latent_need: float = par(0.3, 0, 1, "0–1", "mean latent need: benefit the customer does not yet see")
    fear: float = par(0.4, 0, 1, "0–1", "mean fear or anxiety about the service")
    trust: float = par(0.6, 0, 1, "0–1", "mean trust in the provider")
    expectation: float = par(0.6, 0, 1, "0–1", "mean expected performance of the service")
    reach: float = par(1.0, 0, 10, "×", "exposure to outreach relative to the average customer")
    companion: float = par(1.0, 0, 1, "fraction", "share who need a companion to travel")
    works: float = par(1.0, 0, 1, "fraction", "share who lose wages while away")
    value_per_step: float = par(0.0, 0, 1e9, "currency/step", "repeat value while the customer stays loyal")
    basket: float = par(0.0, 0, 1e9, "currency/encounter", "value of each repeat encounter (purchase, visit, payment) while a customer")
    customers_at_start: float = par(0.0, 0, 1, "fraction", "share of the segment already customers at step 0 (an installed base)")
    satisfaction_at_start: float = par(0.7, 0, 1, "0–1", "mean satisfaction (and loyalty) of the installed base at step 0")


SHARE_TOLERANCE = 1e-6
MAX_SEGMENTS = 1000
"""Most segments a population may have (the engine's segment index, ``agents.STATE["segment"]``, holds at least this many: tested)."""


class Population(Params):
    customers: int = par(10_000, 10, 5_000_000, "customers", "number of customers simulated")
    concentration: float = par(8.0, 1, 1000, "beta concentration", "how alike customers of one segment are (higher = more alike)")
    segments: dict[str, Segment] = Field(default_factory=lambda: {"everyone": Segment()}, description=f"named segments (1 to {MAX_SEGMENTS}); their shares add up to 1")

    @field_validator("segments")
    @classmethod
    def _shares_add_up(cls, segments: dict[str, Segment]) -> dict[str, Segment]:
        if not segments:
            raise ValueError("at least one segment is needed")
        if len(segments) > MAX_SEGMENTS:
            raise ValueError(f"{len(segments):,} segments: at most {MAX_SEGMENTS:,} are allowed")
        total = math.fsum(s.share for s in segments.values())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            shares = ", ".join(f"{name}: {seg.share:g}" for name, seg in segments.items())
            raise ValueError(f"shares add up to {total:.6g}, not 1 ({shorten(shares, 60).strip(chr(39))})")
        return segments


class Costs(Params):
    """The hidden costs of using the service, per customer (the barrier ledger's inputs)."""

    price: float = par(0.0, 0, 1e9, "currency", "official price of the service")
    fare_per_km: float = par(0.25, 0, 1e6, "currency/km", "one-way fare per km to the service point")
    food_per_day: float = par(5.0, 0, 1e6, "currency/day", "food per person per day away from home")
    lodging_per_day: float = par(3.0, 0, 1e6, "currency/day", "lodging per person per day away")
    medicine: float = par(25.0, 0, 1e9, "currency", "medicines bought by the customer")
    stay_days: float = par(4.0, 0, 365, "days", "days away from home for the service")
    follow_up_trips: float = par(1.0, 0, 20, "trips", "return trips needed for follow-up")


class Decision(Params):
    """Weights of the accept/decline rule (logistic utility, see barriers.perceived_barriers)."""

    intercept: float = par(4.0, -20, 20, "utility", "utility of the service met with no barriers")
    w_need: float = par(2.0, 0, 20, "utility", "weight of unmet perceived need (low need is a reason to stay away)")
    w_cost: float = par(1.6, 0, 20, "utility per ln(1 + cost / reference)", "weight of out-of-pocket cost relative to means")
    cost_reference_days: float = par(7.0, 0.1, 365, "days of wages", "a cost of this many days' wages feels 'large' (scale of the log cost)")
    w_forgone: float = par(0.35, 0, 1, "× cash", "weight of wages forgone relative to cash spent", "Thaler 1980, mental accounting: opportunity costs are underweighted")
    w_fear: float = par(2.0, 0, 20, "utility", "weight of fear or anxiety")
    w_distance: float = par(0.6, 0, 20, "utility per 100 km", "weight of distance and travel hassle (not its cost)")
    w_distrust: float = par(1.5, 0, 20, "utility", "weight of distrust (1 − trust)")
    w_social: float = par(0.5, 0, 20, "utility per report", "weight of each good-outcome report from a tie")
    social_cap: float = par(3.0, 0, 100, "reports", "reports beyond which social proof adds nothing")


class Touchpoint(Params):
    """A moment of truth: met by every customer passing ``stage`` (of ``segments``, if given).

    Stage ``relationship`` touchpoints are met at each repeat encounter of a
    customer (see :mod:`cxsim.rules.relationship`).
    """

    stage: Literal["awareness", "consideration", "access", "service", "follow_up", "relationship"] = "service"
    quality: float = par(0.7, 0, 1, "0–1", "performance when the touchpoint works")
    reliability: float = par(0.95, 0, 1, "probability", "chance the touchpoint works")
    failure_quality: float = par(0.1, 0, 1, "0–1", "performance when it fails")
    weight: float = par(1.0, 0, 10, "×", "importance in the customer's judgement")
    fear_effect: float = par(0.0, -1, 1, "0–1", "change in fear when met (negative = reassuring)")
    trust_effect: float = par(0.0, -1, 1, "0–1", "change in trust when met")
    kano: Literal["performance", "must_be", "delighter"] = Field(
        "performance",
        description="Kano category: performance (more is better), must_be (only its absence is felt), delighter (only its presence is felt, non-linearly)",
    )
    segments: list[str] = Field(default_factory=list, description="segments who meet this touchpoint (empty = all)")
    recovery: float = par(0.0, 0, 1, "probability", "chance a failure is put right on the spot (service recovery)")
    recovery_quality: float = par(0.8, 0, 1, "0–1", "performance of a recovered failure as the customer judges it")
    staff_effect: float = par(0.0, -1, 1, "0–1 per unit morale", "change in quality per unit of staff morale above its status quo (staffed touchpoints)")


class Journey(Params):
    outreach: float = par(0.05, 0, 5, "per step", "hazard of becoming aware through outreach (eye camps, ads)")
    word_of_mouth: float = par(0.3, 0, 5, "per step", "hazard of becoming aware per share of ties who use the service")
    screening: float = par(0.5, 0, 5, "per step", "hazard that an aware customer is screened and offered the service")
    access_steps: int = par(1, 0, 52, "steps", "steps from accepting to being served")
    follow_up_steps: int = par(4, 0, 104, "steps", "steps from service to follow-up")
    shortfall_dropout: float = par(0.5, 0, 1, "probability", "chance to drop out at access when cash on hand falls short of the cost")
    success: float = par(0.9, 0, 1, "probability", "chance the core service achieves its outcome")
    follow_up_success: float = par(0.06, 0, 1, "probability", "extra success chance when follow-up is attended")
    follow_up_attendance: float = par(0.5, 0, 1, "probability", "chance to attend follow-up that must be travelled to")
    core_weight: float = par(3.0, 0, 20, "×", "weight of the core outcome in judged performance (beside the peak and end touchpoints)")
    poor_outcome: float = par(0.1, 0, 1, "0–1", "performance of a poor core outcome as the customer feels it", "assumption")
    reconsider: bool = Field(True, description="decliners reconsider when a tie recommends the service")
    reconsider_chance: float = par(1.0, 0, 1, "probability", "chance a decliner told by a promoter is offered the service again (with reconsider on)")


class Emotions(Params):
    gain: float = par(1.0, 0, 10, "satisfaction per unit", "satisfaction gained per unit of performance above expectation")
    loss_aversion: float = par(2.0, 1, 10, "×", "losses below expectation weigh this much more than gains", "Kahneman & Tversky 1979")
    peak_end: float = par(0.4, 0, 1, "0–1", "weight of the remembered (peak-end) experience in the score to recommend", "Kahneman et al. 1993")
    reactivity: float = par(0.6, 0, 2, "valence per unit", "how strongly a touchpoint moves valence")
    delight_power: float = par(2.0, 0.2, 10, "exponent", "shape of a delighter's response: above 1 it is convex (little delight until it is really good)", "Kano et al. 1984")
    failure_memory: float = par(0.0, 0, 2, "×", "weight of the worst moment (trough) in the remembered experience", "Baumeister et al. 2001, bad is stronger than good")
    confirmed: float = par(0.7, 0, 1, "0–1", "satisfaction when judged performance exactly meets expectation", "Oliver 1980, expectation-confirmation: confirmation satisfies")
    carry_over: float = par(0.5, 0, 1, "fraction", "share of the previous feeling carried into the next moment", "assumption (emotional inertia: Kuppens et al. 2010)")
    peak_weight: float = par(0.5, 0, 1, "0–1", "weight of the peak in the remembered experience (the end weighs the rest)", "Kahneman et al. 1993; Redelmeier & Kahneman 1996: peak and end weigh about equally")
    memory_decay: float = par(0.3, 0, 1, "per encounter", "share of the remembered intensity of earlier episodes (peak and trough) lost at each new encounter", "assumption (memories of experiences fade and are overwritten by newer ones)")
    judge_peak: float = par(1.0, 0, 20, "×", "weight of the most intense touchpoint's performance in judged performance", "Fredrickson & Kahneman 1993, duration neglect: peak and end, not length; weight an assumption")
    judge_end: float = par(1.0, 0, 20, "×", "weight of the latest touchpoint's performance in judged performance", "Fredrickson & Kahneman 1993, duration neglect: peak and end, not length; weight an assumption")


class Loyalty(Params):
    initial: float = par(0.3, 0, 1, "0–1", "loyalty when first served")
    learning: float = par(0.2, 0, 1, "per step", "speed at which loyalty moves toward satisfaction")
    churn: float = par(0.0, 0, 1, "per step", "churn hazard of a customer with zero loyalty")


class Relationship(Params):
    """After the first service: repeat encounters, drifting needs, contracts (see :mod:`cxsim.rules.relationship`)."""

    encounters: float = par(0.0, 0, 1, "per step", "chance a loyal customer has a repeat encounter in a step (purchase, visit, call, appointment)")
    memory: float = par(0.3, 0, 1, "weight", "weight of the latest encounter in satisfaction (the rest is the satisfaction so far)")
    defection: float = par(0.0, 0, 1, "probability", "chance a customer with zero loyalty leaves right after an encounter below expectation (a moment of defection)")
    expectation_drift: float = par(0.0, -0.05, 0.05, "per step", "change of loyal customers' expectations each step (needs move on, competitors raise the bar)")
    term_steps: int = par(0, 0, 1000, "steps", "contract term (lease, subscription); 0 = no contract")
    lapse: float = par(0.0, 0, 1, "probability", "chance a customer with zero loyalty does not renew at the end of the term")

    @property
    def active(self) -> bool:
        return self.encounters > 0 or self.term_steps > 0 or self.expectation_drift != 0


class Staff(Params):
    """Staff morale, which moves the quality of staffed touchpoints (see :mod:`cxsim.rules.staff`)."""

    morale: float = par(0.6, 0, 1, "0–1", "staff morale at the status quo (its set point with no intervention)")
    adapt: float = par(0.1, 0, 1, "per step", "share of the gap to the set point closed each step (a one-off push fades at this rate)")
    mirror: float = par(0.0, 0, 5, "morale per unit", "rise of the morale set point per unit of customers' satisfaction above confirmation (emotions.confirmed)", "Heskett et al. 1994; Schneider & Bowen 1985 (the satisfaction mirror)")


class Referral(Params):
    tell: float = par(0.5, 0, 1, "probability", "chance a promoter tells each tie, or a detractor warns each tie")
    fear_relief: float = par(0.3, 0, 1, "fraction", "share of fear a recommendation removes")
    trust_gain: float = par(0.2, 0, 1, "0–1", "trust a recommendation adds")
    warn_fear: float = par(0.15, 0, 1, "0–1", "fear a warning adds")
    warn_trust: float = par(0.15, 0, 1, "0–1", "trust a warning removes")


class Network(Params):
    kind: Literal["villages", "fully_mixed"] = "villages"
    ties: int = par(6, 1, 100, "ties", "people each customer talks to")
    village_size: int = par(200, 2, 1_000_000, "customers", "customers per village (ties form within villages)")


class Value(Params):
    per_good_outcome: float = par(1000.0, 0, 1e12, "currency", "value delivered per good outcome")
    service_cost: float = par(0.0, 0, 1e9, "currency", "provider's cost per service delivered")


class Story(Params):
    fact: str = ""
    inside_out: str = ""
    outside_in: str = ""
    what_changed: str = ""
    source: str = ""
    measures: list[str] = Field(default_factory=list, description="numbers `cxsim story` shows (see cxsim.readouts.measures; empty = a standard set)")


class Variant(Params):
    """A named override of the base scenario: its interventions on (all others off), then ``set``."""

    description: str = ""
    interventions: list[str] = Field(default_factory=list)
    set: dict[str, Any] = Field(default_factory=dict, description="dotted paths and values, e.g. \"touchpoints.bill.reliability\" = 0.99")

    @field_validator("set", mode="before")
    @classmethod
    def _dotted(cls, raw: Any) -> Any:
        return flatten(raw) if isinstance(raw, dict) else raw


class Scenario(Params):
    name: str = "custom"
    title: str = ""
    currency: str = "currency"
    steps: int = par(52, 1, 2000, "steps", "simulated steps (weeks unless the scenario says otherwise)")
    step_unit: str = "week"
    seed: int = par(1, 0, 2**63 - 1, "", "default seed")
    story: Story = Field(default_factory=Story)
    population: Population = Field(default_factory=Population)
    costs: Costs = Field(default_factory=Costs)
    decision: Decision = Field(default_factory=Decision)
    journey: Journey = Field(default_factory=Journey)
    touchpoints: dict[str, Touchpoint] = Field(default_factory=dict)
    emotions: Emotions = Field(default_factory=Emotions)
    loyalty: Loyalty = Field(default_factory=Loyalty)
    relationship: Relationship = Field(default_factory=Relationship)
    staff: Staff = Field(default_factory=Staff)
    referral: Referral = Field(default_factory=Referral)
    network: Network = Field(default_factory=Network)
    value: Value = Field(default_factory=Value)
    interventions: dict[str, SerializeAsAny[Intervention]] = Field(default_factory=dict)
    variants: dict[str, Variant] = Field(default_factory=dict)

    @field_validator("interventions", mode="before")
    @classmethod
    def _build_interventions(cls, raw: Any) -> dict[str, Intervention]:
        if not isinstance(raw, dict):
            raise ValueError(f"must be a table of named interventions, e.g. [interventions.free_transport], not {shorten(raw)}")
        return {name: build_intervention(name, spec) for name, spec in raw.items()}

    @model_validator(mode="after")
    def _check_references(self) -> "Scenario":
        segments = self.population.segments
        for name, iv in self.interventions.items():
            _known(f"interventions.{name}.segments", iv.segments, segments, "segments")
            _known(f"interventions.{name}.touchpoints", getattr(iv, "touchpoints", []), self.touchpoints, "touchpoints")
        for name, tp in self.touchpoints.items():
            _known(f"touchpoints.{name}.segments", tp.segments, segments, "segments")
        for vname, variant in self.variants.items():
            if vname == "baseline":
                raise ValueError("variants.baseline: the name 'baseline' is reserved (every intervention off); choose another")
            _known(f"variants.{vname}.interventions", variant.interventions, self.interventions, "interventions")
        self._check_network()
        return self

    def _check_network(self) -> None:
        net, n = self.network, self.population.customers
        if net.kind == "villages" and net.ties >= net.village_size:
            raise ValueError(f"network.ties = {net.ties} must be below network.village_size = {net.village_size} (ties are others in one's village)")
        if net.ties >= n:
            raise ValueError(f"network.ties = {net.ties} must be below population.customers = {n:,} (ties are other customers)")

    # -- derived views -------------------------------------------------------------
    @property
    def segment_names(self) -> list[str]:
        return list(self.population.segments)

    @property
    def enabled_interventions(self) -> list[str]:
        return [n for n, iv in self.interventions.items() if iv.enabled]

    def unread_attributes(self) -> frozenset[str]:
        """Drawn customer attributes that no mechanism of this scenario reads (they need not be drawn).

        Fear, distrust and felt need act only through the decision's weights
        (``decision.w_fear``, ``w_distrust``, ``w_need``); latent need also sets
        the value of repeat encounters (``relationship``). With a weight of 0 the
        attribute changes no result, so every customer holds the segment's mean.
        """
        d, unread = self.decision, set()
        if d.w_fear == 0:
            unread.add("fear")
        if d.w_distrust == 0:
            unread.add("trust")
        if d.w_need == 0 and not self.relationship.active:
            unread |= {"need", "latent_need"}
        return frozenset(unread)

    # -- the one way to change a scenario --------------------------------------------
    def with_overrides(self, overrides: dict[str, Any] | None = None, **kw: Any) -> "Scenario":
        """A new scenario with dotted-path values replaced, e.g. ``{"population.customers": 500}``."""
        if overrides is not None and not isinstance(overrides, dict):
            raise CxError(f"overrides = {shorten(overrides)}: give a mapping of dotted paths to values")
        changes = {**(overrides or {}), **kw}
        data = self.model_dump()
        for path, value in changes.items():
            _set_path(data, path, _plain(value))
        touches_variants = any(path.split(".")[0] == "variants" for path in changes)
        return validate_scenario(data, where=f"scenario {shorten(self.name, 40)}", variants=touches_variants)

    def with_interventions(self, names: list[str] | tuple[str, ...], only: bool = False) -> "Scenario":
        """Switch interventions on by name (``only=True`` switches all others off)."""
        if not isinstance(names, (list, tuple)):
            raise CxError(f"interventions = {shorten(names)}: give a list of intervention names")
        unknown = [n for n in names if not isinstance(n, str) or n not in self.interventions]
        if unknown:
            raise CxError(f"unknown intervention {shorten(unknown[0])} for scenario {self.name!r}: choose from {choices(self.interventions)}")
        changes = {f"interventions.{n}.enabled": (n in names) for n in self.interventions if only or n in names}
        return self.with_overrides(changes)

    def variant(self, name: str) -> "Scenario":
        """The scenario as a named variant describes it (its interventions only)."""
        if name == "baseline":
            return self.with_interventions([], only=True)
        if not isinstance(name, str) or name not in self.variants:
            raise CxError(f"unknown variant {shorten(name)} for scenario {self.name!r}: choose from baseline, {choices(self.variants)}")
        v = self.variants[name]
        try:
            return self.with_interventions(v.interventions, only=True).with_overrides(v.set)
        except CxError as err:
            raise CxError(f"variants.{name}: {_inner(err)}") from None

    def __repr__(self) -> str:
        """A short description (size, structure, what is switched on), not every parameter."""
        on = self.enabled_interventions
        segments, touchpoints = len(self.population.segments), len(self.touchpoints)
        return (f"Scenario({self.name!r}: {self.population.customers:,} customers × {self.steps} {self.step_unit}s, "
                f"{segments} segment{'s' * (segments != 1)}, {touchpoints} touchpoint{'s' * (touchpoints != 1)}; "
                f"interventions on: {', '.join(on) or 'none'} (of {len(self.interventions)}); "
                f"variants: {', '.join(self.variants) or 'none'})")


def _known(path: str, names: list[str], known: dict[str, Any], what: str) -> None:
    for name in names:
        if name not in known:
            raise ValueError(f"{path}: unknown {what[:-1]} {shorten(name)}; {what} are {choices(known)}")


def _inner(err: CxError) -> str:
    """A scenario's message without its "scenario 'name': " prefix."""
    return re.sub(r"^scenario [^:]*: ", "", str(err))


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers (an ``np.int64`` is an integer, not a coercion)."""
    return value.item() if isinstance(value, np.generic) else value

def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    if not isinstance(path, str) or not path:
        raise CxError(f"setting {shorten(path)}: give a dotted path such as 'population.customers'")
    keys = path.split(".")
    node = data
    for i, key in enumerate(keys[:-1]):
        if not isinstance(node, dict) or key not in node:
            known = choices(node) if isinstance(node, dict) else "(nothing: a value)"
            raise CxError(f"unknown setting {shorten(path, 60)}: {shorten('.'.join(keys[: i + 1]), 50)} does not exist (known here: {known})")
        node = node[key]
    if not isinstance(node, dict) or keys[-1] not in node:
        known = choices(node) if isinstance(node, dict) else "(nothing: a value)"
        raise CxError(f"unknown setting {shorten(path, 60)} (known here: {known})")
    node[keys[-1]] = value


def validate_scenario(data: dict[str, Any], where: str = "scenario", variants: bool = True) -> Scenario:
    """Validate a raw mapping into a Scenario, or raise CxError with one line.

    With ``variants`` (the default), every variant is applied and validated too, so a
    bad ``set`` line fails here, naming the variant.
    """
    if not isinstance(data, dict):
        raise CxError(f"{where}: a scenario is a table of sections, not {shorten(data)}")
    reject_nonfinite(data, where)
    try:
        with validating():
            sc = Scenario.model_validate(data)
    except ValidationError as err:
        raise CxError(explain(err, Scenario, where)) from None
    if variants:
        for name in sc.variants:
            try:
                sc.variant(name)
            except CxError as err:
                raise CxError(f"{where}: {_inner(err)}") from None
    return sc


# -- scenario files -------------------------------------------------------------------
REQUIRED_SECTIONS = ("population", "population.segments", "costs", "decision", "journey", "touchpoints", "interventions")
"""What every scenario file declares (itself or through ``extends``): the sections that are behaviour."""

MAY_BE_EMPTY = ("touchpoints", "interventions", "variants")
"""Tables a file may leave empty (an explicit "none"); any other empty table is an error."""

MAX_EXTENDS = 16
"""Longest chain of ``extends`` (a file extending a file extending …)."""


def list_scenarios() -> list[str]:
    """Names of the built-in scenarios."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def scenario_table(raw: dict[str, Any], base: Path, where: str, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A scenario file's table made complete: its ``extends`` chain merged in, every required section checked.

    ``base`` is the folder relative ``extends`` paths start from; ``chain`` the files already
    on the way here (a cycle is refused). The result has no ``extends`` key.
    """
    if not isinstance(raw, dict):
        raise CxError(f"{where}: a scenario is a table of sections, not {shorten(raw)}")
    own = dict(raw)
    parent_ref = own.pop("extends", None)
    if parent_ref is None:
        _check_complete(own, where)
        _check_not_empty(own, where)
        return own
    _check_not_empty(own, where)
    parent_path = _extends_path(parent_ref, base, where)
    if parent_path in chain:
        loop = " → ".join(p.name for p in (*chain, parent_path))
        raise CxError(f"{where}: extends = {shorten(parent_ref)}: a cycle ({shorten(loop, 100)})")
    if len(chain) >= MAX_EXTENDS:
        raise CxError(f"{where}: extends: more than {MAX_EXTENDS} files in a chain")
    parent_raw = _read_cached(parent_path)
    parent = scenario_table(parent_raw, parent_path.parent, parent_path.name, (*chain, parent_path))
    return merge_tables(parent, own)


def merge_tables(parent: dict[str, Any], child: dict[str, Any], path: tuple[str, ...] = ()) -> dict[str, Any]:
    """``child`` laid over ``parent``: tables merge key by key, anything else (numbers, text, lists) is replaced.

    An intervention table whose ``kind`` differs from the parent's replaces it whole.
    """
    out = dict(parent)
    for key, value in child.items():
        old = out.get(key)
        here = (*path, key)
        if isinstance(old, dict) and isinstance(value, dict) and not _changes_kind(here, old, value):
            out[key] = merge_tables(old, value, here)
        else:
            out[key] = value
    return out


def _changes_kind(path: tuple[str, ...], old: dict[str, Any], new: dict[str, Any]) -> bool:
    if len(path) != 2 or path[0] != "interventions":
        return False
    return new.get("kind", old.get("kind", path[1])) != old.get("kind", path[1])


def _extends_path(ref: Any, base: Path, where: str) -> Path:
    """A built-in scenario's file, or a .toml path relative to ``base``."""
    if not isinstance(ref, str) or not ref:
        raise CxError(f"{where}: extends = {shorten(ref)}: give a built-in scenario ({choices(list_scenarios(), 60)}) or a .toml path")
    if not ref.endswith(".toml"):
        if ref not in list_scenarios():
            raise CxError(f"{where}: extends = {shorten(ref)}: unknown built-in scenario; choose from {choices(list_scenarios(), 80)} or a .toml path")
        return (SCENARIO_DIR / f"{ref}.toml").resolve()
    path = Path(path_text(ref, f"{where}: extends"))
    return (path if path.is_absolute() else base / path).resolve()


def _check_complete(raw: dict[str, Any], where: str) -> None:
    for section in REQUIRED_SECTIONS:
        node: Any = raw
        for key in section.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            raise CxError(
                f"{where}: missing section [{section}]: declare it, or write extends = \"aravind\" (a built-in name or a .toml path) "
                "and list only what changes"
            )


def _check_not_empty(raw: dict[str, Any], where: str, path: str = "") -> None:
    """An empty table is what a file cut off after a header looks like: refuse it."""
    for key, value in raw.items():
        here = f"{path}.{key}" if path else str(key)
        if isinstance(value, dict):
            if not value and here not in MAY_BE_EMPTY and not here.endswith(".set"):
                raise CxError(f"{where}: [{shorten(here, 60).strip(chr(39))}] is empty: set its values (or remove it)")
            _check_not_empty(value, where, here)


def looks_like_path(name_or_path: str | Path) -> bool:
    """A path (it has a suffix or a folder part), not a name to look up (``aravind`` is a name even if ./aravind exists)."""
    text = str(name_or_path)
    return bool(Path(text).suffix) or any(sep in text for sep in "/\\")


def _scenario_path(name_or_path: str | Path) -> Path:
    if not isinstance(name_or_path, (str, Path)) or not str(name_or_path):
        raise CxError(f"scenario {shorten(name_or_path)}: give a built-in name ({choices(list_scenarios(), 60)}) or a .toml path")
    path = Path(path_text(name_or_path, "scenario"))
    if not looks_like_path(name_or_path):
        if str(name_or_path) not in list_scenarios():
            raise CxError(f"unknown scenario {shorten(str(name_or_path))}: choose from {choices(list_scenarios(), 100)} or give a .toml path")
        path = SCENARIO_DIR / f"{name_or_path}.toml"
    return path.resolve()


def _read_cached(path: Path) -> dict[str, Any]:
    """A file's TOML table (cached while the file is unchanged; the caller gets its own copy)."""
    try:
        st = path.stat()
        key = (st.st_mtime_ns, st.st_size)
    except OSError:
        key = (0, 0)
    return copy.deepcopy(_read_toml_once(str(path), *key))


@lru_cache(maxsize=128)
def _read_toml_once(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    return read_toml(Path(path), "scenario file")


_VALIDATED: dict[str, Scenario] = {}


def _validated(table: dict[str, Any], where: str) -> Scenario:
    """:func:`validate_file_table`, remembered for the last 64 tables (keyed by their exact repr: 1 and 1.0 differ)."""
    key = repr((where, table))
    sc = _VALIDATED.get(key)
    if sc is None:
        sc = validate_file_table(table, where)
        if len(_VALIDATED) >= 64:
            _VALIDATED.pop(next(iter(_VALIDATED)), None)
        _VALIDATED[key] = sc
    return sc


def validate_file_table(table: dict[str, Any], where: str) -> Scenario:
    """A complete scenario table (as :func:`scenario_table` makes it) validated, variants and story measures included."""
    from ..readouts.measures import check

    sc = validate_scenario(table, where=where)
    try:
        check(sc.story.measures, sc)
    except CxError as err:
        raise CxError(f"{where}: {err}") from None
    return sc


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name, or a scenario file by path (complete, or ``extends`` another)."""
    path = _scenario_path(name_or_path)
    raw = _read_cached(path)
    raw.setdefault("name", path.stem)
    table = scenario_table(raw, path.parent, path.name, (path,))
    return _validated(table, path.name)


def load_table(raw: Any, base: Path, name: str, where: str) -> dict[str, Any]:
    """An inline scenario (e.g. an experiment's ``[scenario]`` table), made complete and checked like a file."""
    if isinstance(raw, dict):
        raw = {"name": name, **raw}
    table = scenario_table(raw, base, where)
    _validated(table, where)
    return table


def scenario_dict(scenario: Scenario) -> dict[str, Any]:
    """A plain, hashable-friendly copy (for caching and manifests)."""
    return copy.deepcopy(scenario.model_dump(mode="json"))


__all__ = [
    "Scenario", "Segment", "Population", "Costs", "Decision", "Touchpoint", "Journey", "Emotions",
    "Loyalty", "Relationship", "Staff", "Referral", "Network", "Value", "Story", "Variant", "load_scenario", "list_scenarios",
    "validate_scenario", "scenario_dict", "scenario_table", "merge_tables", "load_table", "REQUIRED_SECTIONS", "MAX_SEGMENTS",
    "SCENARIO_DIR", "CASH_COSTS", "intervention_names",
]
