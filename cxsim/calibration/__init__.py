"""Calibration and validation as code: fit free parameters of a scenario to targets, then predict what was not fitted.

    from cxsim.calibration import calibrate
    cal = calibrate("aravind", "aravind_baseline", out="calibration/aravind_baseline")  # a ready-made targets file by name
    cal.best, cal.ranges, cal.validation.predictions

Modules: :mod:`.targets` (the targets file), :mod:`.observed` (targets from
observed counts, in a CSV, an upload or in memory), :mod:`.quantities` (what a target
measures), :mod:`.fit` (objective and Optuna study), :mod:`.validation` (uncertainty region
and predictions), :mod:`.report` and :mod:`.tomledit` (the files written), :mod:`.compare`
(observed counts beside simulated worlds: the explorer's 'Your own data').
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .. import studies
from ..engine.scenario import SCENARIO_DIR, Scenario, load_scenario
from ..state.params import CxError
from . import fit, targets as _targets, validation as _validation
from .targets import Spec


@dataclass
class Calibration:
    """What :func:`calibrate` found and wrote."""

    scenario: Scenario
    spec: Spec
    out: Path
    command: str
    date: str
    best: dict[str, Any]
    objective: float
    fits: list[fit.TargetFit]
    trials: pd.DataFrame
    region: pd.DataFrame
    ranges: pd.DataFrame
    start: dict[str, Any]
    scenario_path: Path | None
    targets_name: str
    validation: _validation.ValidationResult | None = None
    files: dict[str, Path] = field(default_factory=dict)
    truth: dict[str, float] | None = None

    def contains(self, values: dict[str, float]) -> dict[str, bool]:
        """Per parameter: does its range within noise of the best hold ``values[parameter]``?"""
        r = self.ranges.set_index("parameter")
        return {p: bool(r.loc[p, "low"] <= v <= r.loc[p, "high"]) for p, v in values.items()}


def scenario_file(scenario: str | Path | Scenario) -> Path | None:
    if isinstance(scenario, Scenario):
        return None
    path = Path(scenario)
    if not path.suffix:
        path = SCENARIO_DIR / f"{scenario}.toml"
    return path if path.exists() else None


def calibrate(scenario: str | Path | Scenario, targets: str | Path | dict, out: str | Path | None = None, *, trials: int | None = None,
              workers: int = 1, scheduler: Any = None, resume: bool = False, progress: bool | None = None,
              validate: bool = True, command: str | None = None, on_trial: Callable[[int, int], None] | None = None) -> Calibration:
    """Fit the free parameters of ``targets`` (a targets file or its mapping) to its targets; write the report to ``out``.

    ``scenario``: a built-in name, a scenario file, or a :class:`Scenario` in memory (e.g. the explorer's
    world; its ``calibrated.toml`` then extends the built-in scenario it is named after).
    ``trials`` overrides the file's budget; ``resume`` continues the study in ``out/study.db``
    (without it an existing study is an error). ``validate``: also run the file's ``[validation]``.
    ``on_trial(done, trials)`` runs after each finished trial (an exception it raises stops the
    calibration; the finished trials stay in the study, and ``resume`` continues from them).
    """
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    spec = _targets.load(targets, base)
    if spec.file.customers:
        base = base.with_overrides({"population.customers": spec.file.customers})
    n_trials = spec.file.trials if trials is None else trials
    if not 1 <= n_trials <= 100_000:
        raise CxError(f"--trials = {n_trials}: must be in 1 to 100000")
    targets_name = str(targets) if not isinstance(targets, dict) else "(mapping)"
    out = Path(out) if out is not None else Path("results") / f"calibrate-{base.name}"
    with studies.folder_lock(out, "a calibration"):  # one writer at a time: two resumes would share one study
        study = fit.open_study(out, spec, base, resume)
        fit.optimise(study, spec, base, n_trials, workers=workers, scheduler=scheduler, progress=progress, on_trial=on_trial)
        params = list(spec.parameters)
        table = _validation.trials_table(study, params)
        region = _validation.within_noise(table, len(params))
        best = {p: _validation._plain(region.loc[0, p]) for p in params}
        ev = fit.evaluate(base, spec, best, workers=workers, scheduler=scheduler)
        cal = Calibration(
            scenario=base, spec=spec, out=out,
            command=command or f"cxsim calibrate {base.name if isinstance(scenario, Scenario) else scenario} {targets_name}",
            date=_dt.date.today().isoformat(), best=best, objective=ev.objective, fits=ev.fits, trials=table,
            region=region, ranges=_validation.parameter_ranges(region, spec, table),
            start={p: _targets.current_value(base, p) for p in params},
            scenario_path=scenario_file(scenario), targets_name=targets_name,
        )
        if validate and spec.file.validation is not None:
            sets = _validation.parameter_sets(region, params, spec.file.validation.max_sets)
            cal.validation = _validation.validate(base, spec, sets, workers=workers, scheduler=scheduler)
        from .report import write_all

        cal.files = write_all(cal)
    return cal


def calibrate_posterior(scenario: str | Path | Scenario, targets: str | Path | dict, out: str | Path | None = None, *,
                        workers: int = 1, scheduler: Any = None, seed: int = 0, command: str | None = None,
                        say: Callable[[str], None] | None = None):
    """The posterior of ``targets``' free parameters given its observed counts (``[[observed]]``), instead of a best point.

    Each counted figure enters a binomial likelihood (:func:`.evidence.from_targets`); the result is a
    :class:`.bayesian.Inference` whose report gives each parameter's 90% interval and contraction (how
    much the data narrowed it), a warning where they did not, and every figure beside its posterior
    predictive. Design runs are kept in ``out/design``: an interrupted fit continues where it stopped.
    """
    from . import bayesian, evidence

    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    spec = _targets.load(targets, base)
    where = Path(targets).name if not isinstance(targets, dict) else "targets"
    ev = evidence.from_targets(spec, base, where)
    name = base.name if isinstance(scenario, Scenario) else str(scenario)
    out = Path(out) if out is not None else Path("results") / f"calibrate-{base.name}"
    command = command or f"cxsim calibrate {name} {targets if not isinstance(targets, dict) else '(mapping)'} --method posterior --out {out}"
    with studies.folder_lock(out, "a calibration"):
        return bayesian.infer_evidence(ev, out, command, str(targets) if not isinstance(targets, dict) else "(mapping)",
                                       workers=workers, scheduler=scheduler, seed=seed, say=say)


__all__ = ["calibrate", "calibrate_posterior", "Calibration", "Spec"]
