"""Scenarios: the validated description of one world to simulate.

A scenario file (TOML, in ``cxsim/scenarios/`` or anywhere on disk) fills the
parameter groups declared here. Each number has a default, a unit and a range
(see :mod:`cxsim.params`); numbers taken from a source say so in the file.
:meth:`Scenario.with_overrides` is the only way the app, the CLI and experiments
change a scenario: dotted paths such as ``population.customers`` or
``interventions.free_transport.coverage``.
"""

from __future__ import annotations

import copy
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SerializeAsAny, ValidationError, field_validator, model_validator

from .barriers import CASH_COSTS
from .interventions import Intervention, build_intervention, intervention_names
from .params import CxError, Params, explain, par

SCENARIO_DIR = Path(__file__).parent / "scenarios"


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


class Population(Params):
    customers: int = par(10_000, 10, 5_000_000, "customers", "number of customers simulated")
    concentration: float = par(8.0, 1, 1000, "beta concentration", "how alike customers of one segment are (higher = more alike)")
    segments: dict[str, Segment] = Field(default_factory=lambda: {"everyone": Segment()})

    @field_validator("segments")
    @classmethod
    def _shares_positive(cls, segments: dict[str, Segment]) -> dict[str, Segment]:
        if not segments:
            raise ValueError("at least one segment is needed")
        if sum(s.share for s in segments.values()) <= 0:
            raise ValueError("segment shares must add up to more than 0")
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
    customer (see :mod:`cxsim.relationship`).
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
    """After the first service: repeat encounters, drifting needs, contracts (see :mod:`cxsim.relationship`)."""

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
    """Staff morale, which moves the quality of staffed touchpoints (see :mod:`cxsim.staff`)."""

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
    measures: list[str] = Field(default_factory=list, description="numbers `cxsim story` shows (see cxsim.measures; empty = a standard set)")


class Variant(Params):
    """A named override of the base scenario."""

    description: str = ""
    interventions: list[str] = Field(default_factory=list)
    set: dict[str, Any] = Field(default_factory=dict)


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
    def _build_interventions(cls, raw: dict[str, Any]) -> dict[str, Intervention]:
        return {name: build_intervention(name, spec) for name, spec in (raw or {}).items()}

    @model_validator(mode="after")
    def _check_references(self) -> "Scenario":
        for name, iv in self.interventions.items():
            for seg in iv.segments:
                if seg not in self.population.segments:
                    raise ValueError(f"intervention {name!r} names unknown segment {seg!r}; segments are {', '.join(self.population.segments)}")
            for tp in getattr(iv, "touchpoints", []):
                if tp not in self.touchpoints:
                    raise ValueError(f"intervention {name!r} names unknown touchpoint {tp!r}; touchpoints are {', '.join(self.touchpoints) or 'none'}")
        for name, tp in self.touchpoints.items():
            for seg in tp.segments:
                if seg not in self.population.segments:
                    raise ValueError(f"touchpoint {name!r} names unknown segment {seg!r}; segments are {', '.join(self.population.segments)}")
        for vname, variant in self.variants.items():
            for iv in variant.interventions:
                if iv not in self.interventions:
                    raise ValueError(f"variant {vname!r} names unknown intervention {iv!r}; this scenario has {', '.join(self.interventions)}")
        return self

    # -- derived views -------------------------------------------------------------
    @property
    def segment_names(self) -> list[str]:
        return list(self.population.segments)

    @property
    def enabled_interventions(self) -> list[str]:
        return [n for n, iv in self.interventions.items() if iv.enabled]

    # -- the one way to change a scenario --------------------------------------------
    def with_overrides(self, overrides: dict[str, Any] | None = None, **kw: Any) -> "Scenario":
        """A new scenario with dotted-path values replaced, e.g. ``{"population.customers": 500}``."""
        data = self.model_dump()
        for path, value in {**(overrides or {}), **kw}.items():
            _set_path(data, path, value)
        return validate_scenario(data, where=f"scenario {self.name!r}")

    def with_interventions(self, names: list[str] | tuple[str, ...], only: bool = False) -> "Scenario":
        """Switch interventions on by name (``only=True`` switches all others off)."""
        unknown = [n for n in names if n not in self.interventions]
        if unknown:
            raise CxError(
                f"unknown intervention {unknown[0]!r} for scenario {self.name!r}: choose from {', '.join(self.interventions) or '(none)'}"
            )
        changes = {f"interventions.{n}.enabled": (n in names) for n in self.interventions if only or n in names}
        return self.with_overrides(changes)

    def variant(self, name: str) -> "Scenario":
        """The scenario as a named variant describes it (its interventions only)."""
        if name == "baseline":
            return self.with_interventions([], only=True)
        if name not in self.variants:
            raise CxError(f"unknown variant {name!r} for scenario {self.name!r}: choose from baseline, {', '.join(self.variants)}")
        v = self.variants[name]
        return self.with_interventions(v.interventions, only=True).with_overrides(v.set)

    def __repr__(self) -> str:
        """A short description (size, structure, what is switched on), not every parameter."""
        on = self.enabled_interventions
        segments, touchpoints = len(self.population.segments), len(self.touchpoints)
        return (f"Scenario({self.name!r}: {self.population.customers:,} customers × {self.steps} {self.step_unit}s, "
                f"{segments} segment{'s' * (segments != 1)}, {touchpoints} touchpoint{'s' * (touchpoints != 1)}; "
                f"interventions on: {', '.join(on) or 'none'} (of {len(self.interventions)}); "
                f"variants: {', '.join(self.variants) or 'none'})")



def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    keys = path.split(".")
    node = data
    for i, key in enumerate(keys[:-1]):
        if not isinstance(node, dict) or key not in node:
            known = ", ".join(node) if isinstance(node, dict) else ""
            raise CxError(f"unknown setting {path!r}: {'.'.join(keys[: i + 1])!r} does not exist (known here: {known})")
        node = node[key]
    if not isinstance(node, dict) or keys[-1] not in node:
        known = ", ".join(node) if isinstance(node, dict) else ""
        raise CxError(f"unknown setting {path!r} (known here: {known})")
    node[keys[-1]] = value


def validate_scenario(data: dict[str, Any], where: str = "scenario") -> Scenario:
    """Validate a raw mapping into a Scenario, or raise CxError with one line."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise CxError(explain(err, Scenario, where)) from None


def list_scenarios() -> list[str]:
    """Names of the built-in scenarios."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


@lru_cache(maxsize=64)
def _load_cached(path: str, mtime: float) -> Scenario:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise CxError(f"{path}: not valid TOML: {err}") from None
    raw.setdefault("name", Path(path).stem)
    return validate_scenario(raw, where=Path(path).name)


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name, or a scenario file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise CxError(f"unknown scenario {str(name_or_path)!r}: choose from {', '.join(list_scenarios())} or give a .toml path")
    if not path.exists():
        raise CxError(f"scenario file {str(path)!r} not found")
    return _load_cached(str(path.resolve()), path.stat().st_mtime)


def scenario_dict(scenario: Scenario) -> dict[str, Any]:
    """A plain, hashable-friendly copy (for caching and manifests)."""
    return copy.deepcopy(scenario.model_dump(mode="json"))


__all__ = [
    "Scenario", "Segment", "Population", "Costs", "Decision", "Touchpoint", "Journey", "Emotions",
    "Loyalty", "Relationship", "Staff", "Referral", "Network", "Value", "Story", "Variant", "load_scenario", "list_scenarios",
    "validate_scenario", "scenario_dict", "SCENARIO_DIR", "CASH_COSTS", "intervention_names",
]
