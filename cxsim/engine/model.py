"""The model: a ``mesa.Model`` holding customers as arrays, and ``run()``.

``CxModel(scenario, seed)`` (or ``CxModel(scenario="aravind", seed=3, customers=…)``,
as ``mesa.batch_run`` builds it) draws the population and the network, then each
``step()`` runs the rules' phases of :data:`PHASES` in order until the scenario's
horizon, where ``running`` turns False. The model is the
orchestrator: it holds the run's state as ``model.world`` (a
:class:`cxsim.state.world.World`) and the rules' phases take the world, never the
model; none of them imports this module (``tests/test_layers.py``). A mesa ``DataCollector`` records
the step metrics declared in :mod:`cxsim.readouts.metrics`. ``run(scenario, seed)`` is the
one call the CLI, the app and experiments use; it returns a :class:`Results`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import mesa
import numpy as np
import pandas as pd

from ..readouts import metrics
from ..rules import emotions, feedback, journey, relationship, staff
from ..rules.barriers import REASONS
from ..rules.coverage import Coverage
from ..rules.relief import refresh
from ..state import kernels
from ..state.agenda import Agenda
from ..state.agents import populate
from ..state.network import build_network
from ..state.params import CxError
from ..state.randomness import Streams
from ..state.stages import STAGES, Stage
from ..state.tallies import slices
from ..state.world import World
from .customer import CustomerAgent
from .scenario import Scenario

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

    ``scenario`` is a :class:`~cxsim.engine.scenario.Scenario`, a built-in name or a .toml path;
    ``variant``, ``interventions``, ``overrides``, ``customers`` and ``steps`` change it in
    that order (see :func:`build_scenario`).

    **The seed.** ``seed`` (or Mesa's name for it, ``rng``; an integer in 0 to 2**63 − 1,
    default the scenario's ``seed``) is the one seed of the run: it seeds the named random
    streams the rules draw from (``self.streams``, :mod:`cxsim.state.randomness`) and Mesa's own
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
        self._agents_by_index: dict[int, CustomerAgent] = {}
        self.world = _build_world(scenario, run_seed, track, self.assigned)
        self.plan = plan(self.world)  # the phases this scenario needs, in order
        self.datacollector = metrics.StepRecorder()
        self.datacollector.collect(self)

    def __getattr__(self, name: str) -> Any:
        """The world's fields read as the model's (``model.customers`` is ``model.world.customers``), for readouts
        and user code; the rules receive the world itself."""
        if name != "world" and "world" in self.__dict__:
            return getattr(self.__dict__["world"], name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _WORLD_FIELDS and "world" in self.__dict__:
            setattr(self.world, name, value)
        else:
            super().__setattr__(name, value)

    # -- time --------------------------------------------------------------------------
    @property
    def t(self) -> int:
        return self.steps

    @property
    def horizon(self) -> int:
        """The scenario's number of steps: ``running`` turns False when ``steps`` reaches it."""
        return self.pars.steps

    def step(self) -> None:
        self.world.t = self.steps
        advance(self.world, self.plan)
        self.datacollector.collect(self)
        self.running = self.steps < self.horizon

    def plan_table(self) -> pd.DataFrame:
        """The phases one step runs, in order, as a table (like Starsim's ``sim.loop.plan``)."""
        return plan_table(self.plan)

    def run(self, steps: int | None = None) -> "CxModel":
        """Step ``steps`` times (default: on to the horizon)."""
        for _ in range(self.horizon - self.steps if steps is None else steps):
            self.step()
        return self

    # -- bookkeeping -----------------------------------------------------------------------
    def log(self, ids, stage, what, delta=None, flag=None, labels=("", ""), reasons=None) -> None:
        """Keep the story of tracked customers (see :meth:`cxsim.state.world.World.log`)."""
        self.world.log(ids, stage, what, delta, flag, labels, reasons)

    def events_frame(self) -> pd.DataFrame:
        """Tracked customers' events, in the order they happened."""
        return self.world.events_frame()

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


@dataclass(frozen=True)
class Phase:
    """One phase of a step: its number in docs/model.md §3.3, the rule that runs it (it takes the world) and
    when a run needs it (``needed(world)``; None: always)."""

    number: int
    rule: Callable[[World], None]
    does: str
    needed: Callable[[World], bool] | None = None
    why: str = "always"


PHASES = (
    Phase(1, refresh, "which interventions act; their running costs; outreach rates"),
    Phase(1, staff.update, "staff morale moves toward its set point"),
    Phase(2, journey.awareness, "customers hear of the service"),
    Phase(3, journey.consideration, "screening and the offer"),
    Phase(4, journey.decision, "the decision against the barriers"),
    Phase(5, journey.access, "getting there, then the service"),
    Phase(6, journey.follow_up, "follow-up, the outcome judged"),
    Phase(7, relationship.relationship, "repeat encounters, defection, renewals",
          lambda w: w.pars.relationship.active, "the scenario's [relationship] is active"),
    Phase(8, journey.loyalty, "loyalty, churn, repeat value"),
    Phase(9, feedback.review, "improvement loops' actions done and assigned",
          lambda w: bool(w.loops.teams), "the scenario has an improvement loop"),
)
"""Every phase of a step, in order (docs/model.md §3.3; :mod:`cxsim.rules.journey`'s docstring); each takes the world.
A run keeps those its scenario needs (:func:`plan`); a phase left out would have done nothing."""


