"""From an experiment file to a plan: the base scenario, policies, design points, seeds and tasks.

Every run is a :class:`Task` = (policy, design point, seed) flattened into dotted
scenario overrides, so a worker rebuilds its scenario from the base alone. A
task's ``key`` hashes the base scenario, its overrides and its seed: the same run
always has the same key, which is what makes results resumable.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..engine.scenario import Scenario, load_scenario, scenario_dict, validate_scenario
from ..state.params import CxError
from ..workload import Workload, check
from .spec import ABTest, Experiment, flatten


@dataclass
class Task:
    """One run: the scenario overrides of a policy at a design point, and a seed."""

    run: int
    key: str
    policy: str
    point: int
    replicate: int
    seed: int
    params: dict[str, Any]
    overrides: dict[str, Any]
    ab: ABTest | None = None
    timeseries: bool = True

    def head(self) -> dict[str, Any]:
        """The identifying columns of this run's row."""
        return {"run": self.run, "key": self.key, "policy": self.policy, "point": self.point,
                "replicate": self.replicate, "seed": self.seed, **self.params}


@dataclass
class Plan:
    experiment: Experiment
    base: Scenario
    policies: dict[str, dict[str, Any]]
    points: pd.DataFrame  # one row per design point, one column per uncertainty
    seeds: list[int]
    tasks: list[Task] = field(default_factory=list)
    source: Path | None = None

    @property
    def factors(self) -> list[str]:
        return list(self.experiment.uncertainties)

    def problem(self) -> dict[str, Any]:
        """The SALib problem: one variable per uncertainty with a range."""
        u = self.experiment.uncertainties
        return {"num_vars": len(u), "names": list(u), "bounds": [[v.lo, v.hi] for v in u.values()]}


def fingerprint(obj: Any, size: int = 10) -> str:
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=size).hexdigest()


def seeds_for(replicates: int, base_seed: int = 1) -> list[int]:
    """Replicate ``r`` uses seed ``base_seed + r`` everywhere (common random numbers)."""
    return [base_seed + r for r in range(replicates)]


# -- base scenario and policies ------------------------------------------------------
def base_scenario(exp: Experiment, source: Path | None = None) -> Scenario:
    where = source.name if source else "experiment"
    if isinstance(exp.scenario, dict):
        sc = validate_scenario({"name": exp.name or "inline", **exp.scenario}, where=f"{where}: scenario")
    else:
        path = scenario_path(exp.scenario, source, where)
        try:
            sc = load_scenario(path)
        except CxError as err:
            raise CxError(f"{where}: scenario: {err}") from None
    changes = dict(exp.set)
    if exp.customers is not None:
        changes["population.customers"] = exp.customers
    if exp.steps is not None:
        changes["steps"] = exp.steps
    return _checked(sc, changes, f"{where}: set") if changes else sc


def scenario_path(text: str, source: Path | None, where: str) -> Path | str:
    """A built-in name as it is; a file path relative to the experiment file, which must stay in its folder."""
    path = Path(text)
    if not path.suffix:
        return text
    if source is None:
        return path
    if path.is_absolute():
        raise CxError(f"{where}: scenario = {text!r}: give a path relative to the experiment file's folder (or a built-in name)")
    folder = source.resolve().parent
    resolved = (folder / path).resolve()
    if folder not in resolved.parents:
        raise CxError(f"{where}: scenario = {text!r}: leaves the experiment file's folder {str(folder)!r}")
    return resolved


def _checked(sc: Scenario, overrides: dict[str, Any], where: str) -> Scenario:
    try:
        return sc.with_overrides(overrides)
    except CxError as err:
        raise CxError(f"{where}: {_inner(err)}") from None


def _inner(err: CxError) -> str:
    """The scenario's own message without its "scenario 'name': " prefix."""
    return re.sub(r"^scenario '[^']*': ", "", str(err))


