"""Batch runs as plain functions: one run's outcomes, replicates, paired comparisons, many runs.

Replicate ``r`` of any experiment uses seed ``base_seed + r``, so a baseline and
an intervention run on the same seeds share every random draw the intervention
does not touch (common random numbers): their paired difference has a tight
interval with few replicates.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import pandas as pd

from ..engine.model import run
from ..engine.scenario import Scenario, load_scenario, scenario_dict
from ..readouts.metrics import SCALAR_OUTCOMES, paired_differences
from .design import Task, fingerprint, seeds_for
from .runner import execute
from .store import Store, long_series


def run_replicates(scenario: Scenario, seeds: list[int]) -> pd.DataFrame:
    """One row per seed: the scalar outcomes of one run."""
    rows = []
    for seed in seeds:
        s = run(scenario, seed).summary
        rows.append({"seed": seed, **{k: s[k] for k in SCALAR_OUTCOMES}})
    return pd.DataFrame(rows).astype({k: float for k in SCALAR_OUTCOMES})


def compare(baseline: Scenario, alternative: Scenario, seeds: list[int]) -> pd.DataFrame:
    """Per metric: baseline and alternative means, and the paired difference with its 95% interval."""
    return paired_differences(run_replicates(baseline, seeds), run_replicates(alternative, seeds))


def _scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def _paths(params: dict[str, Any]) -> dict[str, Any]:
    """Keyword names may use ``__`` for the dots of a path: ``decision__w_cost`` = ``decision.w_cost``."""
    return {k.replace("__", "."): v for k, v in params.items()}


def run_summary(scenario: Scenario | str = "aravind", seed: int | None = None, *, customers: int | None = None,
                steps: int | None = None, interventions: Iterable[str] = (), **params: Any) -> dict[str, float]:
    """The scalar outcomes of one run, as a plain dict of floats: a pure function of its arguments.

    ``params`` are scenario overrides by dotted path (``**{"decision.w_cost": 2}``) or with ``__``
    for dots (``decision__w_cost=2``)::

        run_summary("aravind", seed=3, customers=2000, interventions=["free_transport"], decision__w_fear=1.0)
    """
    sc = _scenario(scenario)
    if interventions:
        sc = sc.with_interventions(list(interventions))
    if params:
        sc = sc.with_overrides(_paths(params))
    s = run(sc, seed, customers=customers, steps=steps).summary
    return {k: math.nan if s[k] is None else float(s[k]) for k in SCALAR_OUTCOMES}


class RunTables(NamedTuple):
    """Aligned results: ``runs`` (one row per run) and ``timeseries`` (long: run, key, step, metric, value)."""

    runs: pd.DataFrame
    timeseries: pd.DataFrame


def make_tasks(scenario: Scenario, points: list[dict[str, Any]], seeds: list[int],
               policies: dict[str, dict[str, Any]] | None = None, timeseries: bool = True) -> list[Task]:
    """Tasks for every point × policy × seed (points and policies are dotted-path overrides)."""
    base_fp = fingerprint(scenario_dict(scenario))
    policies = policies or {"base": {}}
    tasks = []
    for p, point in enumerate(points):
        point = _paths(point)
        for name, pol in policies.items():
            overrides = {**_paths(pol), **point}
            for r, seed in enumerate(seeds):
                key = fingerprint([base_fp, name, p, overrides, seed, None, timeseries])
                tasks.append(Task(len(tasks), key, name, p, r, seed, dict(point), overrides, None, timeseries))
    return tasks


def run_many(scenario: Scenario | str, points: list[dict[str, Any]] | pd.DataFrame | None = None,
             seeds: Iterable[int] = (1,), *, policies: dict[str, dict[str, Any]] | None = None, workers: int = 1,
             scheduler: Any = None, out: str | Path | None = None, timeseries: bool = True,
             progress: bool | None = False, allow_large: bool = False) -> RunTables:
    """Run every point × policy × seed; return aligned tables.

    ``points``: scenario overrides by dotted path, one dict per point (or a DataFrame whose
    columns are paths). ``out``: also store each run (resumable: finished runs are skipped).
    Results do not depend on ``workers`` or ``scheduler``.
    """
    sc = _scenario(scenario)
    if isinstance(points, pd.DataFrame):
        points = points.to_dict("records")
    points = list(points or [{}])
    _check_size(sc, points, policies or {}, len(points) * max(1, len(policies or {})) * len(list(seeds)), allow_large, workers)
    tasks = make_tasks(sc, points, list(seeds), policies, timeseries)
    rows: dict[int, dict] = {}
    series: dict[int, Any] = {}
    store = Store(out) if out is not None else None
    with store.lock() if store else nullcontext():
        return _run_many(sc, tasks, store, rows, series, workers, scheduler, progress, out)


def _check_size(sc: Scenario, points: list[dict], policies: dict[str, dict], runs: int, allow_large: bool, workers: int) -> None:
    """Refuse work above the bound before any task is made (see :mod:`cxsim.workload`)."""
    from ..workload import Workload, check

    sizes = [_paths(p) for p in [*points, *policies.values()]]
    customers = max([sc.population.customers] + [int(p["population.customers"]) for p in sizes if isinstance(p.get("population.customers"), (int, float))])
    steps = max([sc.steps] + [int(p["steps"]) for p in sizes if isinstance(p.get("steps"), (int, float))])
    check(Workload(runs, customers, steps), allow_large, workers, "allow_large=True")


def _run_many(sc: Scenario, tasks: list[Task], store: Store | None, rows: dict, series: dict, workers: int,
              scheduler: Any, progress: bool | None, out: str | Path | None) -> RunTables:
    if store:
        store.open()
        store.verify()  # damaged runs are removed, so they run again
    done = store.finished() if store else set()

    def keep(row: dict, ts: pd.DataFrame | None, seconds: float) -> None:
        if store:
            store.save(row, ts, seconds)
        rows[row["run"]] = row
        if ts is not None:
            series[row["run"]] = long_series(ts, row["run"], row["key"]).to_pandas()

    execute(sc, [t for t in tasks if t.key not in done], keep, workers=workers, scheduler=scheduler, progress=progress, done=len(done))
    if store and done:
        from .store import load_results, load_timeseries

        old = load_results(out)
        rows.update({int(r["run"]): r for r in old[old["key"].isin(done)].to_dict("records")})
        ts_old = load_timeseries(out)
        for run_id, g in ts_old[ts_old["key"].isin(done)].groupby("run"):
            series[int(run_id)] = g
    runs = pd.DataFrame([rows[k] for k in sorted(rows)])
    ts = pd.concat([series[k] for k in sorted(series)], ignore_index=True) if series else pd.DataFrame(columns=["run", "key", "step", "metric", "value"])
    return RunTables(runs, ts)


__all__ = ["seeds_for", "run_replicates", "compare", "run_summary", "run_many", "make_tasks", "RunTables"]
