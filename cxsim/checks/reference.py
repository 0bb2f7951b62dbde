"""The rules of cxsim written the plain Mesa way: the readable reference and the benchmark baseline.

The engine (:mod:`cxsim.rules.journey`, :mod:`cxsim.engine.model`) keeps every customer's
state in numpy arrays and applies each rule to all customers at once; that
makes it fast and hard to read. This module says *the same rules* the way a
Mesa model usually does: one :class:`Customer` (a ``mesa.Agent``) per customer
holding its own state as Python attributes, one method per journey phase with
the rule in plain scalar code, and a :class:`ReferenceModel` (a ``mesa.Model``)
that steps the agents through ``self.agents.do(...)``. It is used

* as the **reference of the rules**: read a method here to know what a customer
  does; :func:`compare` lists every customer (stage, binding reason, stages
  visited, outcome, score to recommend, satisfaction, loyalty, fear, trust, …)
  and every count where engine and reference differ, and
  ``tests/test_reference.py`` requires that list to be empty (same seed → same
  draws → the same customers, to float32 rounding);
* as the **benchmark baseline**: ``benchmarks/engine.py`` times it against the engine.

What it shares with the engine, so both can be compared customer by customer:
the population (``agents.populate``: each customer's drawn values are copied
into agent attributes at start-up), the network (``network.build_network``:
each agent keeps its list of ties) and the named counter-based random streams
(``Streams``: customer ``i``'s draw for a decision depends only on the seed,
the stream name, ``i`` and the counter, so who draws first does not matter).
Scalar draws through numpy are slow; that is fine for a reference.

What it implements, and what it refuses
---------------------------------------
:data:`REFERENCE_RULES` names the rules written here (awareness, screening, the
barrier decision and its binding reason, the cash-shortfall dropout, touchpoints of
every Kano category for all or some segments, service recovery as a new moment
of the episode, the outcome, satisfaction judged by the outcome and the episode's
peak and end touchpoints (duration neglect), the score to recommend with the worst
moment in memory,
recommendations, warnings, reconsideration, loyalty and churn, on a village or
fully mixed network) and :data:`REFERENCE_INTERVENTIONS` the intervention kinds
whose effects it applies. A scenario that needs anything else (:data:`LACKING`: an
installed base and its remembered satisfaction, repeat encounters and contracts
(where memory decays and the living score is asked again), staff morale,
improvement loops and their closed-loop contacts, other intervention kinds) is refused by :class:`ReferenceModel` with a
:class:`~cxsim.state.params.CxError` naming the feature (:func:`lacking`), never run
with other rules.

Where it deliberately follows the engine's ordering
----------------------------------------------------
The engine runs each phase for all customers before the next phase. So one
step here is a sequence of ``agents.do(phase)`` loops, not one ``agent.step()``:

1. interventions active this step (model; running costs billed, scaled by coverage);
2. ``awareness``: hazard += outreach · reach · (1 + Σ boost · covered)
   + word_of_mouth · talking in-ties / in-ties; aware when it reaches the Exp(1) budget;
3. the model raises the global screening hazard, then ``consideration``;
4. ``decide``;  5. ``access`` (and the access and service touchpoints);
6. ``follow_up`` (outcome, satisfaction, score; detractors stop talking);
7. ``recommend``: this step's promoters tell their ties; 8. ``warn``: this
   step's detractors warn theirs (all praise of a step before any warning);
9. ``loyalty`` (loyalty, repeat value, churn); 10. the DataCollector records.

Within a phase no agent reads what another agent writes in that phase (talk
counts change in ``decide``/``access``/``follow_up``/``loyalty`` and are read
only in ``awareness``), so the order of agents inside a phase does not matter:
``ReferenceModel(..., shuffle=True)`` uses ``shuffle_do`` and gives the same run.
The one place where that needs care is hearing recommendations: like the engine,
a customer told by several promoters in one step counts every report (social
proof) but is reassured once that step (fear relief, trust gain, awareness,
reconsideration happen on the first telling; likewise one warning's worth of
fear and distrust per step). Agent attributes are Python floats (the engine uses
float32): feelings, satisfaction, loyalty, fear and trust agree to
:data:`FLOAT_TOLERANCE`; a draw landing within rounding of its threshold could in
principle go the other way, which :func:`compare` would report.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import mesa
import numpy as np

from ..engine.scenario import Scenario
from ..rules.barriers import BARRIERS, CASH_COSTS, REASONS, WAGE_KINDS
from ..rules.emotions import DETRACTOR, PROMOTER
from ..rules.interventions import Effects
from ..rules.journey import STAGES, Stage, loyalty_now
from ..state.agents import populate
from ..state.network import build_network
from ..state.params import CxError
from ..state.randomness import Streams
from ..state.tallies import Tally

UNAWARE, AWARE, OFFERED, ACCEPTED, SERVED, LOYAL, DECLINED, DROPPED, CHURNED = Stage
TALKING = (ACCEPTED, SERVED, LOYAL)
CASH_SPENT = tuple(k for k in CASH_COSTS if k not in WAGE_KINDS and k != "follow_up")
"""Costs paid in cash on the trip to the service (wages forgone empty no purse; follow-up is paid later)."""

REFERENCE_RULES: dict[str, str] = {
    "awareness": "outreach · reach · (1 + Σ boost) + word of mouth · talking share of in-ties, against an Exp(1) budget",
    "screening": "a global screening hazard (raised by camps' screening boost) against an Exp(1) budget",
    "touchpoints": "touchpoints met at their stage (by their segments only, when they name some): works with its "
                   "reliability (after fixes), feeling moves with performance − expectation (carry_over of it kept), "
                   "peak, end and trough kept; the episode's peak and end performances kept",
    "kano": "a touchpoint's Kano category shapes the performance felt: must-be min(p, e), delighter e + (1 − e) p^power",
    "decision": "logistic utility: intercept − Σ barriers (cost, fear, distance, distrust, low need) + social proof",
    "binding_reason": "a decliner's reason is the largest barrier term (first of equals)",
    "cash_shortfall": "at access, a customer whose cash falls short of the cash cost drops out with shortfall_dropout",
    "outcome": "follow-up attended (or at home); good outcome with success + follow_up_success · attended",
    "satisfaction": "expectation-confirmation (confirmed at expectation, losses × loss_aversion) on the judged "
                    "performance: core outcome, peak and end touchpoints weighted core_weight, judge_peak, judge_end "
                    "(duration neglect)",
    "score": "0–10 score: (1 − peak_end) · satisfaction + peak_end · peak-end memory (peak_weight on the peak, "
             "the trough weighing failure_memory)",
    "service_recovery": "a failed touchpoint is put right with its recovery chance (a floor raised by interventions): "
                        "a new moment of the episode felt at recovery_quality (its end, perhaps its peak); the dip "
                        "stays as the trough",
    "recommendations": "promoters (9–10) tell each tie with chance tell: reports, less fear, more trust, awareness",
    "warnings": "detractors (0–6) warn each tie with chance tell: more fear, less trust; they stop talking",
    "reconsideration": "a decliner told by a promoter is offered the service again (journey.reconsider), with chance journey.reconsider_chance",
    "loyalty": "loyalty moves toward satisfaction by learning per step; repeat value per loyal customer",
    "churn": "loyal customers leave at 1 − exp(−churn · (1 − loyalty) · relief)",
    "network": "villages (fixed ties) or fully mixed (ties drawn afresh each telling)",
    "billing": "running costs per step (cost_per_step at full coverage × coverage), fees per use at the billing "
               "phase, cash costs taken over",
}
"""The rules this module implements (what each does, in a line)."""

REFERENCE_INTERVENTIONS = frozenset({
    "free_transport", "free_food_lodging", "free_medicine", "wage_compensation", "free_follow_up",
    "counselling", "outreach_camps", "acquisition", "testimonials", "fix_touchpoint", "retention_program",
    "service_recovery",
})
"""Intervention kinds whose effects the reference applies (cost relief, fear/distrust/distance relief,
latent insight, social reports, outreach and screening boosts, touchpoint fixes and recovery, churn relief)."""

LACKING: dict[str, str] = {
    "installed_base": "an installed base (population.segments.*.customers_at_start > 0)",
    "relationship": "repeat encounters, drifting expectations or contracts ([relationship])",
    "staff_morale": "staff morale moving touchpoint quality (touchpoints.*.staff_effect ≠ 0)",
    "improvement_loops": "improvement loops (intervention kind improvement_loop)",
    "intervention_kind": "intervention kinds other than " + ", ".join(sorted(REFERENCE_INTERVENTIONS)),
}
"""Scenario features the reference does not implement (it refuses scenarios that use them)."""


def lacking(scenario: Scenario) -> str | None:
    """The first feature ``scenario`` uses that the reference lacks, as one line naming it; None if none."""
    for name, seg in scenario.population.segments.items():
        if seg.customers_at_start > 0:
            return f"population.segments.{name}.customers_at_start = {seg.customers_at_start}: {LACKING['installed_base']}"
    if scenario.relationship.active:
        return f"[relationship] is active: {LACKING['relationship']}"
    for name, tp in scenario.touchpoints.items():
        where = f"touchpoints.{name}"
        if tp.staff_effect:
            return f"{where}.staff_effect = {tp.staff_effect}: {LACKING['staff_morale']}"
        if tp.stage == "relationship":
            return f"{where}.stage = 'relationship': {LACKING['relationship']}"
    for name, iv in scenario.interventions.items():
        if not iv.enabled:
            continue
        if iv.kind == "improvement_loop":
            return f"interventions.{name}.kind = 'improvement_loop': {LACKING['improvement_loops']}"
        if iv.kind not in REFERENCE_INTERVENTIONS:
            return f"interventions.{name}.kind = {iv.kind!r}: {LACKING['intervention_kind']}"
    return None


def clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return min(max(x, lo), hi)


@dataclass
class Relief:
    """What the active interventions covering one customer change for them."""

    covering: list = field(default_factory=list)  # (name, intervention, effects) that reach this customer
    cost_share: dict[str, float] = field(default_factory=dict)  # cost kind → share the customer still pays
    fear: float = 1.0  # multiplier on fear
    distrust: float = 1.0  # multiplier on distrust
    distance: float = 1.0  # multiplier on travel hassle
    churn: float = 1.0  # multiplier on the churn hazard
    insight: float = 0.0  # share of latent need made visible
    reports: float = 0.0  # extra good-outcome reports
    at_home: bool = False  # follow-up comes to the village


def kano_rule(category: str, performance: float, expectation: float, delight_power: float) -> float:
    """Performance as the customer feels it, by Kano category (Kano et al. 1984): a *must-be* is only
    felt when it falls short of expectation; a *delighter* is not missed when absent and lifts
    performance above expectation, convexly for powers above 1; a *performance* attribute counts as delivered."""
    if category == "must_be":
        return min(performance, expectation)
    if category == "delighter":
        return expectation + (1.0 - expectation) * max(performance, 0.0) ** delight_power
    return performance


def judged_rule(core: float, core_weight: float, peak_perf: float | None, end_perf: float | None, e) -> float:
    """Judged performance of an episode by duration neglect (Fredrickson & Kahneman 1993): the core
    outcome (weight ``core_weight``) with the performances felt at the episode's most intense moment
    (``judge_peak``) and at its latest touchpoint (``judge_end``), not the number of moments.
    With no touchpoint met, the outcome alone (nan when the outcome weighs nothing)."""
    if end_perf is None:
        return core if core_weight > 0 else math.nan
    total = core_weight * core + e.judge_peak * peak_perf + e.judge_end * end_perf
    return total / max(core_weight + e.judge_peak + e.judge_end, 1e-6)


def satisfaction_rule(performance: float, expectation: float, e) -> float:
    """Expectation-confirmation satisfaction 0–1 (Oliver 1980): ``confirmed`` at expectation, losses
    looming larger (``e``: emotions)."""
    gap = performance - expectation
    return clamp(e.confirmed + e.gain * (gap if gap >= 0 else e.loss_aversion * gap))


def score_rule(satisfaction: float, peak: float, end: float, trough: float, e) -> int:
    """The 0–10 score to recommend: satisfaction blended with the peak-end memory (weight ``peak_end``;
    ``peak_weight`` on the peak, the rest on the end), the worst moment weighing ``failure_memory``
    in that memory (Baumeister et al. 2001)."""
    recalled = e.peak_weight * peak + (1.0 - e.peak_weight) * end  # peak-end rule, −1..1
    if e.failure_memory:
        recalled = clamp(recalled + e.failure_memory * min(trough, 0.0), -1.0, 1.0)
    memory = 0.5 * (recalled + 1.0)  # on 0–1
    return round(10.0 * ((1.0 - e.peak_end) * satisfaction + e.peak_end * memory))


class Customer(mesa.Agent):
    """One customer on the journey; each method is one phase of the step, for this customer."""

    def __init__(self, model: "ReferenceModel", index: int, drawn: dict[str, Any], ledger: dict[str, float]):
        super().__init__(model)
        self.index = index  # the customer's number in the shared population, network and random streams
        # drawn at set-up (same values as the engine's arrays)
        self.segment: int = drawn["segment"]
        self.village: int = drawn["village"]
        self.need: float = drawn["need"]
        self.latent_need: float = drawn["latent_need"]
        self.insight: float = drawn["insight"]
        self.daily_wage: float = drawn["daily_wage"]
        self.cash: float = drawn["cash"]
        self.distance: float = drawn["distance"]
        self.reach: float = drawn["reach"]
        self.expectation: float = drawn["expectation"]
        self.trust: float = drawn["trust"]
        self.fear: float = drawn["fear"]
        self.aware_budget: float = drawn["aware_budget"]
        self.ledger = ledger  # cost kind → what using the service would cost this customer
        # journey
        self.stage = UNAWARE
        self.visited = {UNAWARE}
        self.t_stage = 0
        self.t_due = 0
        self.aware_hazard = 0.0
        self.screen_at = math.inf
        self.decisions = 0
        self.reason: str | None = None
        # feelings and memory
        self.valence = self.peak = self.end = 0.0
        self.trough = 0.0  # the worst feeling so far (−1 to 0)
        self.episode_peak = 0.0  # intensity of the episode's most intense feeling
        self.peak_perf: float | None = None  # performance felt at that moment (None: no touchpoint yet)
        self.end_perf: float | None = None  # performance felt at the episode's latest touchpoint
        self.failures = self.recoveries = 0  # touchpoint failures met, and those put right on the spot
        # outcomes
        self.satisfaction: float | None = None
        self.loyalty: float | None = None
        self.recommend = -1
        self.outcome = -1
        self.followed_up = False
        # social
        self.ties: list[Customer] = []  # the people this customer talks to (set by the model)
        self.talk_count = 0  # people who have this customer among their ties and talk about the service
        self.listened_to_by = 0  # people who have this customer among their ties
        self.referred = False
        self.reports = 0.0
        self.referrals_made = 0
        self.praised_at = -1  # last step a recommendation reassured this customer
        self.warned_at = -1  # last step a warning frightened this customer
        self._covered: dict[str, bool] = {}

    # -- helpers -------------------------------------------------------------------------
    def move(self, stage: Stage) -> None:
        self.stage = stage
        self.visited.add(stage)
        self.t_stage = self.model.steps

    def draw(self, stream: str, counter: int = 0) -> float:
        return self.model.uniform(stream, self.index, counter)

    def is_covered(self, name: str, iv) -> bool:
        """Whether intervention ``name`` reaches this customer (drawn once, from its own stream)."""
        if name not in self._covered:
            eligible = not iv.segments or self.model.pars.segment_names[self.segment] in iv.segments
            self._covered[name] = eligible and self.draw(f"coverage:{name}") < iv.coverage
        return self._covered[name]

    def relief(self) -> Relief:
        """What the interventions active now and covering this customer change for them."""
        r = Relief()
        for name, iv, e in self.model.active:
            if not self.is_covered(name, iv):
                continue
            r.covering.append((name, iv, e))
            for kind, share in e.cost_relief.items():
                r.cost_share[kind] = r.cost_share.get(kind, 1.0) * (1.0 - share)
            r.fear *= 1.0 - e.fear_relief
            r.distrust *= 1.0 - e.distrust_relief
            r.distance *= 1.0 - e.distance_relief
            r.churn *= 1.0 - e.churn_relief
            r.insight += e.latent_insight
            r.reports += e.social_reports
            r.at_home = r.at_home or e.follow_up_at_home
        return r

    def cost_borne(self, relief: Relief, weight: dict[str, float]) -> float:
        """What the customer still bears, cost kinds weighted by ``weight``, after the provider's share."""
        return sum(self.ledger[k] * w * relief.cost_share.get(k, 1.0) for k, w in weight.items())

    def charge_use(self, relief: Relief, stage: str) -> None:
        """Bill each covering intervention for this use: its fee at its billing phase, plus the costs it took over."""
        for name, iv, e in relief.covering:
            bills_here = iv.billing_phase() == stage
            if not bills_here and not (stage == "access" and e.cost_relief):
                continue
            paid = iv.cost_per_use if bills_here else 0.0
            for kind, share in e.cost_relief.items():
                if (kind == "follow_up") == (stage == "follow_up"):
                    paid += share * self.ledger[kind]
            self.model.costs[name] += paid

    def talk(self, sign: int) -> None:
        """Start (+1) or stop (−1) talking about the service to one's ties."""
        if self.model.fully_mixed:
            self.model.talkers += sign
        else:
            for tie in self.ties:
                tie.talk_count += sign

    def talk_share(self) -> float:
        """Share of the people who talk to this customer that are talking about the service
        (villages), or the talking share of everyone (fully mixed)."""
        m = self.model
        if m.fully_mixed:
            return m.talkers / m.n
        return self.talk_count / max(self.listened_to_by, 1)

    def told(self) -> list["Customer"]:
        """The people this customer tells about the service this step (each tie with chance ``tell``)."""
        m = self.model
        t, k = m.steps, m.k
        if m.fully_mixed:  # the people met are drawn afresh each time
            ties = [m.customers[min(int(m.uniform("mixed_ties", self.index * k + j, t) * m.n), m.n - 1)] for j in range(k)]
        else:
            ties = self.ties
        return [tie for j, tie in enumerate(ties) if m.uniform("tell", self.index * k + j, t) < m.pars.referral.tell]

    def feel(self, performance: float, weight: float, touchpoint: bool = True) -> None:
        """A moment of truth: feeling moves with performance against expectation (the share
        ``carry_over`` of the previous feeling carried over); memory keeps peak, end and trough.
        A ``touchpoint`` moment (a touchpoint or a recovery; not the core outcome) also sets the
        episode's end performance, and its peak performance when it is the most intense so far."""
        e = self.model.pars.emotions
        delta = e.reactivity * weight * (performance - self.expectation)
        self.valence = clamp(e.carry_over * self.valence + delta, -1.0, 1.0)
        if abs(self.valence) > abs(self.peak):
            self.peak = self.valence
        self.end = self.valence
        self.trough = min(self.trough, self.valence)
        if touchpoint:
            if self.peak_perf is None or abs(self.valence) > self.episode_peak:
                self.episode_peak, self.peak_perf = abs(self.valence), performance
            self.end_perf = performance

    def recovery_chance(self, name: str, tp) -> float:
        """Chance a failure of touchpoint ``name`` is put right on the spot (a floor raised by interventions)."""
        chance = tp.recovery
        for iv_name, iv, e in self.model.active:
            if name in e.touchpoint_recovery and self.is_covered(iv_name, iv):
                chance = max(chance, e.touchpoint_recovery[name])
        return chance

    def recover(self, name: str, tp) -> None:
        """Service recovery: a failure put right is a new moment of the episode, felt at the
        recovery's performance (it becomes the episode's end, and may be its peak); feeling rises
        again from the dip, and the trough stays."""
        chance = self.recovery_chance(name, tp)
        if chance <= 0 or self.draw(f"recovery:{name}", self.model.steps) >= chance:
            return
        recovered = kano_rule(tp.kano, tp.recovery_quality, self.expectation, self.model.pars.emotions.delight_power)
        self.feel(recovered, tp.weight)
        self.recoveries += 1
        self.model.tally["recoveries"] += 1

    def meet_touchpoints(self, stage: str) -> None:
        m = self.model
        for name, tp in m.touchpoints_by_stage.get(stage, ()):
            if tp.segments and m.pars.segment_names[self.segment] not in tp.segments:
                continue  # a touchpoint of another segment's provider
            reliability, quality = tp.reliability, tp.quality
            for iv_name, iv, e in m.active:  # a fix lifts the touchpoint for the customers it covers
                if (name in e.touchpoint_reliability or name in e.touchpoint_quality) and self.is_covered(iv_name, iv):
                    reliability = max(reliability, e.touchpoint_reliability.get(name, 0.0))
                    quality = min(1.0, quality + e.touchpoint_quality.get(name, 0.0))
            works = self.draw(f"touchpoint:{name}", m.steps) < reliability
            felt = kano_rule(tp.kano, quality if works else tp.failure_quality, self.expectation, m.pars.emotions.delight_power)
            self.feel(felt, tp.weight)
            if tp.fear_effect:
                self.fear = clamp(self.fear + tp.fear_effect)
            if tp.trust_effect:
                self.trust = clamp(self.trust + tp.trust_effect)
            if not works:
                self.failures += 1
                m.tally["failures"] += 1
                self.recover(name, tp)

    def become_aware(self) -> None:
        m = self.model
        self.move(AWARE)
        self.screen_at = m.screen_hazard + m.exponential("screening", self.index)
        self.meet_touchpoints("awareness")

    # -- phases (the model calls each on every agent, in journey order) --------------------
    def awareness(self) -> None:
        if self.stage != UNAWARE:
            return
        m = self.model
        boost = sum(e.outreach_boost for name, iv, e in m.active if e.outreach_boost and self.is_covered(name, iv))
        self.aware_hazard += m.pars.journey.outreach * self.reach * (1.0 + boost) + m.pars.journey.word_of_mouth * self.talk_share()
        if self.aware_hazard >= self.aware_budget:
            self.become_aware()

    def consideration(self) -> None:
        m = self.model
        if self.stage == AWARE and self.screen_at <= m.screen_hazard:
            self.move(OFFERED)
            m.tally["offered"] += 1
            self.meet_touchpoints("consideration")

    def decide(self) -> None:
        """Weigh the perceived need against every barrier; accept with probability logistic(utility)."""
        if self.stage != OFFERED:
            return
        m, d = self.model, self.model.pars.decision
        r = self.relief()
        weight = {k: (d.w_forgone if k in WAGE_KINDS else 1.0) for k in CASH_COSTS}  # mental accounting
        perceived_cost = self.cost_borne(r, weight)
        insight = min(1.0, self.insight + r.insight)
        need = clamp(self.need + self.latent_need * insight)
        terms = {
            "cost": d.w_cost * math.log1p(perceived_cost / (self.daily_wage * d.cost_reference_days)),
            "fear": d.w_fear * self.fear * r.fear,
            "distance": d.w_distance * self.distance * r.distance / 100.0,
            "distrust": d.w_distrust * (1.0 - self.trust) * r.distrust,
            "low_need": d.w_need * (1.0 - need),
        }
        utility = d.intercept - sum(terms.values()) + d.w_social * min(self.reports + r.reports, d.social_cap)
        p = 1.0 / (1.0 + math.exp(-utility))
        yes = self.draw("decision", self.decisions) < p
        self.decisions += 1
        self.charge_use(r, "decision")
        if yes:
            self.move(ACCEPTED)
            m.tally["accepted"] += 1
            m.tally["referral_acceptances"] += self.referred
            self.reason = None
            self.t_due = m.steps + m.pars.journey.access_steps
            self.talk(+1)
        else:
            self.move(DECLINED)
            self.reason = max(BARRIERS, key=terms.__getitem__)  # the binding barrier (first of equals)

    def access(self) -> None:
        """Travel to the service: a cash shortfall may stop the customer; the rest are served."""
        m = self.model
        if self.stage != ACCEPTED or self.t_due > m.steps:
            return
        r = self.relief()
        cash_needed = self.cost_borne(r, {k: 1.0 for k in CASH_SPENT})
        if cash_needed > self.cash and self.draw("shortfall") < m.pars.journey.shortfall_dropout:
            self.move(DROPPED)
            self.reason = "cost"
            self.talk(-1)
            return
        self.charge_use(r, "access")
        m.costs["service"] += m.pars.value.service_cost
        self.meet_touchpoints("access")
        self.meet_touchpoints("service")
        self.move(SERVED)
        m.tally["served"] += 1
        self.t_due = m.steps + m.pars.journey.follow_up_steps

    def follow_up(self) -> None:
        """Follow-up, the core outcome, satisfaction and the score to recommend."""
        m = self.model
        if self.stage != SERVED or self.t_due > m.steps:
            return
        j, e = m.pars.journey, m.pars.emotions
        r = self.relief()
        attend = self.draw("follow_up") < j.follow_up_attendance or r.at_home
        self.followed_up = attend
        if attend:
            self.charge_use(r, "follow_up")
            self.meet_touchpoints("follow_up")
        good = self.draw("outcome") < j.success + j.follow_up_success * attend
        self.outcome = int(good)
        core = 1.0 if good else j.poor_outcome
        self.feel(core, j.core_weight, touchpoint=False)
        m.value_delivered += m.pars.value.per_good_outcome * good
        performance = judged_rule(core, j.core_weight, self.peak_perf, self.end_perf, e)  # outcome, peak and end
        self.satisfaction = satisfaction_rule(performance, self.expectation, e)
        self.recommend = score_rule(self.satisfaction, self.peak, self.end, self.trough, e)
        self.loyalty = m.pars.loyalty.initial
        self.move(LOYAL)
        m.tally["scored"] += 1
        m.tally["good_outcomes"] += good
        m.tally["followed_up"] += attend
        m.tally["promoters"] += self.recommend >= PROMOTER
        m.tally["detractors"] += self.recommend <= DETRACTOR
        m.satisfaction_sum += self.satisfaction
        if self.recommend <= DETRACTOR:
            self.talk(-1)

    def just_scored(self) -> bool:
        return self.stage == LOYAL and self.t_stage == self.model.steps

    def recommend_service(self) -> None:
        """A promoter scored this step tells each tie with chance ``tell``."""
        if not (self.just_scored() and self.recommend >= PROMOTER):
            return
        for tie in self.told():
            self.model.tally["referrals"] += 1
            self.referrals_made += 1
            tie.hear_recommendation()

    def hear_recommendation(self) -> None:
        m, r = self.model, self.model.pars.referral
        self.reports += 1.0
        if self.praised_at == m.steps:  # reassured once a step, however many tell
            return
        self.praised_at = m.steps
        self.fear *= 1.0 - r.fear_relief
        self.trust = min(1.0, self.trust + r.trust_gain)
        if self.stage in (UNAWARE, AWARE, OFFERED):
            self.referred = True
            if self.stage == UNAWARE:
                self.become_aware()
        elif self.stage == DECLINED and m.pars.journey.reconsider and self.reconsiders():
            self.referred = True
            self.move(OFFERED)
            m.tally["reconsiderations"] += 1

    def reconsiders(self) -> bool:
        """A decliner told of a good outcome is offered the service again with chance ``journey.reconsider_chance``
        (one draw per customer and step; none at a chance of 1)."""
        chance = self.model.pars.journey.reconsider_chance
        return chance >= 1.0 or self.model.uniform("reconsider", self.index, self.model.steps) < chance

    def warn(self) -> None:
        """A detractor scored this step warns each tie with chance ``tell``."""
        if not (self.just_scored() and self.recommend <= DETRACTOR):
            return
        for tie in self.told():
            self.model.tally["warnings"] += 1
            tie.hear_warning()

    def hear_warning(self) -> None:
        m, r = self.model, self.model.pars.referral
        if self.warned_at == m.steps:  # frightened once a step, however many warn
            return
        self.warned_at = m.steps
        self.fear = min(1.0, self.fear + r.warn_fear)
        self.trust = max(0.0, self.trust - r.warn_trust)

    def stay_or_leave(self) -> None:
        """Loyalty moves toward satisfaction; repeat value; churn at ``churn · (1 − loyalty)``."""
        m = self.model
        if self.stage != LOYAL:
            return
        lo = m.pars.loyalty
        if m.steps > self.t_stage:
            self.loyalty += lo.learning * (self.satisfaction - self.loyalty)
        m.value_delivered += m.value_per_step[self.segment]
        if lo.churn <= 0:
            return
        r = self.relief()
        hazard = lo.churn * (1.0 - self.loyalty) * r.churn
        gone = self.draw("churn", m.steps) < -math.expm1(-hazard)
        self.charge_use(r, "loyalty")
        if gone:
            self.move(CHURNED)
            self.reason = "dissatisfaction"
            if self.recommend > DETRACTOR:
                self.talk(-1)


