"""The model: a ``mesa.Model`` holding customers as arrays, and ``run()``.

``CxModel(scenario, seed)`` (or ``CxModel(scenario="aravind", seed=3, customers=…)``,
as ``mesa.batch_run`` builds it) draws the population and the network, then each
``step()`` follows :func:`cxsim.journey.step` until the scenario's horizon, where
``running`` turns False. A mesa ``DataCollector`` records the step metrics declared
in :mod:`cxsim.metrics`. ``run(scenario, seed)`` is the
one call the CLI, the app and experiments use; it returns a :class:`Results`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from copy import copy
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from . import emotions, feedback, journey, metrics, relationship, staff
from .agents import CustomerAgent, populate
from .barriers import CASH_COSTS, REASONS, cost_borne
from .interventions import Effects
from .journey import STAGES, Stage
from .kernels import njit
from .network import build_network
from .params import CxError
from .randomness import Streams
from .scenario import Scenario

_DECISION_EFFECTS = ("fear_relief", "distrust_relief", "latent_insight", "social_reports")


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

    def remaining(self, ledger: np.ndarray, ids: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Weighted cost each of customers ``ids`` still bears after what is relieved."""
        return cost_borne(ledger, ids, weight, self.cost_share)

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


def billing_stage(e: Effects) -> str:
    """The journey phase at which an intervention's per-use cost is incurred."""
    if e.bill_at:
        return e.bill_at
    if e.follow_up_at_home:
        return "follow_up"
    if e.cost_relief or e.touchpoint_reliability or e.touchpoint_quality:
        return "access"
    if any(getattr(e, k) for k in _DECISION_EFFECTS):
        return "decision"
    if e.churn_relief:
        return "loyalty"
    return "none"


MAX_SEED = 2**63 - 1