def policies(exp: Experiment, base: Scenario, where: str = "experiment") -> dict[str, dict[str, Any]]:
    """Policy name → overrides. Without levers there is one policy, ``base`` (the scenario as it is)."""
    lv, names = exp.levers, list(base.interventions)
    if not (lv.interventions or lv.variants or lv.policies):
        return {"base": {}}

    def only(on) -> dict[str, Any]:
        unknown = [i for i in on if i not in base.interventions]
        if unknown:
            raise CxError(f"{where}: levers: unknown intervention {unknown[0]!r}; {base.name!r} has {', '.join(names) or 'none'}")
        return {f"interventions.{n}.enabled": n in on for n in names}

    out: dict[str, dict[str, Any]] = {"baseline": only([])} if lv.baseline else {}
    for combo in combinations(lv.interventions, lv.combine):
        out.setdefault("+".join(combo), only(combo))
    for v in lv.variants:
        if v not in base.variants:
            raise CxError(f"{where}: levers.variants: unknown variant {v!r}; {base.name!r} has {', '.join(base.variants) or 'none'}")
        out[v] = {**only(base.variants[v].interventions), **flatten(base.variants[v].set)}
    for name, p in lv.policies.items():
        out[name] = {**only(p.interventions), **flatten(p.set)}
    for name, ov in out.items():
        _checked(base, ov, f"{where}: policy {name!r}")
    return out


def combinations(interventions: list[str], modes: list[str]) -> list[tuple[str, ...]]:
    """Intervention sets to try: each alone, all together, cumulatively in order, or every subset."""
    ivs, out = tuple(interventions), []
    for mode in modes:
        if mode == "each":
            out += [(i,) for i in ivs]
        elif mode == "all" and ivs:
            out.append(ivs)
        elif mode == "cumulative":
            out += [ivs[:k] for k in range(1, len(ivs) + 1)]
        elif mode == "factorial":
            out += [c for k in range(1, len(ivs) + 1) for c in itertools.combinations(ivs, k)]
    return out


# -- uncertainties ---------------------------------------------------------------------
def expand(base_data: dict[str, Any], name: str, value: Any, relative: bool) -> dict[str, Any]:
    """A factor's concrete overrides: ``*`` matches every key at its level; relative values scale the base."""
    out = {}
    for path in _match(base_data, name.split(".")):
        v = value
        current = _get(base_data, path)
        if relative:
            if not isinstance(current, (int, float)) or isinstance(current, bool):
                raise CxError(f"uncertainties.{name}: relative ranges need a number, {path!r} is {current!r}")
            v = current * value
        if isinstance(current, int) and not isinstance(current, bool) and isinstance(v, float):
            v = int(round(v))
        out[path] = v
    return out


def _match(data: Any, parts: list[str], prefix: str = "") -> list[str]:
    if not parts:
        return [prefix.rstrip(".")]
    head, rest = parts[0], parts[1:]
    if not isinstance(data, dict):
        raise CxError(f"unknown setting {prefix + head!r}")
    keys = list(data) if head == "*" else [head]
    if head != "*" and head not in data:
        raise CxError(f"unknown setting {(prefix + head)!r} (known here: {', '.join(data)})")
    return [p for k in keys for p in _match(data[k], rest, f"{prefix}{k}.")]