class ReferenceModel(mesa.Model):
    """Customers as ``mesa.Agent`` objects, stepped phase by phase with ``agents.do``."""

    def __init__(self, scenario: Scenario, seed: int | None = None, shuffle: bool = False):
        missing = lacking(scenario)
        if missing:
            raise CxError(f"the reference cannot run scenario {scenario.name!r}: {missing}")
        seed = scenario.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        self.pars = scenario
        self.seed = seed
        self.shuffle = shuffle
        self.streams = Streams(seed)
        drawn = populate(scenario, self.streams)  # the engine's population, copied into agents below
        self.n = n = drawn.n
        net = build_network(scenario.network, n, self.streams)
        self.k = scenario.network.ties
        self.fully_mixed = scenario.network.kind == "fully_mixed"
        columns = {name: getattr(drawn, name).tolist() for name in (
            "segment", "need", "latent_need", "insight", "daily_wage", "cash", "distance", "reach",
            "expectation", "trust", "fear", "aware_budget")}
        columns["village"] = net.village.tolist()
        ledger = drawn.full_ledger().tolist()
        self.customers = [
            Customer(self, i, {name: col[i] for name, col in columns.items()}, dict(zip(CASH_COSTS, ledger[i])))
            for i in range(n)
        ]
        if not self.fully_mixed:
            for agent, ties in zip(self.customers, net.ties.tolist()):
                agent.ties = [self.customers[j] for j in ties]
                for tie in agent.ties:
                    tie.listened_to_by += 1
        self.talkers = 0  # fully mixed: customers talking about the service
        self.touchpoints_by_stage: dict[str, list] = defaultdict(list)
        for name, tp in scenario.touchpoints.items():
            self.touchpoints_by_stage[tp.stage].append((name, tp))
        self.value_per_step = [s.value_per_step for s in scenario.population.segments.values()]
        self.active: list[tuple[str, Any, Effects]] = []
        self.screen_hazard = 0.0
        self.tally = Tally()
        self.costs: dict[str, float] = defaultdict(float)
        self.value_delivered = 0.0
        self.satisfaction_sum = 0.0
        self.datacollector = mesa.DataCollector(model_reporters={
            "offered": lambda m: m.tally["offered"],
            "accepted": lambda m: m.tally["accepted"],
            "acceptance_rate": lambda m: m.tally["accepted"] / m.tally["offered"] if m.tally["offered"] else math.nan,
            "served": lambda m: m.tally["served"],
            "referrals": lambda m: m.tally["referrals"],
        })
        self.datacollector.collect(self)

    # -- random draws (the engine's streams, one customer at a time) --------------------------
    def uniform(self, stream: str, who: int, counter: int = 0) -> float:
        return float(self.streams.uniform(stream, np.array([who]), counter)[0])

    def exponential(self, stream: str, who: int, counter: int = 0) -> float:
        return float(self.streams.exponential(stream, np.array([who]), counter)[0])

    # -- one step -------------------------------------------------------------------------------
    def do(self, phase: str) -> None:
        (self.agents.shuffle_do if self.shuffle else self.agents.do)(phase)

    def step(self) -> None:
        t = self.steps  # Mesa counts steps from 1, as the engine's model.t
        self.active = [(name, iv, iv.effects()) for name, iv in self.pars.interventions.items() if iv.active(t)]
        for name, iv, _ in self.active:
            self.costs[name] += iv.cost_per_step * iv.coverage  # running cost at full coverage, for the share covered
        self.do("awareness")
        boost = sum(e.screening_boost * iv.coverage for _, iv, e in self.active)  # camps serve the whole catchment
        self.screen_hazard += self.pars.journey.screening * (1.0 + boost)
        self.do("consideration")
        self.do("decide")
        self.do("access")
        self.do("follow_up")
        self.do("recommend_service")
        self.do("warn")
        self.do("stay_or_leave")
        self.datacollector.collect(self)

    def run(self, steps: int | None = None) -> "ReferenceModel":
        for _ in range(self.pars.steps if steps is None else steps):
            self.step()
        return self

    # -- results --------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        def ratio(a, b):
            return a / b if b else math.nan

        tl = self.tally
        stages = Counter(a.stage for a in self.customers)
        reasons = Counter(a.reason for a in self.customers if a.stage in (DECLINED, DROPPED, CHURNED))  # non-users now
        loyal = [a for a in self.customers if a.stage == LOYAL]
        cost = sum(v for k, v in self.costs.items() if k != "service")
        return {
            "customers": self.n,
            "steps": self.steps,
            "reach": 1.0 - stages[UNAWARE] / self.n,
            "offered": tl["offered"],
            "accepted": tl["accepted"],
            "acceptance_rate": ratio(tl["accepted"], tl["offered"]),
            "served": tl["served"],
            "completion_rate": ratio(tl["served"], tl["offered"]),
            "satisfaction": ratio(self.satisfaction_sum, tl["scored"]),
            "nps": 100 * ratio(tl["promoters"] - tl["detractors"], tl["scored"]),
            "mean_loyalty": ratio(sum(a.loyalty for a in loyal), tl["scored"]),
            "retention": ratio(len(loyal), tl["scored"]),
            "referrals": tl["referrals"],
            "referral_acceptances": tl["referral_acceptances"],
            "intervention_cost": cost,
            "value_delivered": self.value_delivered,
            "return_on_spend": ratio(self.value_delivered, cost),
            "good_outcomes": tl["good_outcomes"],
            "followed_up": tl["followed_up"],
            "warnings": tl["warnings"],
            "reconsiderations": tl["reconsiderations"],
            "stage_counts": {STAGES[s]: stages[s] for s in Stage},
            "dropout_reasons": dict(reasons.most_common()),
        }


