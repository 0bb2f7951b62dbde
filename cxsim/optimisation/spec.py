"""The optimisation file: levers, objectives, constraints, sizes — validated strictly, one line per error.

    title = "Aravind: acceptance against cost"
    customers = 10000
    seeds = 5                      # search seeds (every plan runs on the same ones)
    trials = 200
    budget = 500000                # the budget a plan is recommended for

    [levers.free_transport]        # may be used (optional = false: always used)
    subsidy = [0.5, 1.0]           # searched range; a number fixes the field
    coverage = { low = 0.25, high = 1.0, step = 0.25 }

    [objectives]
    acceptance_rate = "maximise"
    intervention_cost = "minimise"

    constraints = ["intervention_cost <= budget", "cost_per_accepted <= 600"]

A lever's fields are any numeric field of its intervention (coverage, subsidy, start,
stop, cost_per_use, an intervention's own effect sizes). Objectives and constraints
name any measure :func:`cxsim.readouts.measures.measure` knows (a metric, an end-of-run measure
or ``NAME@GROUP``) or ``cost_per_accepted`` (intervention cost ÷ accepted customers).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from ..engine.scenario import Scenario
from ..readouts.measures import GROUP_MEASURES, GROUPS, MEASURES
from ..readouts.metrics import METRIC_BY_NAME
from ..rules.interventions import REGISTRY
from ..state.params import CxError, Params, explain, field_info, find_named_file, par, read_toml, reject_nonfinite

OPTIMISATION_DIR = Path(__file__).resolve().parent / "library"
"""The ready-made optimisation files, shipped in the package (``cxsim/optimisation/library/*.toml``)."""
DERIVED = {"cost_per_accepted": "intervention cost per accepted customer"}
"""Quantities computed from two measures of the same run."""
RESERVED = {"optional"}
MAXIMISE = {"maximise", "maximize", "max"}
MINIMISE = {"minimise", "minimize", "min"}
Sense = Literal["maximise", "maximize", "max", "minimise", "minimize", "min"]


class SearchFile(Params):
    """The optimisation file as written (levers are checked against the scenario afterwards)."""

    title: str = ""
    description: str = ""
    scenario: str = Field("", description="the scenario this file is written for (checked when given)")
    variant: str = Field("baseline", description="the world plans are added to (its interventions stay as they are unless levers)")
    customers: int | None = par(None, 10, 5_000_000, "customers", "customers per run (default: the scenario's)")
    steps: int | None = par(None, 1, 2000, "steps", "horizon (default: the scenario's)")
    seed: int = par(1, 0, 2**31, "", "first search seed")
    seeds: int = par(5, 2, 1000, "runs", "search seeds: every plan runs on the same ones (common random numbers)")
    fresh_seeds: int = par(10, 2, 1000, "runs", "seeds, not used in the search, on which the top plans are re-evaluated")
    top: int = par(5, 2, 50, "plans", "plans re-evaluated on fresh seeds (the recommended plan and those next to it)")
    trials: int = par(100, 1, 100_000, "trials", "plans the search evaluates")
    sampler_seed: int = par(1, 0, 2**31, "", "seed of the sampler")
    population: int = par(20, 2, 1000, "plans", "NSGA-II population per generation (several objectives)")
    startup_trials: int = par(10, 1, 10_000, "trials", "random trials before TPE models the objective (one objective)")
    budget: float | None = par(None, 0, 1e15, "currency", "budget the plan is recommended for (and 'budget' in constraints)")
    levers: dict[str, dict[str, Any]] = Field(description="interventions the search may use, with ranges of their fields")
    objectives: dict[str, Sense] = Field(description="measure → maximise or minimise (the first is the primary)")
    constraints: list[str] = Field(default_factory=list, description="e.g. 'intervention_cost <= budget'")
    compare: list[str] = Field(default_factory=list, description="named variants placed against the frontier (is the package on it?)")

    @field_validator("levers", "objectives")
    @classmethod
    def _not_empty(cls, value: dict) -> dict:
        if not value:
            raise ValueError("at least one is needed")
        return value


@dataclass(frozen=True)
class Dimension:
    """One searched (or fixed) field of a lever."""

    lever: str
    field: str
    low: float
    high: float
    step: float | None = None
    log: bool = False
    integer: bool = False

    @property
    def name(self) -> str:
        return f"{self.lever}.{self.field}"

    @property
    def fixed(self) -> bool:
        return self.low == self.high

    def distribution(self):
        from optuna.distributions import FloatDistribution, IntDistribution

        if self.integer:
            return IntDistribution(int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return FloatDistribution(self.low, self.high, step=self.step, log=self.log)


@dataclass(frozen=True)
class Lever:
    name: str
    optional: bool
    dimensions: tuple[Dimension, ...]


@dataclass(frozen=True)
class Objective:
    name: str
    maximise: bool

    @property
    def direction(self) -> str:
        return "maximize" if self.maximise else "minimize"

    @property
    def arrow(self) -> str:
        return "↑" if self.maximise else "↓"


@dataclass(frozen=True)
class Constraint:
    text: str
    name: str
    upper: bool  # name <= bound (else name >= bound)
    bound: float
    uses_budget: bool = False

    def violation(self, value: float) -> float:
        """Optuna's convention: ≤ 0 is feasible; an undefined value (NaN) is infeasible."""
        if value is None or math.isnan(value):
            return abs(self.bound) + 1.0
        return value - self.bound if self.upper else self.bound - value


@dataclass(frozen=True)
class Spec:
    file: SearchFile
    levers: tuple[Lever, ...]
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    budget: float | None
    source: Path | None = None
    draws: tuple[dict[str, float], ...] = ()
    """Posterior draws every plan is evaluated on (each on the search seeds); empty: seeds only."""
    fresh_draws: tuple[dict[str, float], ...] = ()
    """Draws the search never saw, for the fresh check."""
    uncertainty: str = ""
    """Which uncertainty the plans' numbers carry, in words (:func:`cxsim.ensemble.uncertainty_caption`)."""

    @property
    def dimensions(self) -> list[Dimension]:
        return [d for lv in self.levers for d in lv.dimensions if not d.fixed]

    @property
    def quantities(self) -> list[str]:
        """Every number a run must report: objectives, constraints, cost and accepted customers."""
        names = [o.name for o in self.objectives] + [c.name for c in self.constraints] + ["intervention_cost", "accepted", "acceptance_rate"]
        return list(dict.fromkeys(names))

    @property
    def primary(self) -> Objective:
        return self.objectives[0]

    @property
    def search_seeds(self) -> list[int]:
        return [self.file.seed + r for r in range(self.file.seeds)]

    @property
    def fresh_seed_list(self) -> list[int]:
        """Seeds the search never saw: right after the search seeds."""
        first = self.file.seed + self.file.seeds
        return [first + r for r in range(self.file.fresh_seeds)]

    @property
    def uses_budget(self) -> bool:
        return any(c.uses_budget for c in self.constraints)


# -- loading --------------------------------------------------------------------------------
def find_file(name_or_path: str | Path) -> Path:
    """A path, or the name of a ready-made file (``optimisation/NAME.toml`` here, else the package's library)."""
    return find_named_file(name_or_path, "optimisation file", "optimisation", OPTIMISATION_DIR)


def read_file(name_or_path: str | Path) -> tuple[dict[str, Any], Path]:
    path = find_file(name_or_path)
    return read_toml(path, "optimisation file"), path


def parse(raw: dict[str, Any], scenario: Scenario, where: str = "optimisation", source: Path | None = None) -> Spec:
    """Validate a raw mapping against ``scenario``: CxError with one line at the first problem."""
    reject_nonfinite(raw, where)  # a lever's range [nan, 1.0] included
    try:
        f = SearchFile.model_validate(raw)
    except ValidationError as err:
        raise CxError(explain(err, SearchFile, where)) from None
    if f.scenario and f.scenario not in (scenario.name, str(scenario.name)):
        raise CxError(f"{where}: scenario = {f.scenario!r}: this file is written for {f.scenario!r}, not {scenario.name!r}")
    if f.variant != "baseline" and f.variant not in scenario.variants:
        raise CxError(f"{where}: variant = {f.variant!r}: unknown variant: choose from baseline, {', '.join(scenario.variants) or '(none)'}")
    for v in f.compare:
        if v not in scenario.variants:
            raise CxError(f"{where}: compare = {v!r}: unknown variant: choose from {', '.join(scenario.variants) or '(none)'}")
    steps = f.steps or scenario.steps
    levers = tuple(parse_lever(name, spec, scenario, where) for name, spec in f.levers.items())
    objectives = tuple(parse_objective(name, sense, scenario, where) for name, sense in f.objectives.items())
    constraints = tuple(parse_constraint(i, text, f.budget, scenario, where) for i, text in enumerate(f.constraints))
    spec = Spec(f, levers, objectives, constraints, f.budget, source)
    check_budget(spec, scenario, steps, where)
    return spec


def parse_lever(name: str, raw: Any, scenario: Scenario, where: str) -> Lever:
    if name not in scenario.interventions:
        raise CxError(f"{where}: levers.{name}: unknown intervention: choose from {', '.join(scenario.interventions) or '(none)'}")
    if not isinstance(raw, dict):
        raise CxError(f"{where}: levers.{name} = {raw!r}: expected a table of field ranges, e.g. coverage = [0, 1]")
    cls = type(scenario.interventions[name])
    optional = raw.get("optional", True)
    if not isinstance(optional, bool):
        raise CxError(f"{where}: levers.{name}.optional = {optional!r}: expected true or false")
    dims = tuple(parse_dimension(name, field, value, cls, where) for field, value in raw.items() if field not in RESERVED)
    return Lever(name, optional, dims)


def numeric_fields(cls) -> list[str]:
    return [n for n in cls.model_fields if field_info(cls, n)["type"] in (int, float)]


def parse_dimension(lever: str, field: str, value: Any, cls, where: str) -> Dimension:
    at = f"{where}: levers.{lever}.{field}"
    fields = numeric_fields(cls)
    if field not in cls.model_fields:
        raise CxError(f"{at}: unknown field of {cls.__name__}: choose from {', '.join(fields)}")
    if field not in fields:
        raise CxError(f"{at}: not a numeric field (levers range numbers): choose from {', '.join(fields)}")
    info = field_info(cls, field)
    integer = info["type"] is int
    step, log = None, False
    if isinstance(value, bool):
        raise CxError(f"{at} = {value!r}: expected a number, [low, high] or {{ low = …, high = … }}")
    if isinstance(value, (int, float)):
        low = high = value
    elif isinstance(value, list):
        if len(value) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise CxError(f"{at} = {value!r}: a range is [low, high] (two numbers)")
        low, high = value
    elif isinstance(value, dict):
        unknown = set(value) - {"low", "high", "step", "log"}
        if unknown or "low" not in value or "high" not in value:
            raise CxError(f"{at} = {value!r}: a range table has low, high and optionally step, log")
        low, high, step, log = value["low"], value["high"], value.get("step"), bool(value.get("log", False))
    else:
        raise CxError(f"{at} = {value!r}: expected a number, [low, high] or {{ low = …, high = … }}")
    if low > high:
        raise CxError(f"{at} = [{low}, {high}]: empty range (low > high)")
    unit = f" {info['unit']}" if info["unit"] else ""
    lo_ok = info["lo"] if info["lo"] is not None else -math.inf
    hi_ok = info["hi"] if info["hi"] is not None else math.inf
    if low < lo_ok or high > hi_ok:
        raise CxError(f"{at} = [{low}, {high}]: outside the allowed {lo_ok:g} to {hi_ok:g}{unit}")
    if integer and not (float(low).is_integer() and float(high).is_integer()):
        raise CxError(f"{at} = [{low}, {high}]: {field} is a whole number of {info['unit'] or 'units'}")
    if step is not None and (step <= 0 or step > high - low > 0 or (integer and not float(step).is_integer())):
        raise CxError(f"{at}: step = {step!r}: must be positive{' and whole' if integer else ''} and at most high − low")
    if log and low <= 0:
        raise CxError(f"{at}: log = true needs low > 0 (low = {low})")
    if step is not None and log:
        raise CxError(f"{at}: give step or log, not both")
    return Dimension(lever, field, float(low), float(high), None if step is None else float(step), log, integer)


def known_measure(name: str, scenario: Scenario) -> str | None:
    """None if ``name`` is a measure of ``scenario``, else the reason it is not."""
    what, _, group = name.partition("@")
    if group:
        if what not in GROUP_MEASURES:
            return f"unknown group measure {what!r}: choose from {', '.join(GROUP_MEASURES)}"
        if group not in scenario.segment_names and group not in GROUPS:
            return f"unknown group {group!r}: choose a segment ({', '.join(scenario.segment_names)}) or one of {', '.join(GROUPS)}"
        return None
    if what in METRIC_BY_NAME or what in MEASURES or what in DERIVED:
        return None
    return f"unknown measure: choose a metric ({', '.join(METRIC_BY_NAME)}), one of {', '.join(MEASURES)}, {', '.join(DERIVED)}, or NAME@GROUP"


def parse_objective(name: str, sense: str, scenario: Scenario, where: str) -> Objective:
    problem = known_measure(name, scenario)
    if problem:
        raise CxError(f"{where}: objectives.{name}: {problem}")
    return Objective(name, sense in MAXIMISE)


CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w@]*)\s*(<=|>=)\s*(budget|[-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def parse_constraint(i: int, text: str, budget: float | None, scenario: Scenario, where: str) -> Constraint:
    at = f"{where}: constraints[{i}] = {text!r}"
    m = CONSTRAINT.match(text)
    if not m:
        raise CxError(f"{at}: expected 'MEASURE <= NUMBER', 'MEASURE >= NUMBER' or 'MEASURE <= budget'")
    name, op, rhs = m.groups()
    problem = known_measure(name, scenario)
    if problem:
        raise CxError(f"{at}: {problem}")
    if rhs == "budget":
        if budget is None:
            raise CxError(f"{at}: refers to the budget, but none is set (budget = … in the file, or --budget)")
        bound = float(budget)
    else:
        bound = float(rhs.replace("_", ""))
    return Constraint(text.strip(), name, op == "<=", bound, rhs == "budget")


# -- what can be checked before any run -----------------------------------------------------
def fixed_cost(scenario: Scenario, lever: Lever, steps: int) -> float:
    """The least running cost the lever can have (cost_per_step × coverage × active steps, at its cheapest)."""
    iv = scenario.interventions[lever.name]
    values = {f: getattr(iv, f) for f in ("cost_per_step", "coverage", "start", "stop")}
    cheapest = {"cost_per_step": min, "coverage": min, "start": max, "stop": min}
    for d in lever.dimensions:
        if d.field in cheapest:
            values[d.field] = cheapest[d.field](d.low, d.high)
    active = max(0, min(int(values["stop"]), steps) - int(values["start"]))
    return values["cost_per_step"] * values["coverage"] * active


def check_budget(spec: Spec, scenario: Scenario, steps: int, where: str) -> None:
    """Refuse a cost limit no plan can meet: below the required levers' fixed cost, or below every lever's."""
    limits = [c for c in spec.constraints if c.name == "intervention_cost" and c.upper]
    if not limits:
        return
    limit = min(c.bound for c in limits)
    cu = scenario.currency
    costs = {lv.name: fixed_cost(scenario, lv, steps) for lv in spec.levers}
    required = [lv.name for lv in spec.levers if not lv.optional]
    floor = sum(costs[n] for n in required)
    if required and floor > limit:
        parts = ", ".join(f"{n} {costs[n]:,.0f}" for n in required)
        raise CxError(f"{where}: budget {limit:,.0f} {cu} is below the fixed running cost of the levers every plan uses ({parts}; {floor:,.0f} {cu} over {steps} steps at their cheapest)")
    if not required and min(costs.values()) > limit:
        name = min(costs, key=costs.get)
        raise CxError(f"{where}: budget {limit:,.0f} {cu} is below the cheapest plan that uses any lever ({name}: {costs[name]:,.0f} {cu} running cost over {steps} steps at its cheapest): only doing nothing fits")


def load(file: str | Path | dict | None, scenario: Scenario, overrides: dict[str, Any] | None = None) -> Spec:
    """The spec from a file (path or ready-made name) or a mapping, with ``overrides`` (CLI flags) on top."""
    if file is None:
        raw, source, where = {}, None, "optimisation"
    elif isinstance(file, dict):
        raw, source, where = dict(file), None, "optimisation"
    else:
        raw, source = read_file(file)
        where = source.name
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return parse(raw, scenario, where, source)


__all__ = ["SearchFile", "Spec", "Lever", "Dimension", "Objective", "Constraint", "load", "parse", "find_file", "OPTIMISATION_DIR", "DERIVED"]