def _get(data: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        data = data[part]
    return data


def point_overrides(plan_base: dict[str, Any], exp: Experiment, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        out.update(expand(plan_base, name, _plain(value), exp.uncertainties[name].relative))
    return out


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def check_uncertainties(exp: Experiment, base: Scenario, data: dict[str, Any], where: str) -> None:
    """Every range end (and level) must give a valid scenario: errors name the uncertainty."""
    for name, u in exp.uncertainties.items():
        for v in (u.values if u.values is not None else [u.lo, u.hi]):
            try:
                base.with_overrides(expand(data, name, v, u.relative))
            except CxError as err:
                raise CxError(f"{where}: uncertainties.{name} = {v!r}: {_inner(err)}") from None


# -- designs -----------------------------------------------------------------------------
def design_points(exp: Experiment, base_data: dict[str, Any]) -> pd.DataFrame:
    """One row per design point (columns = uncertainty names; multipliers for relative ones)."""
    u, d = exp.uncertainties, exp.design
    if not u:
        return pd.DataFrame(index=pd.RangeIndex(1))
    if d.kind == "factorial":
        grids = [_levels(base_data, name, spec, d.levels) for name, spec in u.items()]
        return pd.DataFrame(list(itertools.product(*grids)), columns=list(u))
    problem = {"num_vars": len(u), "names": list(u), "bounds": [[v.lo, v.hi] for v in u.values()]}
    return pd.DataFrame(salib_sample(d.kind, problem, d.samples, exp.seed, d.levels, d.second_order), columns=list(u))


def _levels(base_data: dict[str, Any], name: str, spec, levels: int) -> list[Any]:
    if spec.values is not None:
        return list(spec.values)
    grid = np.linspace(spec.lo, spec.hi, levels).tolist()
    target = _get(base_data, next(iter(expand(base_data, name, 1.0, False))))
    if not spec.relative and isinstance(target, int) and not isinstance(target, bool):
        grid = sorted({int(round(x)) for x in grid})
    return grid


def salib_sample(kind: str, problem: dict[str, Any], n: int, seed: int, levels: int = 4, second_order: bool = False) -> np.ndarray:
    """Latin hypercube, Sobol (Saltelli) or Morris samples from SALib."""
    from SALib.sample import latin, morris, sobol

    if kind == "lhs":
        return latin.sample(problem, n, seed=seed)
    if kind == "sobol":
        return sobol.sample(problem, n, calc_second_order=second_order, seed=seed)
    if kind == "morris":
        return morris.sample(problem, n, num_levels=levels, seed=seed)
    raise CxError(f"design.kind = {kind!r}: choose from factorial, lhs, sobol, morris")


# -- the size of the work, from the design's parameters alone ---------------------------
def design_size(exp: Experiment) -> int:
    """How many design points the design will have, without drawing them (factorial: an upper bound)."""
    u, d = exp.uncertainties, exp.design
    if not u:
        return 1
    dims = len(u)
    if d.kind == "factorial":
        return math.prod(len(v.values) if v.values is not None else d.levels for v in u.values())
    if d.kind == "lhs":
        return d.samples
    if d.kind == "sobol":
        return d.samples * (2 * dims + 2 if d.second_order else dims + 2)
    return d.samples * (dims + 1)  # morris: trajectories × (dimensions + 1)


def workload(exp: Experiment, base: Scenario, pols: dict[str, dict[str, Any]]) -> Workload:
    """Runs × the largest customers and steps any run may have (from policies and uncertainty ranges)."""
    runs = design_size(exp) * len(pols) * exp.replicates
    if exp.ab is not None and exp.ab.global_effect:
        runs *= 3  # the A/B population, then everyone off and everyone on
    return Workload(runs, int(_largest(exp, pols, "population.customers", base.population.customers)),
                    int(_largest(exp, pols, "steps", base.steps)))


def _largest(exp: Experiment, pols: dict[str, dict[str, Any]], path: str, base_value: float) -> float:
    values = [base_value] + [float(p[path]) for p in pols.values() if isinstance(p.get(path), (int, float))]
    u = exp.uncertainties.get(path)
    if u is not None:
        ends = [v for v in (u.values or [u.lo, u.hi]) if isinstance(v, (int, float))]
        values += [v * max(values) if u.relative else v for v in ends]
    return max(values)


# -- the plan --------------------------------------------------------------------------
def make_plan(exp: Experiment, source: Path | None = None, *, allow_large: bool = False, workers: int = 1) -> Plan:
    """Resolve and check everything (also the size of the work, see :mod:`cxsim.workload`), then list every run."""
    where = source.name if source else "experiment"
    base = base_scenario(exp, source)
    data = base.model_dump()
    check_uncertainties(exp, base, data, where)
    pols = policies(exp, base, where)
    if exp.ab is not None:
        _check_ab(exp, base, where)
    check(workload(exp, base, pols), allow_large, workers, "--allow-large (API: allow_large=True)")  # before any sample is drawn
    points = design_points(exp, data)
    seeds = seeds_for(exp.replicates, exp.seed)
    plan = Plan(exp, base, pols, points, seeds, source=source)
    base_fp = fingerprint(scenario_dict(base))
    ab = exp.ab.model_dump() if exp.ab else None
    rows = points.to_dict("records")
    for p, row in enumerate(rows):
        params = {k: _plain(v) for k, v in row.items()}
        at_point = point_overrides(data, exp, params)
        for name, pol in pols.items():
            overrides = {**pol, **at_point}
            for r, seed in enumerate(seeds):
                key = fingerprint([base_fp, name, overrides, seed, ab, exp.timeseries])
                plan.tasks.append(Task(len(plan.tasks), key, name, p, r, seed, params, overrides, exp.ab, exp.timeseries))
    return plan


def _check_ab(exp: Experiment, base: Scenario, where: str) -> None:
    from .abtest import CUSTOMER_METRICS, check_treatment

    try:
        check_treatment(base, exp.ab.treatment)
    except CxError as err:
        raise CxError(f"{where}: ab.treatment: {err}") from None
    for m in exp.ab.metrics:
        if m not in CUSTOMER_METRICS:
            raise CxError(f"{where}: ab.metrics: unknown metric {m!r}: choose from {', '.join(CUSTOMER_METRICS)}")
