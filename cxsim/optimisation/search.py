"""The search: an Optuna study in SQLite, one plan (trial) at a time.

Samplers: NSGA-II (``NSGAIISampler``) for several objectives, multivariate TPE for one,
both constrained (``Trial.set_constraint``, or ``constraints_func`` before Optuna 5: a plan violating a constraint is never preferred to one
that meets them all). Every trial runs on the same search seeds.

Determinism: trials run one at a time; the sampler is re-made before every trial with a
seed from ``sampler_seed`` and the number of finished trials, and the samplers keep all
other state in the study's storage, so a study is a function of its file alone — the
number of workers never changes a number. A trial interrupted mid-evaluation stays
RUNNING in ``study.db`` with its parameters drawn; ``--resume`` evaluates those same
parameters first, so an interrupted and resumed search ends exactly where an
uninterrupted one ends. Named plans (``compare``) the levers can express are enqueued as
the first trials, so the search starts from them. A plan met again (Optuna may propose it twice, and the fields
of an unused lever do not matter) takes the first evaluation's numbers without runs.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

from .. import studies
from ..engine.scenario import Scenario, scenario_dict
from ..experiments.design import fingerprint
from .evaluate import Evaluation, Executor, describe, plan_key, plan_overrides
from .spec import Spec

STUDY = "optimisation"
WORST = 1e18
"""Objective value of a plan whose runs leave the objective undefined (e.g. nobody offered)."""


def identity(spec: Spec, base: Scenario) -> str:
    """What decides the trials: resuming with another scenario, levers, objectives, constraints or seeds is an error."""
    f = spec.file
    return fingerprint([
        scenario_dict(base), [(lv.name, lv.optional, [d.__dict__ for d in lv.dimensions]) for lv in spec.levers],
        [o.__dict__ for o in spec.objectives], [(c.name, c.upper, c.bound) for c in spec.constraints],
        spec.search_seeds, f.sampler_seed, f.population, f.startup_trials, len(spec.objectives),
    ] + ([list(spec.draws)] if spec.draws else []))  # posterior draws, when plans are evaluated over them


def open_study(out: Path, spec: Spec, base: Scenario, resume: bool):
    def enqueue_named_plans(study) -> None:
        for params in named_plans(spec, base):
            study.enqueue_trial(params)

    about = {"scenario": base.name, "seeds": list(spec.search_seeds), "customers": base.population.customers,
             "steps": spec.file.steps or base.steps, "constraints": [c.text for c in spec.constraints]}
    return studies.open_study(out, STUDY, identity(spec, base), resume, what="an optimisation",
                              started_with="another scenario, levers, objectives, constraints or seeds",
                              on_new=enqueue_named_plans, directions=[o.direction for o in spec.objectives],
                              metric_names=[o.name for o in spec.objectives], about=about)


def named_plans(spec: Spec, base: Scenario) -> list[dict[str, Any]]:
    """The ``compare`` variants the levers can express (their interventions all levers, their values in range): the first trials."""
    out = []
    for v in spec.file.compare:
        variant = base.variants[v]
        if set(variant.interventions) - {lv.name for lv in spec.levers} or variant.set:
            continue
        parts = [_lever_params(lv, base.interventions[lv.name], lv.name in variant.interventions) for lv in spec.levers]
        if all(p is not None for p in parts):
            out.append({k: val for p in parts for k, val in p.items()})
    return out


def _lever_params(lv, iv, on: bool) -> dict[str, Any] | None:
    """Optuna's parameters for one lever set as the scenario has it, or None if its range cannot express that."""
    if not lv.optional and not on:
        return None
    params: dict[str, Any] = {f"{lv.name}.enabled": on} if lv.optional else {}
    for d in lv.dimensions:
        value = getattr(iv, d.field)
        on_grid = d.step is None or round((value - d.low) / d.step, 9).is_integer()
        if not d.low <= value <= d.high or not on_grid:
            return None
        if not d.fixed:
            params[d.name] = value
    return params


def constraints_of(trial) -> list[float]:
    return list(trial.user_attrs["plan"]["constraints"])


def set_constraints() -> bool:
    """Optuna ≥ 5 records constraints on the trial (``Trial.set_constraint``); older ones ask a ``constraints_func``."""
    import optuna

    return hasattr(optuna.Trial, "set_constraint")


