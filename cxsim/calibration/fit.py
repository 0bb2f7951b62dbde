"""Fitting: one Optuna trial = one parameter set, run on every calibration seed and target variant.

Objective (to minimise)::

    Σ_targets ((simulated mean over seeds − target) / sqrt(se_target² + se_sim²))²

with ``se_sim`` the standard error of the simulated mean over the seeds (a band
target counts 0 inside the band). Every trial uses the same seeds (common random
numbers), so two parameter sets are compared on the same simulated customers
and noise does not pick the winner.

Sampler: multivariate TPE (Optuna's tree-structured Parzen estimator modelling
the parameters jointly, which suits the correlated weights of a logistic
decision), the first ``startup_trials`` drawn at random from the priors. CMA-ES
would need the ``cmaes`` package and gains little with 2–4 parameters and a
budget of ~100 trials.

Determinism: trials run one at a time; the runs inside a trial (seeds × variants
× horizons) go through :func:`cxsim.experiments.runner.execute` on any number of
workers, and are combined in seed order, so the number of workers never changes
a number. The sampler is re-seeded before every trial from ``sampler_seed`` and
the number of finished trials, so a study resumed from its SQLite file draws
exactly what an uninterrupted one draws.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import studies
from ..engine.scenario import Scenario, scenario_dict
from ..experiments.design import Task, fingerprint
from ..experiments.runner import execute
from ..readouts.metrics import interval
from .quantities import Extract
from .targets import Resolved, Spec

PENALTY = 1e9
"""Objective of a trial whose runs give no value for a target (e.g. nobody was offered)."""
STUDY = "calibration"


@dataclass
class CalibrationTask(Task):
    """A run of the calibration: the quantities to report come back in the runner's row."""

    extract: Extract | None = None


@dataclass
class TargetFit:
    """One target at one parameter set: simulated values over seeds and the residual."""

    target: Resolved
    values: list[float]
    mean: float
    low: float
    high: float
    se_sim: float
    residual: float

    @property
    def term(self) -> float:
        return PENALTY if math.isinf(self.residual) else self.residual ** 2


@dataclass
class Evaluation:
    params: dict[str, float]
    fits: list[TargetFit] = field(default_factory=list)

    @property
    def objective(self) -> float:
        return float(min(PENALTY, sum(f.term for f in self.fits)))


def variant_overrides(scenario: Scenario, variant: str) -> dict[str, Any]:
    """Dotted overrides that turn ``scenario`` into its named variant (interventions and settings); none for ``as written``."""
    from .figure import AS_WRITTEN

    if variant == AS_WRITTEN:
        return {}
    chosen = [] if variant == "baseline" else scenario.variants[variant].interventions
    out: dict[str, Any] = {f"interventions.{n}.enabled": n in chosen for n in scenario.interventions}
    if variant != "baseline":
        out.update(scenario.variants[variant].set)
    return out


def run_groups(targets: tuple[Resolved, ...] | list[Resolved]) -> dict[tuple[str, int], tuple[str, ...]]:
    """(variant, steps) → the quantities measured in those runs."""
    groups: dict[tuple[str, int], list[str]] = {}
    for t in targets:
        names = groups.setdefault((t.variant, t.steps), [])
        if t.measure not in names:
            names.append(t.measure)
    return {k: tuple(v) for k, v in groups.items()}


def tasks_for(scenario: Scenario, groups: dict[tuple[str, int], tuple[str, ...]], params: dict[str, Any],
              seeds: list[int], extra: dict[str, Any] | None = None) -> list[CalibrationTask]:
    """One task per (variant, steps) group and seed, with the parameter set as overrides."""
    tasks = []
    for point, ((variant, steps), names) in enumerate(groups.items()):
        overrides = {**variant_overrides(scenario, variant), **params, **(extra or {}), "steps": steps}
        for r, seed in enumerate(seeds):
            key = fingerprint([scenario_dict(scenario), overrides, seed, names])
            tasks.append(CalibrationTask(run=len(tasks), key=key, policy=variant, point=point, replicate=r, seed=seed,
                                         params={}, overrides=overrides, timeseries=False, extract=Extract(names)))
    return tasks


def run_values(scenario: Scenario, groups, params: dict[str, Any], seeds: list[int], *, workers: int = 1,
               scheduler: Any = None, extra: dict[str, Any] | None = None) -> dict[tuple[str, int, str], list[float]]:
    """(variant, steps, quantity) → values in seed order, for one parameter set."""
    tasks = tasks_for(scenario, groups, params, seeds, extra)
    rows: dict[int, dict] = {}
    execute(scenario, tasks, lambda row, ts, secs: rows.__setitem__(row["run"], row), workers=workers, scheduler=scheduler, progress=False)
    out: dict[tuple[str, int, str], list[float]] = {}
    for task in tasks:  # task order = group order, then seed order: independent of completion order
        (variant, steps), names = list(groups.items())[task.point]
        for n in names:
            out.setdefault((variant, steps, n), []).append(rows[task.run][f"q:{n}"])
    return out