def plan(world: World) -> tuple[Phase, ...]:
    """The phases of :data:`PHASES` a run of ``world`` needs, in order (built once, when the model is)."""
    return tuple(p for p in PHASES if p.needed is None or p.needed(world))


def plan_table(phases: tuple[Phase, ...]) -> pd.DataFrame:
    """``phases`` as a table: order, phase number, rule (module.function), what it does and why it runs."""
    return pd.DataFrame({
        "order": range(1, len(phases) + 1),
        "phase": [p.number for p in phases],
        "rule": [f"{p.rule.__module__.rpartition('.')[2]}.{p.rule.__name__}" for p in phases],
        "does": [p.does for p in phases],
        "why": [p.why for p in phases],
    })


def advance(world: World, phases: tuple[Phase, ...] | None = None) -> None:
    """Advance every customer by one step: each phase of ``phases`` (default: the world's :func:`plan`) in turn."""
    for phase in plan(world) if phases is None else phases:
        phase.rule(world)


def _build_world(scenario: Scenario, seed: int, track: int, assigned: dict[str, np.ndarray]) -> World:
    """The world of a run of ``scenario`` with ``seed``: customers, their network, the rules' state, the installed base."""
    streams = Streams(seed)  # every draw of the rules
    n = scenario.population.customers
    net = build_network(scenario.network, n, streams)  # first: its temporaries then fit in less memory
    customers = populate(scenario, streams, shared={"village": net.village})
    counts = np.zeros(len(Stage), dtype=np.int64)
    counts[Stage.UNAWARE] = n
    touchpoints_by_stage: dict[str, list] = defaultdict(list)
    for name, tp in scenario.touchpoints.items():
        touchpoints_by_stage[tp.stage].append((name, tp))
    coverage = Coverage(scenario, customers, streams, assigned)
    world = World(
        pars=scenario, seed=seed, streams=streams, net=net, customers=customers,
        tracked=_tracked(streams, n, min(1.0, track / n)), reasons=REASONS, coverage=coverage,
        feeling=emotions.coefficients(scenario.emotions, scenario.journey),  # the behavioural coefficients the kernels read
        staff=staff.Morale(scenario.staff.morale), loops=feedback.Loops(scenario),
        counts=counts, costs=defaultdict(float),
        aware_rate=np.zeros(n, dtype=np.float32),  # awareness hazard per step: outreach + word of mouth
        value_per_step=np.array([s.value_per_step for s in scenario.population.segments.values()]),
        basket=np.array([s.basket for s in scenario.population.segments.values()]),
        cohorts=np.zeros((scenario.steps + 2, 3)),  # per anchor step: loyal customers, Σ satisfaction, Σ (anchor loyalty − initial)
        loyal_by_segment=np.zeros(len(scenario.population.segments), dtype=np.int64),
        levels={name: [tp.reliability, tp.quality] for name, tp in scenario.touchpoints.items()},  # before any loop's fixes
        touchpoints_by_stage=touchpoints_by_stage,
        touchpoint_segments={
            name: np.isin(np.arange(len(scenario.segment_names)), [scenario.segment_names.index(s) for s in tp.segments])
            for name, tp in scenario.touchpoints.items() if tp.segments
        },
    )
    relationship.seed_installed_base(world)
    return world


_WORLD_FIELDS = frozenset(f.name for f in fields(World))


def _tracked(streams, n: int, share: float) -> np.ndarray:
    """Which customers have their story kept: each with chance ``share`` (drawn a slice at a time)."""
    tracked = np.empty(n, dtype=np.bool_)
    for part in slices(n):
        tracked[part] = streams.uniform("tracking", np.arange(part.start, part.stop)) < share
    return tracked


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

    def __repr__(self) -> str:
        """Plain text for a terminal: scenario, seed, size and the headline numbers (not the model's address)."""
        from ..readouts.metrics import METRICS

        m = self.model
        head = ", ".join(f"{x.name}={self.summary.get(x.name):.4g}" if isinstance(self.summary.get(x.name), (int, float))
                         else f"{x.name}={self.summary.get(x.name)}" for x in METRICS[:4])
        return (f"Results(scenario={m.pars.name!r}, seed={self.seed}, customers={m.pars.population.customers:,}, "
                f"steps={m.pars.steps}; {head})")

    def _repr_html_(self) -> str:
        """Rich display in notebooks: the headline metrics and the funnel (see :func:`cxsim.plot.summary_html`)."""
        from ..plot import summary_html

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


@kernels.register_warm_up
def warm_up(customers: int = 1000) -> None:
    """Run every built-in scenario and variant at ``customers`` for its steps, so that every kernel meets its argument types.

    A thousand customers over a whole scenario reach the paths a big run takes
    (queues that fill, ids that come as int32 from some steps and int64 from
    others); a few hundred over a few steps do not. Registered with
    :func:`cxsim.state.kernels.register_warm_up` (``cxsim compile`` runs it).
    """
    from .scenario import list_scenarios, load_scenario

    for name in list_scenarios():
        sc = load_scenario(name)
        for variant in ("baseline", *sc.variants):
            run(sc.variant(variant).with_overrides({"population.customers": customers}), 1)