def make_sampler(spec: Spec, finished: int):
    """The sampler for the trial after ``finished`` complete ones (re-seeded per trial: resumable, deterministic)."""
    import optuna

    seed = (spec.file.sampler_seed * 1_000_003 + finished) % 2**32
    cf = constraints_of if spec.constraints and not set_constraints() else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if len(spec.objectives) > 1:
            return optuna.samplers.NSGAIISampler(population_size=spec.file.population, seed=seed, constraints_func=cf)
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=spec.file.startup_trials, constraints_func=cf)


def distributions(spec: Spec) -> dict[str, Any]:
    from optuna.distributions import CategoricalDistribution

    dists: dict[str, Any] = {}
    for lv in spec.levers:
        if lv.optional:
            dists[f"{lv.name}.enabled"] = CategoricalDistribution([False, True])
        for d in lv.dimensions:
            if not d.fixed:
                dists[d.name] = d.distribution()
    return dists


def objective_values(spec: Spec, ev: Evaluation) -> tuple[list[float], bool]:
    """Means over seeds (what the sampler sees) and whether every objective is defined."""
    values, ok = [], True
    for o in spec.objectives:
        m = ev.mean(o.name)
        if math.isnan(m):
            m, ok = (-WORST if o.maximise else WORST), False
        values.append(m)
    return values, ok


def complete(study) -> list:
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


class Search:
    """Runs trials until a number of them have finished (see the module docstring)."""

    def __init__(self, study, spec: Spec, base: Scenario, executor: Executor):
        self.study, self.spec, self.base, self.ex = study, spec, base, executor
        self.known: dict[str, dict[str, Any]] = {t.user_attrs["plan"]["plan_key"]: t.user_attrs["plan"] for t in complete(study) if "plan" in t.user_attrs}
        self.runs = 0

    def evaluate(self, params: dict[str, Any]) -> dict[str, Any]:
        """The user attributes of a trial with ``params``: its plan, numbers per seed, constraint violations."""
        overrides = plan_overrides(self.spec, params)
        key = plan_key(overrides)
        if key in self.known:
            return {**self.known[key], "repeat": True}
        ev = self.ex.evaluate(self.base, self.spec, [overrides], self.spec.search_seeds)[0]
        self.runs += len(self.spec.search_seeds)
        _, defined = objective_values(self.spec, ev)
        violations = [c.violation(ev.mean(c.name)) for c in self.spec.constraints]
        if not defined:
            violations = [max(v, 1.0) for v in violations] or violations
        attrs = {"plan_key": key, "plan": describe(self.spec, overrides), "overrides": overrides, "evaluation": ev.to_attrs(),
                 "constraints": violations, "defined": defined, "repeat": False}
        self.known[key] = attrs
        return attrs

    def finish(self, trial_number: int, params: dict[str, Any]) -> None:
        import optuna

        attrs = self.evaluate(params)
        trial = optuna.Trial(self.study, self.study._storage.get_trial_id_from_study_id_trial_number(self.study._study_id, trial_number))
        trial.set_user_attr("plan", attrs)  # one attribute: one commit
        if set_constraints():
            for i, v in enumerate(attrs["constraints"]):
                trial.set_constraint(str(i), v)
        values, _ = objective_values(self.spec, Evaluation.from_attrs(attrs["evaluation"]))
        self.study.tell(trial_number, values)

    def resume_stale(self) -> None:
        """Trials an interruption left RUNNING: evaluate the parameters they drew (or fail those that drew none)."""
        from optuna.trial import TrialState

        dists = distributions(self.spec)
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):  # WAITING ones (enqueued) are asked in turn
            if set(t.params) == set(dists):
                self.study.sampler = make_sampler(self.spec, len(complete(self.study)))
                self.finish(t.number, dict(t.params))
            else:
                self.study.tell(t.number, state=TrialState.FAIL)

    def run(self, trials: int, progress: bool | None = None, on_trial=None) -> None:
        """Run trials until ``trials`` are complete; ``on_trial(done, trials)`` after each (raise in it to stop: resumable)."""
        from ..progress import bar as progress_bar

        self.resume_stale()
        dists = distributions(self.spec)
        done = len(complete(self.study))
        with progress_bar(max(trials, done), initial=done, unit="plan", desc="optimising", progress=progress) as bar:
            while done < trials:
                self.study.sampler = make_sampler(self.spec, done)
                trial = self.study.ask(dists)
                self.finish(trial.number, dict(trial.params))
                done += 1
                bar.update()
                if on_trial is not None:
                    on_trial(done, trials)


__all__ = ["Search", "open_study", "make_sampler", "distributions", "identity", "WORST"]