def run_reference(scenario: Scenario, seed: int | None = None, shuffle: bool = False) -> dict[str, Any]:
    """Run ``scenario`` once with the pure-Mesa reference; returns its summary (acceptance_rate, offered, …)."""
    return ReferenceModel(scenario, seed, shuffle=shuffle).run().summary()


FLOAT_TOLERANCE = 1e-5
"""Largest difference allowed between the engine's float32 state and the reference's Python floats.

The largest difference measured with the peak-end judgement (every variant of the built-in
scenarios it runs at seeds 1, 29, 58 and 2,000, 5,000, 10,000 customers, Aravind with each other
rule it implements at seeds 19 and 41, and Aravind for 104 steps: 57 runs) is 1.5e-7 (about one
float32 ulp at values near 1; 2.5e-7 under the earlier mean-of-touchpoints judgement); the tolerance
leaves room for longer runs to add rounding, yet a changed rule moves these values by far more.
"""

EXACT = ("stage", "reason", "visited", "outcome", "recommend", "followed_up", "referred", "referrals_made", "decisions",
         "failures", "recoveries")
"""Per-customer entries engine and reference must agree on exactly."""

CLOSE = ("satisfaction", "loyalty", "fear", "trust", "valence", "peak", "end", "trough", "episode_peak", "peak_perf",
         "end_perf", "reports")
