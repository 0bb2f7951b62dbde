"""Command line: a thin layer that turns arguments into scenario overrides and prints tables.

    cxsim list
    cxsim run aravind --variant aravind_1980s --replicates 5 --out results/aravind
    cxsim run aravind --intervention free_transport --set interventions.free_transport.subsidy=0.5
"""

from __future__ import annotations

import argparse
import json
import os
import math
import sys
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .params import CxError

COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help: str):
    """Register a sub-command: decorate ``(add_arguments, run)`` pairs."""

    def wrap(fn):
        COMMANDS[name] = (help, fn)
        return fn

    return wrap


def parse_value(text: str) -> Any:
    """'0.5' → 0.5, 'true' → True, '[\"a\"]' → list, anything else → the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise CxError(f"--set {pair!r}: expected path=value, e.g. population.customers=5000")
        path, value = pair.split("=", 1)
        out[path.strip()] = parse_value(value.strip())
    return out


def build_scenario(args: argparse.Namespace):
    """Scenario + variant + interventions + --set + size options, validated once."""
    from .scenario import load_scenario

    sc = load_scenario(args.scenario)
    if getattr(args, "variant", None):
        sc = sc.variant(args.variant)
    if getattr(args, "intervention", None):
        sc = sc.with_interventions(args.intervention)
    changes = parse_sets(getattr(args, "set", None))
    for opt, path in (("customers", "population.customers"), ("steps", "steps")):
        if getattr(args, opt, None) is not None:
            changes[path] = getattr(args, opt)
    return sc.with_overrides(changes) if changes else sc


def add_scenario_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="built-in scenario name (see `cxsim list`) or path to a .toml file")
    p.add_argument("--variant", help="a named variant of the scenario (or 'baseline': all interventions off)")
    p.add_argument("--intervention", "-i", action="append", metavar="NAME", help="switch an intervention on (repeatable)")
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a parameter, e.g. decision.w_fear=1.5 (repeatable)")
    p.add_argument("--customers", type=int, help="number of customers")
    p.add_argument("--steps", type=int, help="number of steps")


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.0f}"
    return str(v)


def print_table(rows: list[tuple[str, ...]]) -> None:
    width = max(len(r[0]) for r in rows)
    for r in rows:
        print(f"  {r[0]:<{width}}  " + "  ".join(f"{x:>14}" for x in r[1:]))


def _run_args(p: argparse.ArgumentParser) -> None:
    add_scenario_arguments(p)
    p.add_argument("--seed", type=int, help="seed of the first replicate (default: the scenario's)")
    p.add_argument("--replicates", type=int, default=1, help="runs with seeds seed, seed+1, … (default 1)")
    p.add_argument("--out", type=Path, help="folder for summary.json, timeseries.csv and customers.csv")


@command("run", "run a scenario and print its outcomes")
def _run(args: argparse.Namespace) -> int:
    from .metrics import METRICS, interval
    from .model import run

    sc = build_scenario(args)
    if not 1 <= args.replicates <= 10_000:
        raise CxError(f"--replicates = {args.replicates}: must be in 1 to 10000")
    seed0 = sc.seed if args.seed is None else args.seed
    results = []
    for r in range(args.replicates):
        results.append(run(sc, seed0 + r))
        print(f"  run {r + 1}/{args.replicates} (seed {seed0 + r}) done", file=sys.stderr)
    on = ", ".join(sc.enabled_interventions) or "none"
    print(f"{sc.title or sc.name}: {sc.population.customers:,} customers, {sc.steps} {sc.step_unit}s, interventions: {on}")
    summary = _combine([res.summary for res in results])
    if len(results) == 1:
        print_table([("metric", "value")] + [(m.label, _fmt(summary[m.name])) for m in METRICS])
    else:
        rows = [("metric", "mean", "95% low", "95% high")]
        for m in METRICS:
            mean, lo, hi = interval([res.summary[m.name] for res in results])
            rows.append((m.label, _fmt(mean), _fmt(lo), _fmt(hi)))
            summary.setdefault("intervals", {})[m.name] = [None if math.isnan(lo) else lo, None if math.isnan(hi) else hi]
        print_table(rows)
    reasons = summary["dropout_reasons"]
    if reasons:
        print("Why non-users stayed away: " + ", ".join(f"{k} {_fmt(v)}" for k, v in reasons.items()))
    if args.out:
        write_outputs(args.out, summary, results)
        print(f"wrote {args.out}/summary.json, timeseries.csv, customers.csv")
    return 0


def _combine(summaries: list[dict]) -> dict:
    """One summary from replicates: means of numbers, reasons averaged per run."""
    if len(summaries) == 1:
        return dict(summaries[0])
    out = dict(summaries[0])
    for key, value in summaries[0].items():
        if isinstance(value, (int, float)) and key not in ("seed", "customers", "steps"):
            vals = [s[key] for s in summaries if s[key] is not None]
            out[key] = sum(vals) / len(vals) if vals else None
    reasons: dict[str, float] = {}
    for s in summaries:
        for k, v in s["dropout_reasons"].items():
            reasons[k] = reasons.get(k, 0) + v / len(summaries)
    out["dropout_reasons"] = dict(sorted(reasons.items(), key=lambda kv: -kv[1]))
    out["seeds"] = [s["seed"] for s in summaries]
    out["replicates"] = len(summaries)
    return out


def write_outputs(out: Path, summary: dict, results: list) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    ts = pd.concat([res.timeseries.assign(seed=res.seed) for res in results], ignore_index=True)
    ts.to_csv(out / "timeseries.csv", index=False)
    customers = pd.concat([res.customers.assign(seed=res.seed) for res in results], ignore_index=True)
    customers.to_csv(out / "customers.csv", index=False)


@command("list", "list the built-in scenarios and their interventions")
def _list(args: argparse.Namespace) -> int:
    from .scenario import list_scenarios, load_scenario

    for name in list_scenarios():
        sc = load_scenario(name)
        print(f"{name:<20} {sc.story.fact or sc.title}")
        if args.verbose:
            print(f"{'':<20} interventions: {', '.join(sc.interventions) or '–'}; variants: {', '.join(sc.variants) or '–'}")
    return 0


def _list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--verbose", "-v", action="store_true", help="also list interventions and variants")


ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {"run": _run_args, "list": _list_args}


def explorer_page() -> Path:
    """The explorer's page: ``app/`` in a source checkout, ``cxsim/app/`` in an installed wheel."""
    here = Path(__file__).resolve().parent
    pages = [here.parent / "app" / "explorer.py", here / "app" / "explorer.py"]
    return next((page for page in pages if page.exists()), pages[0])


