"""A sweep: plan an experiment file, run what is missing, store every run, then report.

    from cxsim.experiments import run_experiment
    result = run_experiment("aravind_waterfall", out="results/waterfall", workers=4)
    result.runs            # one row per run (also: load_results("results/waterfall"))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..engine.scenario import scenario_dict
from ..state.params import CxError
from .design import Plan, make_plan
from .runner import execute, resolve_scheduler
from .spec import Experiment, load_experiment, parse_experiment
from .store import Store, load_results, provenance


@dataclass
class SweepResult:
    out: Path
    plan: Plan
    ran: int
    skipped: int
    runs: pd.DataFrame
    files: dict[str, Path] = field(default_factory=dict)
    headline: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    repaired: list[str] = field(default_factory=list)  # damaged result files found and run again


def prepare(experiment: Experiment | str | Path, **quick: Any) -> tuple[Experiment, Path | None]:
    """Load an experiment and apply quick changes (``customers``, ``replicates``, ``samples``), re-validated."""
    if isinstance(experiment, Experiment):
        exp, source = experiment, None
    else:
        exp, source = load_experiment(experiment)
    changes = {k: v for k, v in quick.items() if v is not None}
    if changes:
        raw = exp.model_dump(exclude_unset=True)
        if "samples" in changes:
            raw["design"] = {**raw.get("design", {}), "samples": changes.pop("samples")}
        raw.update(changes)
        exp = parse_experiment(raw, where=source.name if source else "experiment")
    return exp, source


def header(plan: Plan, source: Path | None, previous: dict[str, Any]) -> dict[str, Any]:
    """What the manifest says about the sweep (the finished runs are added from the files)."""
    exp = plan.experiment
    prov = provenance()
    if previous.get("created"):
        prov["created"] = previous["created"]
    return {
        "experiment": exp.name, "title": exp.title, "experiment_file": str(source) if source else None,
        "spec": exp.model_dump(mode="json"), "scenario": scenario_dict(plan.base), "seeds": plan.seeds,
        "design": {"kind": exp.design.kind, "points": len(plan.points), "factors": plan.factors},
        "policies": plan.policies, "planned": len(plan.tasks), **prov,
    }


RESULTS = Path("results")
"""Where a sweep writes when no folder is given: ``results/<experiment name>``."""


def results_folder(exp: Experiment, out: str | Path | None) -> Path:
    """The folder given, or ``results/NAME`` checked to stay inside ``results/`` whatever the name says."""
    from ..outputs import inside

    if out is not None:
        return Path(out)
    return inside(RESULTS, exp.name or "experiment")


def check_sweep_folder(out: Path) -> None:
    """A sweep writes into a new or empty folder, or one holding a sweep's results; anything else is refused."""
    from .store import MANIFEST, RUNS

    if not out.exists():
        return
    if not out.is_dir():
        raise CxError(f"--out {out}: is not a folder (a file or a device): choose a new or empty folder")
    entries = [p.name for p in out.iterdir() if not p.name.startswith(".")]
    if entries and not (out / MANIFEST).exists() and not (out / RUNS).is_dir():
        raise CxError(f"--out {out}: holds other files ({', '.join(sorted(entries)[:3])}{', …' if len(entries) > 3 else ''}), "
                      "not a sweep's results: choose a new or empty folder")


def run_experiment(experiment: Experiment | str | Path, out: str | Path | None = None, *, workers: int = 1,
                   scheduler: Any = None, resume: bool = False, progress: bool | None = None, report: bool = True,
                   customers: int | None = None, replicates: int | None = None, samples: int | None = None,
                   allow_large: bool = False) -> SweepResult:
    """Run an experiment into ``out`` (default ``results/<name>``); with ``resume`` finish an interrupted one.

    Refused before anything runs: work above :data:`cxsim.workload.BOUND` unless ``allow_large``,
    a folder another sweep is writing (it is locked while a sweep writes it).
    """
    exp, source = prepare(experiment, customers=customers, replicates=replicates, samples=samples)
    plan = make_plan(exp, source, allow_large=allow_large, workers=workers)
    out = results_folder(exp, out)
    check_sweep_folder(out)
    store = Store(out)
    with store.lock():
        return _run_locked(plan, source, store, out, resume, workers, scheduler, progress, report)


def _run_locked(plan: Plan, source: Path | None, store: Store, out: Path, resume: bool, workers: int, scheduler: Any,
                progress: bool | None, report: bool) -> SweepResult:
    from ..outputs import Incomplete

    exp = plan.experiment
    if store.has_runs() and not resume:
        n = len(list(store.runs.glob("*.parquet")))
        raise CxError(f"{out} already holds {n} runs: pass --resume to complete them, or choose another --out")
    store.open()
    repaired = store.verify() if resume else []
    done = store.finished()
    planned = {t.key for t in plan.tasks}
    foreign = done - planned
    if foreign:
        raise CxError(f"{out} holds {len(foreign)} runs this experiment does not plan (it or its scenario changed): choose another --out")
    head = header(plan, source, store.read_manifest())
    store.write_manifest(head)
    todo = [t for t in plan.tasks if t.key not in done]
    try:
        execute(plan.base, todo, store.save, workers=workers, scheduler=resolve_scheduler(scheduler),
                progress=progress, done=len(done), desc=exp.name or "runs")
    except (CxError, KeyboardInterrupt):
        raise
    except Exception as err:
        raise Incomplete(f"a run failed ({type(err).__name__}: {' '.join(str(err).split())[:60]}); finished runs are kept in {out}: "
                         "run the same command with --resume to complete the sweep") from err
    finally:
        store.write_manifest(head)
    runs = load_results(out)
    result = SweepResult(out, plan, len(todo), len(done), runs, repaired=repaired)
    if report:
        from .reports import make_report

        try:
            make_report(result)
        except (KeyboardInterrupt, CxError):
            raise
        except Exception as err:
            raise Incomplete(f"all {len(runs)} runs are kept in {out}, but the report failed ({type(err).__name__}: "
                             f"{' '.join(str(err).split())[:60]}): run the same command with --resume to write it again") from err
    return result