"""Per-customer entries they must agree on to :data:`FLOAT_TOLERANCE`."""

COUNTS = ("offered", "accepted", "served", "scored", "referrals", "referral_acceptances", "warnings",
          "reconsiderations", "promoters", "detractors", "good_outcomes", "followed_up", "failures", "recoveries")
"""Run totals they must agree on exactly."""


def reference_state(reference: ReferenceModel) -> dict[str, np.ndarray]:
    """The reference's customers as arrays in the engine's coding (reason codes, visited bits, nan when unset)."""
    agents = reference.customers
    nan = math.nan
    return {
        "stage": np.array([int(a.stage) for a in agents]),
        "reason": np.array([-1 if a.reason is None else REASONS.index(a.reason) for a in agents]),
        "visited": np.array([sum(1 << int(s) for s in a.visited) for a in agents]),
        "outcome": np.array([a.outcome for a in agents]),
        "recommend": np.array([a.recommend for a in agents]),
        "followed_up": np.array([a.followed_up for a in agents]),
        "referred": np.array([a.referred for a in agents]),
        "referrals_made": np.array([a.referrals_made for a in agents]),
        "decisions": np.array([a.decisions for a in agents]),
        "failures": np.array([a.failures for a in agents]),
        "recoveries": np.array([a.recoveries for a in agents]),
        "satisfaction": np.array([nan if a.satisfaction is None else a.satisfaction for a in agents]),
        "loyalty": np.array([nan if a.loyalty is None else a.loyalty for a in agents]),
        "peak_perf": np.array([nan if a.peak_perf is None else a.peak_perf for a in agents]),
        "end_perf": np.array([nan if a.end_perf is None else a.end_perf for a in agents]),
        **{name: np.array([getattr(a, name) for a in agents], dtype=float) for name in ("fear", "trust", "valence", "peak", "end", "trough", "episode_peak", "reports")},
    }


