"""Command line: a thin layer that turns arguments into scenario overrides and prints tables.

    cxsim list
    cxsim run aravind --variant aravind_1980s --replicates 5 --out results/aravind
    cxsim run aravind --intervention free_transport --set interventions.free_transport.subsidy=0.5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable

from .params import CxError

MAX_SEED = 2**63 - 1
MAX_ERROR = 200
"""An error line is at most this many characters (longer messages are shortened with …)."""

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


class ArgumentError(CxError):
    """A bad command-line argument (exit status 2)."""


def integer(option: str, lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: an integer in ``lo``–``hi``, else one line naming the option, the value and the range."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} = {_short(text)}: must be an integer in {lo} to {hi}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{option} = {value}: must be in {lo} to {hi}")
        return value

    parse.__name__ = option  # argparse names the type in some messages
    return parse


def _short(text: Any, width: int = 40) -> str:
    text = repr(text)
    return text if len(text) <= width else text[: width - 1] + "…"


SEED = integer("--seed", 0, MAX_SEED)
PORT = integer("--port", 1, 65535)


def check_scheduler(address: str | None, where: str = "--scheduler") -> str | None:
    """A Dask scheduler address of the form ``[tcp|tls|ucx|ws|wss://]host:port``, checked before connecting."""
    from .experiments.runner import check_address

    try:
        return check_address(address, where) if address else None
    except CxError as err:
        raise ArgumentError(str(err)) from None


def scenario_source(text: str, what: str = "scenario") -> str:
    """A scenario name or file; a folder (or anything that is not a regular file) given as one is refused."""
    path = Path(text)
    if path.exists() and not path.is_file():
        raise ArgumentError(f"{what} {_short(text)}: is a folder or special file, not a .toml file")
    return text


def build_scenario(args: argparse.Namespace):
    """Scenario + variant + interventions + --set + size options, validated once."""
    from .scenario import load_scenario

    sc = load_scenario(scenario_source(args.scenario))
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
    p.add_argument("--customers", type=integer("--customers", 1, 10**9), help="number of customers")
    p.add_argument("--steps", type=integer("--steps", 1, 10**6), help="number of steps")


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
    from .outputs import FORMATS

    add_scenario_arguments(p)
    p.add_argument("--seed", type=SEED, help="seed of the first replicate (default: the scenario's)")
    p.add_argument("--replicates", type=integer("--replicates", 1, 10_000), default=1, help="runs with seeds seed, seed+1, … (default 1)")
    p.add_argument("--out", type=Path, help="folder for summary.json, customers.parquet and timeseries.parquet (checked before running)")
    p.add_argument("--format", choices=FORMATS, default="parquet", help="format of the customers and time-series tables (default parquet)")
    p.add_argument("--allow-large", action="store_true", help="run even above the work bound (see cxsim.workload)")


@command("run", "run a scenario and print its outcomes")
def _run(args: argparse.Namespace) -> int:
    from .outputs import RunWriter, check_out_dir, combine
    from .workload import Workload, check

    out = check_out_dir(args.out) if args.out else None  # before anything runs
    sc = build_scenario(args)
    check(Workload(args.replicates, sc.population.customers, sc.steps), args.allow_large)
    seed0 = sc.seed if args.seed is None else args.seed
    if seed0 + args.replicates - 1 > MAX_SEED:
        raise ArgumentError(f"--seed = {seed0}: with {args.replicates} replicates the last seed would exceed {MAX_SEED}")
    writer = RunWriter(out, args.format) if out else None
    summaries = _run_replicates(sc, seed0, args.replicates, writer, args)
    summary = combine(summaries)
    _print_run(sc, summaries, summary)
    if writer:
        print("wrote " + ", ".join(str(p) for p in writer.files))
    return 0


def _run_replicates(sc, seed0: int, replicates: int, writer, args: argparse.Namespace) -> list[dict]:
    """Run the replicates one after another, each written as it finishes; only summaries stay in memory."""
    import gc

    from .model import run
    from .outputs import Incomplete

    summaries: list[dict] = []
    try:
        for r in range(replicates):
            seed = seed0 + r
            try:
                res = run(sc, seed)
                if writer:
                    writer.add(res)
                summaries.append(res.summary)
            except (CxError, KeyboardInterrupt):
                raise
            except Exception as err:  # keep what finished, say how to complete it
                raise Incomplete(_incomplete(err, seed, seed0, replicates - r, args)) from err
            del res
            gc.collect()  # a finished model (its arrays) is freed before the next one is built
            print(f"  run {r + 1}/{replicates} (seed {seed}) done", file=sys.stderr)
    finally:
        if writer:
            writer.close()
    return summaries


def _incomplete(err: Exception, seed: int, seed0: int, left: int, args: argparse.Namespace) -> str:
    kept = f"seeds {seed0}–{seed - 1} are kept in {args.out}; " if seed > seed0 and args.out else ""
    return (f"seed {seed} failed ({type(err).__name__}: {_short(str(err), 40)}); {kept}"
            f"finish with the same command and --seed {seed} --replicates {left} --out NEW_FOLDER")


def _print_run(sc, summaries: list[dict], summary: dict) -> None:
    from .metrics import METRICS

    on = ", ".join(sc.enabled_interventions) or "none"
    print(f"{sc.title or sc.name}: {sc.population.customers:,} customers, {sc.steps} {sc.step_unit}s, interventions: {on}")
    if len(summaries) == 1:
        print_table([("metric", "value")] + [(m.label, _fmt(summary[m.name])) for m in METRICS])
        reasons = summary["dropout_reasons"]
    else:
        rows = [("metric", "mean", "95% low", "95% high")]
        for m in METRICS:
            lo, hi = summary["ci95"][m.name]
            rows.append((m.label, _fmt(summary["mean"][m.name]), _fmt(lo), _fmt(hi)))
        print_table(rows)
        reasons = dict(sorted(summary["mean"]["dropout_reasons"].items(), key=lambda kv: -kv[1]))
    if reasons:
        print("Why non-users stayed away: " + ", ".join(f"{k} {_fmt(v)}" for k, v in reasons.items()))


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


LOCALHOST = "127.0.0.1"


def streamlit_command(args: argparse.Namespace) -> list[str]:
    """The ``streamlit run`` line for the explorer: bound to 127.0.0.1 unless ``--host`` says otherwise."""
    page = explorer_page()
    if not page.exists():
        raise CxError(f"the explorer {page} is not there: reinstall cxsim (pip install cxsim, or pip install -e . in a checkout)")
    cmd = [sys.executable, "-m", "streamlit", "run", str(page), "--browser.gatherUsageStats", "false", "--server.showEmailPrompt", "false",
           "--client.toolbarMode", "minimal", "--server.address", args.host or LOCALHOST]
    if args.port is not None:
        cmd += ["--server.port", str(args.port)]
    if args.headless is not None:
        cmd += ["--server.headless", args.headless]
    extra = args.streamlit_args[1:] if args.streamlit_args[:1] == ["--"] else args.streamlit_args
    if any(a.split("=")[0] == "--server.address" for a in extra):
        raise ArgumentError("give the address with --host (e.g. --host 0.0.0.0 to serve the network), not --server.address after --")
    return cmd + extra


@command("app", "open the explorer in the browser (streamlit run app/explorer.py), on 127.0.0.1 unless --host is given")
def _app(args: argparse.Namespace) -> int:
    from .kernels import ensure_compiled

    cmd = streamlit_command(args)
    ensure_compiled()  # once per machine, before the first page, with a message
    if args.host and args.host not in (LOCALHOST, "localhost", "::1"):
        print(f"cxsim: warning: serving the explorer on {args.host}: anyone who can reach this machine can use it "
              "and start computations", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, cmd)  # cxsim becomes streamlit: its PID, its signals
    return 0  # not reached


def _app_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server.port", "--port", dest="port", type=PORT, help="port to serve on (default 8501)")
    p.add_argument("--host", "--server.address", "--address", dest="host",
                   help="address to serve on (default 127.0.0.1, this machine only; 0.0.0.0 serves the network)")
    p.add_argument("--server.headless", "--headless", dest="headless", nargs="?", const="true", choices=["true", "false"], help="do not open a browser")
    p.add_argument("streamlit_args", nargs=argparse.REMAINDER, help="more `streamlit run` options after --, e.g. -- --theme.base dark")


ARGUMENTS["app"] = _app_args


@command("sweep", "run an experiment file (batch runs, sweeps, sensitivity, A/B) into a resumable results folder")
def _sweep(args: argparse.Namespace) -> int:
    from .experiments.runner import available_cpus
    from .experiments.sweep import run_experiment

    scheduler = check_scheduler(args.scheduler) if args.scheduler else check_scheduler(os.environ.get("CXSIM_SCHEDULER") or None, "$CXSIM_SCHEDULER")
    scenario_source(args.experiment, "experiment")
    try:
        result = run_experiment(args.experiment, args.out, workers=args.workers or available_cpus(), scheduler=scheduler,
                                resume=args.resume, customers=args.customers, replicates=args.replicates, samples=args.samples,
                                allow_large=args.allow_large)
    except KeyboardInterrupt:
        print("cxsim: finished runs are kept; run the same command with --resume to complete the sweep", file=sys.stderr)
        raise
    for name in result.repaired:
        print(f"cxsim: {name} was damaged (its checksum differs from the log): its run was done again", file=sys.stderr)
    print(f"{result.plan.experiment.title or result.plan.experiment.name}: {len(result.runs)} of {len(result.plan.tasks)} runs "
          f"in {result.out} ({result.ran} run now, {result.skipped} already there)")
    for line in result.headline:
        print(f"  {line}")
    if result.files:
        print("wrote " + ", ".join(str(p) for p in result.files.values()))
    return 0


def _sweep_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="experiment file (.toml) or the name of one in experiments/")
    p.add_argument("--workers", "-j", type=integer("--workers", 1, 4096), help="local worker processes (default: all CPUs; 1 = in this process)")
    p.add_argument("--scheduler", help="Dask scheduler address tcp://host:port (default: $CXSIM_SCHEDULER; else local)")
    p.add_argument("--out", "-o", type=Path, help="results folder (default results/<experiment name>)")
    p.add_argument("--resume", action="store_true", help="complete an interrupted sweep: finished runs are kept, damaged and missing ones run")
    p.add_argument("--customers", type=integer("--customers", 1, 10**9), help="quick look: customers per run (changes the runs' keys)")
    p.add_argument("--replicates", type=integer("--replicates", 1, 10**6), help="quick look: replicates per point and policy")
    p.add_argument("--samples", type=integer("--samples", 1, 10**9), help="quick look: design samples (Sobol: a power of 2)")
    p.add_argument("--allow-large", action="store_true", help="run even above the work bound (see cxsim.workload)")


