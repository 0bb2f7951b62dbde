"""The rules of cxsim written the plain Mesa way: the readable reference and the benchmark baseline.

The engine (:mod:`cxsim.journey`, :mod:`cxsim.model`) keeps every customer's
state in numpy arrays and applies each rule to all customers at once; that
makes it fast and hard to read. This module says *the same rules* the way a
Mesa model usually does: one :class:`Customer` (a ``mesa.Agent``) per customer
holding its own state as Python attributes, one method per journey phase with
the rule in plain scalar code, and a :class:`ReferenceModel` (a ``mesa.Model``)
that steps the agents through ``self.agents.do(...)``. It is used

* as the **reference of the rules**: read a method here to know what a customer
  does; ``tests/test_reference.py`` checks that the engine gives the same
  acceptance (same seed → same draws → the same customers accept);
* as the **benchmark baseline**: ``benchmarks/engine.py`` times it against the engine.

What it shares with the engine, so both can be compared customer by customer:
the population (``agents.populate``: each customer's drawn values are copied
into agent attributes at start-up), the network (``network.build_network``:
each agent keeps its list of ties) and the named counter-based random streams
(``Streams``: customer ``i``'s draw for a decision depends only on the seed,
the stream name, ``i`` and the counter, so who draws first does not matter).
Scalar draws through numpy are slow; that is fine for a reference.

Where it deliberately follows the engine's ordering
----------------------------------------------------
The engine runs each phase for all customers before the next phase. So one
step here is a sequence of ``agents.do(phase)`` loops, not one ``agent.step()``:

1. interventions active this step (model; running costs billed);
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
float32), so a rare draw that lands within rounding of its threshold may go
the other way.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import mesa
import numpy as np

from .agents import populate
from .barriers import BARRIERS, CASH_COSTS, WAGE_KINDS
from .emotions import DETRACTOR, PROMOTER
from .interventions import Effects
from .journey import STAGES, Stage
from .model import billing_stage
from .network import build_network
from .randomness import Streams
from .scenario import Scenario

UNAWARE, AWARE, OFFERED, ACCEPTED, SERVED, LOYAL, DECLINED, DROPPED, CHURNED = Stage
TALKING = (ACCEPTED, SERVED, LOYAL)
CASH_SPENT = tuple(k for k in CASH_COSTS if k not in WAGE_KINDS and k != "follow_up")
"""Costs paid in cash on the trip to the service (wages forgone empty no purse; follow-up is paid later)."""


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
        self.trough = 0.0
        self.episode_peak = 0.0  # intensity of the episode's most intense feeling
        self.peak_perf: float | None = None  # performance felt then
        self.end_perf: float | None = None  # performance felt at the latest touchpoint
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
            bills_here = billing_stage(e) == stage
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
        """A moment of truth: feeling moves with performance against expectation; memory keeps peak, end and trough.

        A touchpoint (not the core outcome) also sets the episode's peak and end performances.
        """
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

    def meet_touchpoints(self, stage: str) -> None:
        m = self.model
        for name, tp in m.touchpoints_by_stage.get(stage, ()):
            reliability, quality = tp.reliability, tp.quality
            for iv_name, iv, e in m.active:  # a fix lifts the touchpoint for the customers it covers
                if (name in e.touchpoint_reliability or name in e.touchpoint_quality) and self.is_covered(iv_name, iv):
                    reliability = max(reliability, e.touchpoint_reliability.get(name, 0.0))
                    quality = min(1.0, quality + e.touchpoint_quality.get(name, 0.0))
            works = self.draw(f"touchpoint:{name}", m.steps) < reliability
            self.feel(quality if works else tp.failure_quality, tp.weight)
            if tp.fear_effect:
                self.fear = clamp(self.fear + tp.fear_effect)
            if tp.trust_effect:
                self.trust = clamp(self.trust + tp.trust_effect)

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
        performance = core  # judged by the outcome, the peak and the end (duration neglect)
        if self.end_perf is not None:
            total = j.core_weight * core + e.judge_peak * self.peak_perf + e.judge_end * self.end_perf
            performance = total / max(j.core_weight + e.judge_peak + e.judge_end, 1e-6)
        gap = performance - self.expectation  # expectation-confirmation, losses loom larger
        self.satisfaction = clamp(e.confirmed + e.gain * (gap if gap >= 0 else e.loss_aversion * gap))
        recalled = e.peak_weight * self.peak + (1.0 - e.peak_weight) * self.end  # peak-end rule
        if e.failure_memory:
            recalled = clamp(recalled + e.failure_memory * min(self.trough, 0.0), -1.0, 1.0)
        memory = 0.5 * (recalled + 1.0)  # on 0–1
        self.recommend = round(10.0 * ((1.0 - e.peak_end) * self.satisfaction + e.peak_end * memory))
        self.loyalty = m.pars.loyalty.initial
        self.move(LOYAL)
        m.tally["scored"] += 1
        m.tally["good_outcomes"] += good
        m.tally["followed_up"] += attend
        m.tally["promoters"] += self.recommend >= PROMOTER
        m.tally["detractors"] += self.recommend <= DETRACTOR
        m.satisfaction_sum += self.satisfaction
        if self.recommend <= 6:
            self.talk(-1)

    def just_scored(self) -> bool:
        return self.stage == LOYAL and self.t_stage == self.model.steps

    def recommend_service(self) -> None:
        """A promoter scored this step tells each tie with chance ``tell``."""
        if not (self.just_scored() and self.recommend >= 9):
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
        elif self.stage == DECLINED and m.pars.journey.reconsider:
            self.referred = True
            self.move(OFFERED)
            m.tally["reconsiderations"] += 1

    def warn(self) -> None:
        """A detractor scored this step warns each tie with chance ``tell``."""
        if not (self.just_scored() and self.recommend <= 6):
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
            if self.recommend > 6:
                self.talk(-1)


class ReferenceModel(mesa.Model):
    """Customers as ``mesa.Agent`` objects, stepped phase by phase with ``agents.do``."""

    def __init__(self, scenario: Scenario, seed: int | None = None, shuffle: bool = False):
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
        ledger = drawn.ledger.tolist()
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
        self.tally: Counter[str] = Counter()
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


__all__ = ["Customer", "ReferenceModel", "Relief", "run_reference"]