def fit_target(t: Resolved, values: list[float]) -> TargetFit:
    x = np.asarray(values, float)
    ok = x[np.isfinite(x)]
    if len(ok) < len(x) or not len(ok):
        return TargetFit(t, list(values), math.nan, math.nan, math.nan, math.nan, math.inf)
    mean, lo, hi = interval(ok.tolist())
    se_sim = float(ok.std(ddof=1) / math.sqrt(len(ok))) if len(ok) > 1 else 0.0
    if math.isnan(lo):
        lo = hi = mean
    return TargetFit(t, list(values), mean, lo, hi, se_sim, t.residual(mean, se_sim))


def evaluate(scenario: Scenario, spec: Spec, params: dict[str, Any], *, workers: int = 1, scheduler: Any = None) -> Evaluation:
    """Every target at one parameter set, on the calibration seeds."""
    values = run_values(scenario, run_groups(spec.targets), params, spec.file.seed_list, workers=workers, scheduler=scheduler)
    ev = Evaluation(dict(params))
    ev.fits = [fit_target(t, values[(t.variant, t.steps, t.measure)]) for t in spec.targets]
    return ev


# -- the study ---------------------------------------------------------------------------
def distributions(spec: Spec, scenario: Scenario) -> dict[str, Any]:
    from optuna.distributions import FloatDistribution, IntDistribution

    from .targets import current_value

    out = {}
    for path, p in spec.parameters.items():
        if isinstance(current_value(scenario, path), int):
            out[path] = IntDistribution(int(p.low), int(p.high), log=p.log)
        else:
            out[path] = FloatDistribution(p.low, p.high, log=p.log)
    return out


def sampler(spec: Spec, finished: int):
    """The sampler for trial number ``finished`` (re-seeded per trial: resumable and deterministic)."""
    import optuna

    seed = (spec.file.sampler_seed * 1_000_003 + finished) % 2**32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=spec.file.startup_trials)


def identity(spec: Spec, scenario: Scenario) -> str:
    """What a study was started for: resuming with other targets or another scenario is an error."""
    return fingerprint([scenario_dict(scenario), spec.file.model_dump(mode="json"), [t.__dict__ for t in spec.targets]])


def open_study(out: Path, spec: Spec, scenario: Scenario, resume: bool):
    about = {"scenario": scenario.name, "seeds": spec.file.seed_list, "customers": scenario.population.customers,
             "steps": scenario.steps, "targets": [t.key for t in spec.targets]}
    return studies.open_study(out, STUDY, identity(spec, scenario), resume, what="a calibration",
                              started_with="another scenario or targets file", direction="minimize",
                              metric_names=["misfit (sum of squared residuals in standard errors)"], about=about)


def finished_trials(study) -> list:
    from optuna.trial import TrialState

    return [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]


def close_stale(study) -> None:
    """Trials left running by an interrupted calibration are marked failed (they never finished)."""
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        study.tell(t.number, state=TrialState.FAIL)


def optimise(study, spec: Spec, scenario: Scenario, trials: int, *, workers: int = 1, scheduler: Any = None,
             progress: bool | None = None, on_trial: Callable[[int, int], None] | None = None) -> None:
    """Run trials one at a time until ``trials`` have finished; ``on_trial(done, trials)`` after each one is stored
    (an exception it raises, e.g. a user's Stop, ends the calibration with the finished trials kept)."""
    from optuna.trial import TrialState
    from ..progress import bar as progress_bar

    close_stale(study)
    dists = distributions(spec, scenario)
    done = len(finished_trials(study))
    with progress_bar(max(trials, done), initial=done, unit="trial", desc="calibrating", progress=progress) as bar:
        while done < trials:
            study.sampler = sampler(spec, done)
            trial = study.ask(dists)
            try:
                ev = evaluate(scenario, spec, dict(trial.params), workers=workers, scheduler=scheduler)
            except BaseException:
                study.tell(trial, state=TrialState.FAIL)
                raise
            trial.set_user_attr("fits", {f.target.key: [f.mean, f.low, f.high, f.residual if math.isfinite(f.residual) else None] for f in ev.fits})
            study.tell(trial, ev.objective)
            done += 1
            bar.set_postfix(best=f"{study.best_value:.3g}", refresh=False)  # before the update, so a log line shows it
            bar.update()
            if on_trial is not None:
                on_trial(done, trials)