ARGUMENTS["sweep"] = _sweep_args


@command("story", "tell a scenario's story (inside-out, outside-in, what changed) with the numbers of runs")
def _story(args: argparse.Namespace) -> int:
    from .scenario import load_scenario
    from .narrative import scenario_story

    from .workload import Workload, check

    sc = load_scenario(scenario_source(args.scenario))
    changes = parse_sets(args.set)
    if args.seed is not None:
        changes["seed"] = args.seed
    if changes:
        sc = sc.with_overrides(changes)
    for v in args.variant or []:
        if v != "baseline" and v not in sc.variants:
            raise CxError(f"unknown variant {v!r} for scenario {sc.name!r}: choose from {', '.join(sc.variants) or '(none)'}")
    worlds = 1 + len(args.variant or sc.variants)
    check(Workload(worlds * args.seeds, args.customers or sc.population.customers, args.steps or sc.steps), args.allow_large)
    print(scenario_story(sc, args.seeds, customers=args.customers, steps=args.steps, variants=args.variant))
    return 0


def _story_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="built-in scenario name (see `cxsim list`) or path to a .toml file")
    p.add_argument("--seeds", type=integer("--seeds", 1, 1000), default=5, help="replicates, all variants on the same seeds (default 5)")
    p.add_argument("--seed", type=SEED, help="first seed (default: the scenario's)")
    p.add_argument("--variant", action="append", metavar="NAME", help="compare only this variant with the baseline (repeatable; default: all)")
    p.add_argument("--customers", type=integer("--customers", 1, 10**9), help="number of customers (default: the scenario's)")
    p.add_argument("--steps", type=integer("--steps", 1, 10**6), help="number of steps (default: the scenario's)")
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a parameter, e.g. relationship.memory=0.5 (repeatable)")
    p.add_argument("--allow-large", action="store_true", help="run even above the work bound (see cxsim.workload)")