def check_seed(seed: Any, where: str = "seed") -> int:
    """An integer seed in 0 to 2**63 − 1, else :class:`CxError` with one line."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise CxError(f"{where} = {seed!r}: must be an integer in 0 to {MAX_SEED}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise CxError(f"{where} = {int(seed)}: must be in 0 to {MAX_SEED}")
    return int(seed)


def build_scenario(scenario: Scenario | str | Path, *, variant: str | None = None, interventions: str | list[str] | tuple[str, ...] | None = None,
                   overrides: dict[str, Any] | None = None, customers: int | None = None, steps: int | None = None) -> Scenario:
    """A scenario (object, built-in name or .toml path), then its ``variant``, ``interventions`` switched on,
    ``overrides`` (dotted paths) and the sizes, in that order (the order the CLI applies them)."""
    from .scenario import load_scenario

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if variant:
        sc = sc.variant(variant)
    if interventions:
        sc = sc.with_interventions([interventions] if isinstance(interventions, str) else list(interventions))
    changes = dict(overrides or {})
    if customers is not None:
        changes["population.customers"] = customers
    if steps is not None:
        changes["steps"] = steps
    return sc.with_overrides(changes) if changes else sc


class CxModel(mesa.Model):
    """Customers on a journey toward (or away from) a service.

    Build it from a scenario object, ``CxModel(scenario, seed)``, or from plain keyword
    parameters, as ``mesa.batch_run`` and Mesa's visualisation do::

        CxModel(scenario="aravind", seed=3, customers=2000, steps=20, variant="aravind_1980s",
                interventions=["free_transport"], overrides={"decision.w_fear": 1.5})

    ``scenario`` is a :class:`~cxsim.scenario.Scenario`, a built-in name or a .toml path;
    ``variant``, ``interventions``, ``overrides``, ``customers`` and ``steps`` change it in
    that order (see :func:`build_scenario`).

    **The seed.** ``seed`` (or Mesa's name for it, ``rng``; an integer in 0 to 2**63 − 1,
    default the scenario's ``seed``) is the one seed of the run: it seeds the named random
    streams the rules draw from (``self.streams``, :mod:`cxsim.randomness`) and Mesa's own
    generators ``self.rng`` and ``self.random``. The rules never draw from ``self.rng`` or
    ``self.random``; they are left to user code (e.g. shuffling an ``AgentSet``), so using
    them never changes the simulated customers. Giving both ``seed`` and ``rng`` with
    different values is an error, never a silent choice.

    **Time.** ``running`` turns False once ``steps`` reaches the scenario's horizon
    (``scenario.steps``), so Mesa's ``batch_run`` and visualisation stop there; ``run()``
    steps up to the horizon. ``datacollector`` is a Mesa ``DataCollector`` holding every
    metric and stage count at step 0 and after each step.
    """

    def __init__(self, scenario: Scenario | str | Path, rng: int | None = None, *, customers: int | None = None,
                 steps: int | None = None, variant: str | None = None, interventions: str | list[str] | None = None,
                 overrides: dict[str, Any] | None = None, track: int = 300,
                 assigned: dict[str, np.ndarray] | None = None, **seed_alias: int | None):
        """``assigned`` limits interventions to customers (name → bool per customer), e.g. an A/B test's arm.

        The seed is taken as ``seed=`` (a keyword only) or ``rng`` (keyword or second
        positional): ``seed`` is not a named parameter so that ``mesa.batch_run``, which
        fills in the model's seed parameter from its own ``rng`` argument, leaves a
        ``seed`` given in ``parameters`` alone.
        """
        unknown = sorted(set(seed_alias) - {"seed"})
        if unknown:
            raise CxError(f"CxModel: unknown parameter {unknown[0]!r}: parameters are scenario, seed (or rng), customers, steps, "
                          "variant, interventions, overrides, track, assigned")
        scenario = build_scenario(scenario, variant=variant, interventions=interventions, overrides=overrides,
                                  customers=customers, steps=steps)
        run_seed = _one_seed(seed_alias.get("seed"), rng, scenario.seed)
        self.assigned = dict(assigned or {})
        super().__init__(rng=run_seed)  # Mesa's rng and random: the same seed (not used by the rules)
        self.pars = scenario  # mesa.Model owns `.scenario` (its own experiment object)
        self.seed = run_seed
        self.streams = Streams(run_seed)  # every draw of the rules
        self._agents_by_index: dict[int, CustomerAgent] = {}
        n = scenario.population.customers
        self.net = build_network(scenario.network, n, self.streams)  # first: its temporaries then fit in less memory
        self.customers = populate(scenario, self.streams)
        self.customers.village[:] = self.net.village
        self.counts = np.zeros(len(Stage), dtype=np.int64)
        self.counts[Stage.UNAWARE] = n
        self.tally: Counter[str] = Counter()
        self.costs: dict[str, float] = defaultdict(float)
        self.value_delivered = 0.0
        self.screen_hazard = 0.0
        self.loyalty_sum = 0.0
        self.satisfaction_sum = 0.0
        self.aware_rate = np.zeros(n, dtype=np.float32)  # awareness hazard per step: outreach + word of mouth
        self.value_per_step = np.array([s.value_per_step for s in scenario.population.segments.values()])
        self.touchpoints_by_stage: dict[str, list] = defaultdict(list)
        for name, tp in scenario.touchpoints.items():
            self.touchpoints_by_stage[tp.stage].append((name, tp))
        self.active: list[tuple[str, Any, Effects]] = []
        self._active_key: tuple | None = None
        self._effects = {name: iv.effects() for name, iv in scenario.interventions.items()}  # fixed by their parameters
        self._relief_for_all: Relief | None = None  # while every active intervention covers everyone
        self._coverage: dict[str, np.ndarray] = {}
        self._covers_all: dict[str, bool] = {}
        self._covers_any: dict[str, bool] = {}
        self._agenda: dict[tuple[str, int], list[np.ndarray]] = defaultdict(list)
        self.cohorts = np.zeros((scenario.steps + 2, 3))  # per anchor step: loyal customers, Σ satisfaction, Σ (anchor loyalty − initial)
        self.loyal_by_segment = np.zeros(len(scenario.population.segments), dtype=np.int64)
        self.tracked = self.streams.uniform("tracking", np.arange(n)) < min(1.0, track / n)
        self._events: list[tuple] = []
        self.basket = np.array([s.basket for s in scenario.population.segments.values()])
        self.encounter_value = 0.0
        self.levels = {name: [tp.reliability, tp.quality] for name, tp in scenario.touchpoints.items()}  # before any loop's fixes
        self.touchpoint_segments = {
            name: np.isin(np.arange(len(scenario.segment_names)), [scenario.segment_names.index(s) for s in tp.segments])
            for name, tp in scenario.touchpoints.items() if tp.segments
        }
        self.feeling = emotions.coefficients(scenario.emotions, scenario.journey)  # the behavioural coefficients the kernels read
        self.staff = staff.Morale(scenario.staff.morale)
        self.loops = feedback.Loops(scenario)
        relationship.seed_installed_base(self)
        self.datacollector = metrics.StepRecorder()
        self.datacollector.collect(self)

    # -- time --------------------------------------------------------------------------
    @property
    def t(self) -> int:
        return self.steps

    @property
    def horizon(self) -> int:
        """The scenario's number of steps: ``running`` turns False when ``steps`` reaches it."""
        return self.pars.steps

    def step(self) -> None:
        journey.step(self)
        self.datacollector.collect(self)
        self.running = self.steps < self.horizon

    def run(self, steps: int | None = None) -> "CxModel":
        """Step ``steps`` times (default: on to the horizon)."""
        for _ in range(self.horizon - self.steps if steps is None else steps):
            self.step()
        return self

    # -- interventions -------------------------------------------------------------------
    def covered(self, name: str, iv, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` the intervention reaches (fixed per customer: its own stream)."""
        return self._coverage_mask(name, iv)[ids]

    def _coverage_mask(self, name: str, iv) -> np.ndarray:
        mask = self._coverage.get(name)
        if mask is None:
            everyone = np.arange(self.customers.n)
            mask = self.streams.uniform(f"coverage:{name}", everyone) < iv.coverage
            if iv.segments:
                codes = [self.pars.segment_names.index(s) for s in iv.segments]
                mask &= np.isin(self.customers.segment, codes)
            if name in self.assigned:
                mask &= self.assigned[name]
            self._coverage[name] = mask
            self._covers_all[name] = bool(mask.all())
            self._covers_any[name] = bool(mask.any())
        return mask

    def covers_anyone(self, name: str, iv) -> bool:
        """Whether the intervention reaches at least one customer."""
        self._coverage_mask(name, iv)
        return self._covers_any[name]

    def covering(self, name: str, iv, ids: np.ndarray) -> np.ndarray | bool:
        """Which of ``ids`` the intervention covers (``True`` when it covers everyone)."""
        mask = self._coverage_mask(name, iv)
        return True if self._covers_all[name] else mask[ids]

    def reach(self, name: str, iv, e: Effects, ids: np.ndarray) -> np.ndarray | bool:
        """Which of ``ids`` the intervention acts on now: coverage, its renewal window, its chance per use.

        ``True`` (not an array) when it acts on every one of them, which saves the
        per-customer work for interventions that cover everyone.
        """
        mask = self._coverage_mask(name, iv)
        if self._covers_all[name] and not e.renewal_window and e.use_chance >= 1.0:
            return True
        cov = mask[ids]
        if e.renewal_window:
            cov = cov & relationship.near_renewal(self, ids, e.renewal_window)
        if e.use_chance < 1.0:
            cov = cov & (self.streams.uniform(f"use:{name}", ids, self.t) < e.use_chance)
        return cov

    def schedule(self, phase: str, step: int, ids: np.ndarray) -> None:
        """Book customers ``ids`` for ``phase`` (access, follow_up) at ``step``."""
        if len(ids):
            self._agenda[(phase, step)].append(ids)

    def pop_due(self, phase: str) -> np.ndarray:
        """Customers booked for ``phase`` now (or earlier), in booking order."""
        due = [a for key in [k for k in self._agenda if k[0] == phase and k[1] <= self.t] for a in self._agenda.pop(key)]
        return np.concatenate(due) if due else np.empty(0, dtype=np.int64)

    def refresh_interventions(self) -> None:
        sc = self.pars
        self.active = [(n, iv, self._effects[n]) for n, iv in sc.interventions.items() if iv.active(self.t)]
        for name, iv, _ in self.active:
            self.costs[name] += iv.cost_per_step * iv.coverage  # running cost at full coverage, for the share covered
        key = tuple(n for n, _, _ in self.active)
        if key == self._active_key:
            return
        self._active_key = key
        self._relief_for_all = None
        c = self.customers
        boost = np.zeros(c.n, dtype=np.float32)
        everyone = np.arange(c.n)
        for name, iv, e in self.active:
            if e.outreach_boost:
                boost += e.outreach_boost * self.covered(name, iv, everyone)
        np.multiply(c.reach, np.float32(sc.journey.outreach) * (1.0 + boost), out=self.aware_rate)
        self.aware_rate += c.talk_count * self.net.listen_weight * np.float32(sc.journey.word_of_mouth)

    def relief(self, ids: np.ndarray, stage: str) -> Relief:
        """What the active interventions change for customers ``ids`` at this phase (see :class:`Relief`).

        When every active intervention covers everyone, that is the same for anyone, so it is
        built once (until the active set changes). A Relief is never changed once built.
        """
        if self._relief_for_all is not None:
            r = copy(self._relief_for_all)
            r.n = len(ids)
            return r
        r = self._relief(ids)
        if self.active and all(r.covered.get(name) is True for name, _, _ in self.active):
            self._relief_for_all = r
        return r

    def _relief(self, ids: np.ndarray) -> Relief:
        r = Relief(n=len(ids))
        for name, iv, e in self.active:
            cov = self.reach(name, iv, e, ids)
            if cov is not True and not cov.any():
                continue
            r.covered[name] = cov
            for kind, share in e.cost_relief.items():
                col = CASH_COSTS.index(kind)
                r.cost_share[col] = r.cost_share.get(col, 1.0) * _where(cov, np.float32(1.0 - share), np.float32(1.0))
            for attr, effect in (
                ("fear", e.fear_relief), ("distrust", e.distrust_relief), ("distance", e.distance_relief),
                ("churn", e.churn_relief), ("defection", e.defection_relief),
            ):
                if effect:
                    r.scale(attr, cov, 1.0 - effect)
            if e.pace:
                r.add("pace", cov, np.float32(e.pace))
            if e.latent_insight:
                r.add("insight", cov, np.float32(e.latent_insight))
            if e.social_reports:
                r.add("reports", cov, np.float32(e.social_reports))
            if e.follow_up_at_home:
                r.at_home = r.at_home | cov
        return r

    def charge_use(self, ids: np.ndarray, relief: Relief, stage: str) -> None:
        """Bill the interventions that serve customers ``ids`` at this journey phase."""
        rows = None  # the customers' ledger rows, gathered once
        for name, iv, e in self.active:
            cov = relief.covered.get(name)
            if cov is None or billing_stage(e) != stage and not (stage == "access" and e.cost_relief):
                continue
            users = len(ids) if cov is True else int(np.count_nonzero(cov))
            paid = iv.cost_per_use * users if billing_stage(e) == stage else 0.0
            for kind, share in e.cost_relief.items():
                if (kind == "follow_up") == (stage == "follow_up"):
                    rows = self.customers.ledger[ids] if rows is None else rows
                    costs = rows[:, CASH_COSTS.index(kind)]
                    paid += share * float((costs if cov is True else costs[cov]).sum())
            self.costs[name] += paid

    def touchpoint_levels(self, name: str, tp, ids: np.ndarray):
        """Reliability and quality of touchpoint ``name`` for customers ``ids``.

        The touchpoint's levels (after the fixes of the improvement loops covering
        each customer), its quality moved by staff morale, then the interventions
        covering each customer.
        """
        reliability, quality = feedback.levels(self, name, ids)
        if tp.staff_effect:
            shifted = quality + staff.quality_shift(self, tp)
            quality = min(1.0, max(0.0, shifted)) if np.isscalar(shifted) else np.clip(shifted, 0.0, 1.0)
        for iv_name, iv, e in self.active:
            if name in e.touchpoint_reliability or name in e.touchpoint_quality:
                cov = self.reach(iv_name, iv, e, ids)
                reliability = _where(cov, np.maximum(reliability, e.touchpoint_reliability.get(name, 0.0)), reliability)
                quality = _where(cov, np.minimum(1.0, quality + e.touchpoint_quality.get(name, 0.0)), quality)
        return reliability, quality

    def touchpoint_recovery(self, name: str, tp, ids: np.ndarray):
        """Chance that a failure of touchpoint ``name`` is put right on the spot, for customers ``ids``."""
        chance = tp.recovery
        for iv_name, iv, e in self.active:
            if name in e.touchpoint_recovery:
                cov = self.reach(iv_name, iv, e, ids)
                chance = _where(cov, np.maximum(chance, e.touchpoint_recovery[name]), chance)
        return chance

    # -- bookkeeping -----------------------------------------------------------------------
    def log(self, ids, stage, what, delta=None, flag=None, labels=("", ""), reasons=None) -> None:
        """Keep the story of tracked customers: one event row per customer and moment.

        ``flag`` (bool per customer) picks the note from ``labels`` (false, true);
        ``reasons`` (codes per customer) gives the note as a reason's name.
        Notes are turned into words only when the events are read.
        """
        picked = _tracked_positions(self.tracked, ids)
        if len(picked) == 0:
            return
        who = ids[picked]
        if reasons is not None:
            notes = (REASONS, reasons[picked])
        elif flag is not None:
            notes = (labels, flag[picked].astype(np.int8))
        else:
            notes = None  # (words, codes): worded in events_frame
        change = delta[picked] if delta is not None else None
        c = self.customers
        self._events.append((self.t, who, stage, what, change, c.valence[who], c.fear[who], notes))

    def events_frame(self) -> pd.DataFrame:
        """Tracked customers' events, in the order they happened."""
        cols = ["step", "customer", "stage", "event", "feeling_change", "valence", "fear", "note"]
        if not self._events:
            return pd.DataFrame(columns=cols)
        step, who, stage, what, change, valence, fear, notes = zip(*self._events)
        sizes = [len(w) for w in who]
        return pd.DataFrame({
            "step": np.repeat(step, sizes),
            "customer": np.concatenate(who),
            "stage": np.repeat(stage, sizes),
            "event": np.repeat(what, sizes),
            "feeling_change": np.concatenate([np.zeros(k, dtype=np.float32) if d is None else d for d, k in zip(change, sizes)]).astype(float),
            "valence": np.concatenate(valence).astype(float),
            "fear": np.concatenate(fear).astype(float),
            "note": np.concatenate([np.full(k, "", dtype=object) if n is None else np.asarray(n[0], dtype=object)[n[1]]
                                    for n, k in zip(notes, sizes)]).astype(str),
        }, columns=cols)

    def customer(self, index: int) -> CustomerAgent:
        """A Mesa agent viewing one customer (to inspect or tell their story)."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < self.customers.n:
            raise CxError(f"customer = {index}: must be in 0 to {self.customers.n - 1}")
        agent = self._agents_by_index.get(index)
        if agent is None:  # registered with Mesa once, on first use
            agent = self._agents_by_index[index] = CustomerAgent(self, index)
        return agent

    def stage_of(self, index: int) -> str:
        return STAGES[self.customers.stage[index]]


def _one_seed(seed: Any, rng: Any, default: int) -> int:
    """The run's seed from ``seed`` and ``rng`` (either, or both if equal; neither: ``default``)."""
    if seed is not None and rng is not None and check_seed(seed) != check_seed(rng, "rng"):
        raise CxError(f"seed = {seed} and rng = {rng}: give one seed (seed or rng), not two different ones")
    if seed is not None:
        return check_seed(seed)
    return check_seed(rng, "rng") if rng is not None else check_seed(default, "scenario seed")


@njit(cache=True)
def _tracked_positions(tracked, ids):
    """Positions in ``ids`` of the tracked customers."""
    out = np.empty(len(ids), dtype=np.int64)
    k = 0
    for j in range(len(ids)):
        if tracked[ids[j]]:
            out[k] = j
            k += 1
    return out[:k]


@dataclass
class Results:
    """Everything one run produced; tables are built on first use."""

    model: CxModel

    @property
    def scenario(self) -> Scenario:
        return self.model.pars

    @property
    def seed(self) -> int:
        return self.model.seed

    @cached_property
    def summary(self) -> dict[str, Any]:
        return metrics.summarize(self.model)

    @cached_property
    def timeseries(self) -> pd.DataFrame:
        df = self.model.datacollector.get_model_vars_dataframe()
        df.index.name = "step"
        return df.reset_index()

    @cached_property
    def customers(self) -> pd.DataFrame:
        return metrics.customer_table(self.model)

    @cached_property
    def events(self) -> pd.DataFrame:
        return self.model.events_frame()

    @cached_property
    def funnel(self) -> pd.DataFrame:
        return metrics.funnel(self.model)

    @cached_property
    def dropouts(self) -> pd.DataFrame:
        return metrics.dropout_table(self.model)

    def _repr_html_(self) -> str:
        """Rich display in notebooks: the headline metrics and the funnel (see :func:`cxsim.plot.summary_html`)."""
        from .plot import summary_html

        return summary_html(self)


def run(scenario: Scenario, seed: int | None = None, *, customers: int | None = None, steps: int | None = None, track: int = 300) -> Results:
    """Run ``scenario`` once; ``customers``/``steps`` override the scenario's."""
    changes: dict[str, Any] = {}
    if customers is not None:
        changes["population.customers"] = customers
    if steps is not None:
        changes["steps"] = steps
    if changes:
        scenario = scenario.with_overrides(changes)
    model = CxModel(scenario, seed=seed, track=track)
    return Results(model.run())