def engine_state(results) -> dict[str, np.ndarray]:
    """The engine's customers (a :class:`cxsim.engine.model.Results`), loyalty as it is now."""
    model = results.model
    c = model.customers
    state = {name: np.asarray(getattr(c, name)) for name in EXACT + CLOSE}
    loyalty = c.loyalty.astype(float)
    loyal = np.flatnonzero(c.stage == LOYAL)
    loyalty[loyal] = loyalty_now(model, loyal)
    state["loyalty"] = loyalty
    return state


def compare(engine_results, reference: ReferenceModel, tolerance: float = FLOAT_TOLERANCE, show: int = 3) -> list[str]:
    """Where the engine's run and the reference's run differ, one line per entry or count that differs.

    Both must have run the same scenario and seed. Per customer: :data:`EXACT` entries
    equal, :data:`CLOSE` entries within ``tolerance`` (unset values, nan, on both sides);
    and the run's :data:`COUNTS`, running costs and value delivered. An empty list means
    they agree customer by customer; each line names the entry, how many customers
    differ and the first ``show`` of them.
    """
    eng, ref = engine_state(engine_results), reference_state(reference)
    n_eng, n_ref = len(eng["stage"]), len(ref["stage"])
    if n_eng != n_ref:
        return [f"customers: engine {n_eng}, reference {n_ref}"]
    out = []
    for name in EXACT + CLOSE:
        a, b = eng[name].astype(float), ref[name].astype(float)
        both_unset = np.isnan(a) & np.isnan(b)
        if name in EXACT:
            bad = ~((a == b) | both_unset)
        else:
            bad = ~((np.abs(a - b) <= tolerance) | both_unset)
        if bad.any():
            who = np.flatnonzero(bad)
            first = ", ".join(f"#{i}: engine {a[i]:.7g}, reference {b[i]:.7g}" for i in who[:show])
            out.append(f"{name}: {len(who)} of {n_eng} customers differ ({first})")
    tally = engine_results.model.tally
    for name in COUNTS:
        if tally[name] != reference.tally[name]:
            out.append(f"{name}: engine {tally[name]}, reference {reference.tally[name]}")
    eng_sum, ref_sum = engine_results.summary, reference.summary()
    for name in ("intervention_cost", "value_delivered"):
        a, b = float(eng_sum[name]), float(ref_sum[name])
        if not math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6):
            out.append(f"{name}: engine {a:.9g}, reference {b:.9g}")
    return out


def largest_float_difference(engine_results, reference: ReferenceModel) -> float:
    """The largest difference over :data:`CLOSE` entries of customers set on both sides (to measure the tolerance)."""
    eng, ref = engine_state(engine_results), reference_state(reference)
    worst = 0.0
    for name in CLOSE:
        d = np.abs(eng[name].astype(float) - ref[name].astype(float))
        d = d[~np.isnan(d)]
        if len(d):
            worst = max(worst, float(d.max()))
    return worst


__all__ = [
    "Customer", "ReferenceModel", "Relief", "run_reference", "compare", "lacking", "largest_float_difference",
    "REFERENCE_RULES", "REFERENCE_INTERVENTIONS", "LACKING", "FLOAT_TOLERANCE", "kano_rule", "judged_rule",
    "satisfaction_rule", "score_rule",
]