ARGUMENTS["story"] = _story_args


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cxsim")
    except PackageNotFoundError:  # a checkout on the path, not installed
        from . import __version__

        return __version__


class Parser(argparse.ArgumentParser):
    """argparse, with a bad argument reported as one line (no usage block) and exit status 2."""

    def error(self, message: str):
        message = re.sub(r"^argument [^:]+: (?=--)", "", message)  # our own messages name the option already
        self.exit(2, f"cxsim: error: {one_line(message)}\n")


@command("compile", "compile the engine's kernels now (otherwise done once per machine at first use, with a message)")
def _compile(args: argparse.Namespace) -> int:
    from . import kernels

    if kernels.is_compiled() and not args.force:
        print(f"kernels already compiled on this machine ({kernels.stamp_path()}); --force compiles them again")
        return 0
    kernels.compile_all()  # says on stderr that it compiles, and how long it took
    print(f"kernels cached in {kernels.cache_dir()}")
    return 0


def _compile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="compile (or load) every kernel even if this machine has them")


ARGUMENTS["compile"] = _compile_args


def make_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="cxsim", description="Agent-based simulation of customer experience.")
    parser.add_argument("--version", action="version", version=f"cxsim {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, _) in COMMANDS.items():
        ARGUMENTS.get(name, lambda p: None)(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def one_line(message: Any, width: int = MAX_ERROR) -> str:
    """A message as one line of at most ``width`` characters."""
    text = " ".join(str(message).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    from .outputs import Incomplete

    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) or a bad argument (2, already reported in one line)
        return int(stop.code or 0)
    try:
        return COMMANDS[args.command][1](args)
    except Incomplete as err:
        print(f"cxsim: error: {one_line(err, MAX_ERROR + 60)}", file=sys.stderr)
        return 1
    except CxError as err:
        print(f"cxsim: error: {one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cxsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `cxsim run aravind | head`
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as err:  # the disk, not the input: one line, what and where
        print(f"cxsim: error: {one_line(f'{err.strerror or err}: {err.filename or ''}')}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
