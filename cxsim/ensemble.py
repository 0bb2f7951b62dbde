"""Results with the uncertainty they carry: a scenario over its posterior's parameter draws × seeds.

    from cxsim.ensemble import run_ensemble
    ens = run_ensemble("aravind", worlds=["baseline", "aravind_1980s"], draws=20, seeds=3)
    ens.levels()          # per world and metric: mean and 95% interval (parameters and seeds)
    ens.differences()     # per what-if: the difference from the baseline, paired within each draw and seed
    ens.caption           # which uncertainty the intervals carry, and where it comes from

Two kinds of uncertainty, kept apart (:data:`POSTERIOR`, :data:`SEEDS`):

* **posterior**: the scenario has a posterior (:mod:`cxsim.posterior`, or one given as
  ``posterior=``). Every world runs on ``draws`` parameter sets drawn from it by weight, each
  on ``seeds`` seeds. Within one draw every world runs on the same seeds (common random
  numbers), so a what-if's difference from the baseline is paired within each draw and seed.
  A level's interval is the central 95% of the per-draw means (the mean over the draw's seeds):
  it holds the parameters' uncertainty and what is left of the seeds'. A difference's interval
  is the same over the per-draw paired differences, so an effect that holds under every
  plausible parameter set is tight even where the level is not. Quantiles of values that lie
  in a range stay in it.
* **seeds**: no posterior (or ``uncertainty="seeds"``): the scenario's own parameters on
  ``seeds`` seeds; intervals are :func:`cxsim.readouts.metrics.interval` (Student-t within the range,
  none below three seeds). The caption says in words that parameter uncertainty is not included.

Draw ``d`` runs on seeds ``seed + d·seeds … seed + d·seeds + seeds − 1``, so the seeds-only
ensemble runs exactly what ``cxsim run --replicates`` runs. Runs go through
:func:`cxsim.experiments.runner.execute` (here, a local pool, or Dask) and are put back in
task order, so the number of workers never changes a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .engine.scenario import Scenario, scenario_dict
from .experiments.design import Task, fingerprint
from .posterior import weighted_quantiles
from .readouts.measures import metric_range
from .readouts.metrics import MIN_REPLICATES, SCALAR_OUTCOMES, difference_range, interval
from .state.params import CxError

from .uncertainty import (DEFAULT_DRAWS, FIND, KIND_WORDS, KINDS, POSTERIOR, SEEDS, choose_kind, resolve_posterior,
                          uncertainty_caption)

DEFAULT_SEEDS = 3
CONFIDENCE = 0.95
ONE_WORLD = "run"


@dataclass(frozen=True)
class Measures:
    """Measures a run reports besides the scalar outcomes (picklable: it runs on workers)."""

    names: tuple[str, ...]

    def __call__(self, results) -> dict[str, float]:
        from .readouts.measures import measure

        return {f"m:{n}": float(measure(results, n)) for n in self.names}


@dataclass
class EnsembleTask(Task):
    extract: Measures | None = None


def draw_interval(values: np.ndarray, bounds: tuple[float, float] = (-math.inf, math.inf)) -> tuple[float, float, float]:
    """Mean and central 95% of equally likely values (NaNs ignored); none below :data:`MIN_REPLICATES` values."""
    x = values[~np.isnan(values)]
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < MIN_REPLICATES:
        return mean, math.nan, math.nan
    tail = (1 - CONFIDENCE) / 2
    lo, hi = weighted_quantiles(x, np.ones(len(x)), (tail, 1 - tail))
    return mean, max(min(lo, mean), bounds[0]), min(max(hi, mean), bounds[1])


@dataclass
class Ensemble:
    """Runs of every world on every draw and seed (``runs``: one row each), and how to read them."""

    scenario: Scenario
    kind: str
    runs: pd.DataFrame
    worlds: list[str]
    draws: list[dict[str, float]]
    seeds_per_draw: int
    source: str
    measures: list[str] = field(default_factory=list)
    _memo: dict = field(default_factory=dict, repr=False, compare=False)  # levels and differences, computed once (runs never change)

    @property
    def outcomes(self) -> list[str]:
        return [*SCALAR_OUTCOMES, *self.measures]

    @property
    def caption(self) -> str:
        """Which uncertainty the intervals carry and where it comes from, in words (:func:`uncertainty_caption`)."""
        return uncertainty_caption(self.kind, len(self.draws), self.seeds_per_draw, self.source)

    @property
    def short(self) -> str:
        """The kind in a few words, for a card or a column header: 'parameters + seeds' or 'seeds only'."""
        return KIND_WORDS[self.kind]

    def _per_draw(self, world: str, name: str) -> np.ndarray:
        """Mean over each draw's seeds (draw order)."""
        g = self.runs[self.runs["world"] == world]
        return g.groupby("draw", sort=True)[name].mean().to_numpy(dtype=float)

    def levels(self) -> pd.DataFrame:
        """Per world and outcome: mean, 95% interval (within the outcome's range), kind and counts."""
        if "levels" not in self._memo:
            self._memo["levels"] = self._levels()
        return self._memo["levels"].copy()

    def _levels(self) -> pd.DataFrame:
        rows = []
        for world in self.worlds:
            for name in self.outcomes:
                mean, lo, hi = self.level(world, name)
                rows.append({"world": world, "metric": name, "mean": mean, "low": lo, "high": hi, "uncertainty": self.kind,
                             "draws": len(self.draws), "seeds": self.seeds_per_draw})
        return pd.DataFrame(rows)

    def level(self, world: str, name: str) -> tuple[float, float, float]:
        """One world's mean of outcome ``name`` and its 95% interval (within the outcome's range), of this ensemble's kind."""
        bounds = metric_range(name)
        if self.kind == POSTERIOR:
            return draw_interval(self._per_draw(world, name), bounds)
        return interval(self.runs.loc[self.runs["world"] == world, name].tolist(), CONFIDENCE, bounds)

    def paired(self, world: str, baseline: str, name: str) -> np.ndarray:
        """``world − baseline`` for every (draw, seed), in draw and seed order: the same draw and seed in both."""
        def values(w: str) -> pd.Series:
            return self.runs[self.runs["world"] == w].set_index(["draw", "seed"])[name].sort_index()

        return (values(world) - values(baseline)).to_numpy(dtype=float)

    def differences(self, baseline: str | None = None) -> pd.DataFrame:
        """Every other world against ``baseline`` (default: the first world): both means and the paired difference with
        its 95% interval, in the columns of :func:`cxsim.views.worlds_comparison` plus ``uncertainty``."""
        baseline = baseline or self.worlds[0]
        if baseline not in self.worlds:
            raise CxError(f"baseline {baseline!r}: not one of the worlds {', '.join(self.worlds)}")
        if ("differences", baseline) not in self._memo:
            self._memo[("differences", baseline)] = self._differences(baseline)
        return self._memo[("differences", baseline)].copy()

    def _differences(self, baseline: str) -> pd.DataFrame:
        from .readouts.measures import definition

        rows = []
        for world in self.worlds:
            if world == baseline:
                continue
            for name in self.outcomes:
                d = definition(name)
                bounds = difference_range(d.unit)
                diff = self.paired(world, baseline, name)
                if self.kind == POSTERIOR:
                    per_draw = np.array([np.nanmean(chunk) if np.any(~np.isnan(chunk)) else np.nan
                                         for chunk in diff.reshape(len(self.draws), self.seeds_per_draw)])
                    mean, lo, hi = draw_interval(per_draw, bounds)
                else:
                    mean, lo, hi = interval(diff.tolist(), CONFIDENCE, bounds)
                base = self.runs.loc[self.runs["world"] == baseline, name].mean()
                value = self.runs.loc[self.runs["world"] == world, name].mean()
                rows.append({"world": world, "metric": name, "label": d.label, "unit": d.unit, "baseline": base, "value": value,
                             "difference": mean, "ci_low": lo, "ci_high": hi, "replicates": len(diff), "uncertainty": self.kind})
        return pd.DataFrame(rows)