@command("app", "open the explorer in the browser (streamlit run app/explorer.py)")
def _app(args: argparse.Namespace) -> int:
    import subprocess

    page = explorer_page()
    if not page.exists():
        raise CxError(f"the explorer {page} is not there: reinstall cxsim (pip install cxsim, or pip install -e . in a checkout)")
    cmd = [sys.executable, "-m", "streamlit", "run", str(page), "--browser.gatherUsageStats", "false", "--server.showEmailPrompt", "false", "--client.toolbarMode", "minimal"]
    for option in ("port", "address", "headless"):
        if getattr(args, option) is not None:
            cmd += [f"--server.{option}", str(getattr(args, option))]
    extra = args.streamlit_args[1:] if args.streamlit_args[:1] == ["--"] else args.streamlit_args
    return subprocess.call(cmd + extra)


def _app_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server.port", "--port", dest="port", type=int, help="port to serve on (default 8501)")
    p.add_argument("--server.address", "--address", dest="address", help="address to serve on, e.g. 127.0.0.1")
    p.add_argument("--server.headless", "--headless", dest="headless", nargs="?", const="true", choices=["true", "false"], help="do not open a browser")
    p.add_argument("streamlit_args", nargs=argparse.REMAINDER, help="more `streamlit run` options after --, e.g. -- --theme.base dark")


ARGUMENTS["app"] = _app_args


@command("sweep", "run an experiment file (batch runs, sweeps, sensitivity, A/B) into a resumable results folder")
def _sweep(args: argparse.Namespace) -> int:
    from .experiments.runner import available_cpus
    from .experiments.sweep import run_experiment

    if args.workers is not None and args.workers < 1:
        raise CxError(f"--workers = {args.workers}: must be at least 1")
    try:
        result = run_experiment(args.experiment, args.out, workers=args.workers or available_cpus(), scheduler=args.scheduler,
                                resume=args.resume, customers=args.customers, replicates=args.replicates, samples=args.samples)
    except KeyboardInterrupt:
        print("cxsim: finished runs are kept; run the same command with --resume to complete the sweep", file=sys.stderr)
        raise
    print(f"{result.plan.experiment.title or result.plan.experiment.name}: {len(result.runs)} of {len(result.plan.tasks)} runs "
          f"in {result.out} ({result.ran} run now, {result.skipped} already there)")
    for line in result.headline:
        print(f"  {line}")
    if result.files:
        print("wrote " + ", ".join(str(p) for p in result.files.values()))
    return 0


def _sweep_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="experiment file (.toml) or the name of one in experiments/")
    p.add_argument("--workers", "-j", type=int, help="local worker processes (default: all CPUs; 1 = in this process)")
    p.add_argument("--scheduler", help="Dask scheduler address tcp://host:port (default: $CXSIM_SCHEDULER; else local)")
    p.add_argument("--out", "-o", type=Path, help="results folder (default results/<experiment name>)")
    p.add_argument("--resume", action="store_true", help="complete an interrupted sweep: finished runs are kept, the rest run")
    p.add_argument("--customers", type=int, help="quick look: customers per run (changes the runs' keys)")
    p.add_argument("--replicates", type=int, help="quick look: replicates per point and policy")
    p.add_argument("--samples", type=int, help="quick look: design samples (Sobol: a power of 2)")