def world_overrides(sc: Scenario, worlds: Mapping[str, Mapping[str, Any]] | Sequence[str] | None) -> dict[str, dict[str, Any]]:
    """Worlds as scenario overrides on ``sc``: a mapping as given, variant names (``baseline``: every intervention off)."""
    if worlds is None:
        return {ONE_WORLD: {}}
    if isinstance(worlds, Mapping):
        out = {str(k): dict(v) for k, v in worlds.items()}
    else:
        out = {}
        for v in worlds:
            if v != "baseline" and v not in sc.variants:
                raise CxError(f"unknown variant {v!r} for scenario {sc.name!r}: choose from baseline, {', '.join(sc.variants) or '(none)'}")
            chosen = [] if v == "baseline" else sc.variants[v].interventions
            sets = {} if v == "baseline" else dict(sc.variants[v].set)
            out[v] = {**{f"interventions.{n}.enabled": n in chosen for n in sc.interventions}, **sets}
    if not out:
        raise CxError("an ensemble needs at least one world")
    return out


def plan(sc: Scenario, worlds: dict[str, dict[str, Any]], draws: list[dict[str, float]], seeds: int, seed0: int,
         measures: tuple[str, ...] = (), timeseries: bool = False) -> list[EnsembleTask]:
    """One task per world, draw and seed; within a draw every world on the same seeds."""
    base_fp = fingerprint(scenario_dict(sc))
    extract = Measures(measures) if measures else None
    tasks = []
    for w, (world, over) in enumerate(worlds.items()):
        for d, draw in enumerate(draws):
            for s in range(seeds):
                seed = seed0 + d * seeds + s
                overrides = {**draw, **over}  # the world's own settings win over a draw's
                tasks.append(EnsembleTask(run=len(tasks), key=fingerprint([base_fp, overrides, seed, measures]), policy=world,
                                          point=d, replicate=s, seed=seed, params={"world": world, "draw": d},
                                          overrides=overrides, timeseries=timeseries, extract=extract))
    return tasks