ARGUMENTS["sweep"] = _sweep_args


@command("story", "tell a scenario's story (inside-out, outside-in, what changed) with the numbers of runs")
def _story(args: argparse.Namespace) -> int:
    from .scenario import load_scenario
    from .story import scenario_story

    if not 1 <= args.seeds <= 1000:
        raise CxError(f"--seeds = {args.seeds}: must be in 1 to 1000")
    sc = load_scenario(args.scenario)
    changes = parse_sets(args.set)
    if args.seed is not None:
        changes["seed"] = args.seed
    if changes:
        sc = sc.with_overrides(changes)
    for v in args.variant or []:
        if v != "baseline" and v not in sc.variants:
            raise CxError(f"unknown variant {v!r} for scenario {sc.name!r}: choose from {', '.join(sc.variants) or '(none)'}")
    print(scenario_story(sc, args.seeds, customers=args.customers, steps=args.steps, variants=args.variant))
    return 0


def _story_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="built-in scenario name (see `cxsim list`) or path to a .toml file")
    p.add_argument("--seeds", type=int, default=5, help="replicates, all variants on the same seeds (default 5)")
    p.add_argument("--seed", type=int, help="first seed (default: the scenario's)")
    p.add_argument("--variant", action="append", metavar="NAME", help="compare only this variant with the baseline (repeatable; default: all)")
    p.add_argument("--customers", type=int, help="number of customers (default: the scenario's)")
    p.add_argument("--steps", type=int, help="number of steps (default: the scenario's)")
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a parameter, e.g. relationship.memory=0.5 (repeatable)")


ARGUMENTS["story"] = _story_args


@command("calibrate", "fit a scenario's free parameters to targets (Optuna), report the fit and predict what was not fitted")
def _calibrate(args: argparse.Namespace) -> int:
    from .calibration import calibrate
    from .experiments.runner import available_cpus

    if args.workers is not None and args.workers < 1:
        raise CxError(f"--workers = {args.workers}: must be at least 1")
    command = " ".join(["cxsim calibrate", str(args.scenario), str(args.targets)] + (["--trials", str(args.trials)] if args.trials else []))
    try:
        cal = calibrate(args.scenario, args.targets, args.out, trials=args.trials, workers=args.workers or available_cpus(),
                        scheduler=args.scheduler, resume=args.resume, command=command)
    except KeyboardInterrupt:
        print("cxsim: finished trials are kept in study.db; run the same command with --resume to continue", file=sys.stderr)
        raise
    print(f"{cal.scenario.title or cal.scenario.name}: {len(cal.trials)} trials, objective {cal.objective:.3g} at the best")
    for r in cal.ranges.itertuples():
        print(f"  {r.parameter} = {r.best:.4g}  (within noise: {r.low:.4g} to {r.high:.4g}{'; reaches the prior bound' if r.reaches_bound else ''})")
    for f in cal.fits:
        print(f"  {f.target.label}: target {f.target.figure}, fitted {f.mean:.4g} ({f.low:.4g} to {f.high:.4g}), residual {f.residual:.2f} se")
    if cal.validation is not None:
        for r in cal.validation.predictions.itertuples():
            print(f"  predicted {cal.validation.measure} ({r.variant}): {r.predicted:.4g} ({r.low:.4g} to {r.high:.4g})"
                  + (f", observed {r.observed:.4g}" if r.observed is not None else ""))
    print("wrote " + ", ".join(str(p) for p in cal.files.values()))
    return 0


def _calibrate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="built-in scenario name (see `cxsim list`) or path to a .toml file")
    p.add_argument("targets", type=Path, help="targets file (.toml): free parameters, targets, seeds, trials (see docs/model.md)")
    p.add_argument("--out", "-o", type=Path, help="report folder (default results/calibrate-<scenario>)")
    p.add_argument("--trials", type=int, help="trials in all (default: the targets file's)")
    p.add_argument("--workers", "-j", type=int, help="local worker processes for the runs of a trial (default: all CPUs; 1 = in this process)")
    p.add_argument("--scheduler", help="Dask scheduler address tcp://host:port (default: $CXSIM_SCHEDULER; else local)")
    p.add_argument("--resume", action="store_true", help="continue the study in --out (an interrupted or shorter calibration)")


ARGUMENTS["calibrate"] = _calibrate_args


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cxsim")
    except PackageNotFoundError:  # a checkout on the path, not installed
        from . import __version__

        return __version__


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cxsim", description="Agent-based simulation of customer experience.")
    parser.add_argument("--version", action="version", version=f"cxsim {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, _) in COMMANDS.items():
        ARGUMENTS.get(name, lambda p: None)(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command][1](args)
    except CxError as err:
        print(f"cxsim: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cxsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `cxsim run aravind | head`
        sys.stdout = open(os.devnull, "w")
        return 0


if __name__ == "__main__":
    sys.exit(main())