def run_ensemble(scenario: str | Path | Scenario, worlds: Mapping[str, Mapping[str, Any]] | Sequence[str] | None = None, *,
                 posterior: Any = FIND, uncertainty: str | None = None, draws: int = DEFAULT_DRAWS, seeds: int = DEFAULT_SEEDS,
                 seed: int | None = None, draw_seed: int = 0, customers: int | None = None, steps: int | None = None,
                 measures: Sequence[str] = (), workers: int = 1, scheduler: Any = None, progress: bool | None = None) -> Ensemble:
    """Run ``worlds`` of ``scenario`` over posterior draws × seeds (or seeds only) and return the :class:`Ensemble`.

    ``posterior``: :data:`FIND`, None, a :class:`~cxsim.posterior.Posterior` or a file; ``uncertainty``:
    ``"posterior"``, ``"seeds"`` or None (posterior where there is one). ``draws`` parameter sets are drawn
    from the posterior with ``draw_seed`` (:meth:`Posterior.draws`); seeds start at ``seed`` (default: the
    scenario's). Results do not depend on ``workers`` or ``scheduler``.
    """
    from .engine.scenario import load_scenario
    from .experiments.runner import execute

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    for name, value, lo in (("draws", draws, 1), ("seeds", seeds, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise CxError(f"{name} = {value!r}: must be an integer ≥ {lo}")
    sizes = {k: v for k, v in (("population.customers", customers), ("steps", steps)) if v is not None}
    if sizes:
        sc = sc.with_overrides(sizes)
    post, source = resolve_posterior(scenario, posterior)
    kind = choose_kind(uncertainty, post, source)
    draw_list = post.draws(draws, draw_seed) if kind == POSTERIOR else [{}]
    if kind == POSTERIOR:
        sc.with_overrides(draw_list[0])  # a posterior over paths the scenario lacks fails here, in one line
    if kind == SEEDS and post is not None:
        source = f"posterior not used: {source}"
    from .readouts.measures import check

    names = tuple(m for m in dict.fromkeys(measures) if m not in SCALAR_OUTCOMES)
    check(list(names), sc)
    over = world_overrides(sc, worlds)
    seed0 = sc.seed if seed is None else seed
    tasks = plan(sc, over, draw_list, seeds, seed0, names)
    rows: dict[int, dict] = {}
    execute(sc, tasks, lambda row, ts, secs: rows.__setitem__(row["run"], row), workers=workers, scheduler=scheduler,
            progress=progress, desc="ensemble")
    table = pd.DataFrame([rows[t.run] for t in tasks])
    table = table.rename(columns={f"m:{n}": n for n in names})
    keep = ["world", "draw", "seed", *SCALAR_OUTCOMES, *names]
    return Ensemble(sc, kind, table[keep].reset_index(drop=True), list(over), draw_list, seeds, source, list(names))


__all__ = ["run_ensemble", "Ensemble", "uncertainty_caption", "resolve_posterior", "POSTERIOR", "SEEDS", "KINDS", "FIND"]
