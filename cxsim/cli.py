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

from .state.params import MAX_LINE, CxError, one_line, path_text

MAX_SEED = 2**63 - 1
MAX_ERROR = MAX_LINE
"""An error line is at most this many characters (longer messages are shortened with …: :func:`cxsim.state.params.one_line`)."""

COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


JSON_COMMANDS: set[str] = set()
"""Sub-commands with ``--json`` (see :func:`command`)."""


def command(name: str, help: str, json: bool = False):
    """Register a sub-command's ``run(args)``; its arguments go in ``ARGUMENTS[name]``.

    ``json=True`` gives the command a ``--json`` option: ``run`` then returns its result
    as one JSON-able document (a dict) instead of an exit status. Without ``--json`` the
    document is dropped (exit 0); with it, whatever the command prints goes to stderr and
    the document alone to stdout (see :func:`main`).
    """

    def wrap(fn):
        COMMANDS[name] = (help, fn)
        if json:
            JSON_COMMANDS.add(name)
        return fn

    return wrap


def json_document(document: Any) -> str:
    """A command's result as JSON: NaN becomes null, numpy numbers plain numbers, paths strings."""

    def plain(x: Any) -> Any:
        if isinstance(x, dict):
            return {str(k): plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        if isinstance(x, float) and math.isnan(x):
            return None
        if hasattr(x, "item") and not isinstance(x, (str, bytes)):  # numpy scalars
            return plain(x.item())
        if isinstance(x, (str, int, float, bool)) or x is None:
            return x
        return str(x)

    return json.dumps(plain(document), indent=2, ensure_ascii=False, allow_nan=False)


def parse_value(text: str) -> Any:
    """'0.5' → 0.5, 'true' → True, '[\"a\"]' → list, anything else → the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


MAX_DIGITS = 4300
"""Longest integer Python reads from text (``sys.get_int_max_str_digits``): a longer one is refused, not a traceback."""


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ArgumentError(f"--set {_short(pair)}: expected path=value, e.g. population.customers=5000")
        path, value = pair.split("=", 1)
        try:
            out[path.strip()] = parse_value(value.strip())
        except ValueError:  # json's "Exceeds the limit (4300 digits) for integer string conversion"
            raise ArgumentError(f"--set {path.strip()} = {_short(value.strip(), 24)}: a number of more than {MAX_DIGITS} digits; "
                                "give a number in the parameter's range") from None
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


def finite(option: str, lo: float) -> Callable[[str], float]:
    """An argparse type: a finite number of at least ``lo``, else one line naming the option, the value and the range."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < lo:
            raise argparse.ArgumentTypeError(f"{option} = {_short(text)}: must be a finite number ≥ {lo:g}")
        return value

    parse.__name__ = option
    return parse


SEED = integer("--seed", 0, MAX_SEED)
PORT = integer("--port", 1, 65535)


def check_scheduler(address: str | None, where: str = "--scheduler") -> str | None:
    """A Dask scheduler address of the form ``[tcp|tls|ucx|ws|wss://]host:port``, checked before connecting."""
    from .experiments.runner import check_address

    try:
        return check_address(address, where) if address else None
    except CxError as err:
        raise ArgumentError(str(err)) from None


def check_writable_dir(path: Path, what: str = "--out") -> Path:
    from .outputs import check_writable_dir as check

    return check(path, what)


def scenario_source(text: str, what: str = "scenario") -> str:
    """A scenario name or file; a folder (or anything that is not a regular file) given as one is refused."""
    path = Path(path_text(text, what))
    if path.exists() and not path.is_file():
        raise ArgumentError(f"{what} {_short(text)}: is a folder or special file, not a .toml file")
    return text


def build_scenario(args: argparse.Namespace):
    """Scenario + variant + interventions + --set + size options, validated once."""
    from .engine.scenario import load_scenario

    sc = load_scenario(scenario_source(args.scenario))
    if getattr(args, "variant", None) is not None:  # --variant "" is a mistake, not the baseline
        sc = sc.variant(args.variant)
    if getattr(args, "intervention", None):
        sc = sc.with_interventions(args.intervention)
    changes = parse_sets(getattr(args, "set", None))
    sizes = {path: getattr(args, opt) for opt, path in SIZE_OPTIONS if getattr(args, opt, None) is not None}
    for opt, path in SIZE_OPTIONS:
        if path in changes and path in sizes:
            raise ArgumentError(f"--set {path}={_short(changes[path], 24)} and --{opt} {sizes[path]}: "
                                f"give the {opt} once (--{opt} or --set {path})")
    return sc.with_overrides({**changes, **sizes}) if changes or sizes else sc


SIZE_OPTIONS = (("customers", "population.customers"), ("steps", "steps"))
"""Options that set a scenario path (``--customers`` is ``--set population.customers=…``)."""


def add_scenario_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="built-in scenario name (see `cxsim list`) or path to a .toml file")
    p.add_argument("--variant", help="a named variant of the scenario (or 'baseline': all interventions off)")
    p.add_argument("--intervention", "-i", action="append", metavar="NAME", help="switch an intervention on (repeatable)")
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a parameter, e.g. decision.w_fear=1.5 (repeatable)")
    p.add_argument("--customers", type=integer("--customers", 1, 10**9), help="number of customers")
    p.add_argument("--steps", type=integer("--steps", 1, 10**6), help="number of steps")


def _fmt(v: Any, unit: str = "") -> str:
    """A number for the human tables, in its unit's style (:func:`cxsim.readouts.formatting.number`, shared with story and sweep)."""
    from .readouts.formatting import number

    return number(v, unit)


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
    add_uncertainty_arguments(p, seeds_option="--replicates")


def add_uncertainty_arguments(p: argparse.ArgumentParser, seeds_option: str = "--seeds", draws: int | None = None, pool: bool = True) -> None:
    """--uncertainty, --draws, --posterior, --workers and --scheduler: the options of an ensemble (cxsim.ensemble)."""
    from .uncertainty import DEFAULT_DRAWS, KINDS

    p.add_argument("--uncertainty", choices=KINDS, help="intervals over posterior draws × seeds (parameters and chance) or over "
                   "seeds only (chance); default: posterior where the scenario has one")
    draws = draws or DEFAULT_DRAWS
    p.add_argument("--draws", type=integer("--draws", 1, 100_000), default=draws,
                   help=f"posterior draws (parameter sets), each run on {seeds_option} seeds (default {draws})")
    p.add_argument("--posterior", type=Path, help="a posterior file (.posterior.parquet) instead of the scenario's own")
    if not pool:
        return
    p.add_argument("--workers", "-j", type=integer("--workers", 1, 4096), default=1,
                   help="local worker processes for an ensemble's runs (default 1 = in this process; results identical)")
    p.add_argument("--scheduler", help="Dask scheduler address tcp://host:port for an ensemble's runs (default: $CXSIM_SCHEDULER; else local)")


def ensemble_options(args: argparse.Namespace, scenario: Any) -> tuple[Any, str]:
    """The posterior (or None) and the kind of uncertainty the command's options ask for, checked before running."""
    from .uncertainty import FIND, choose_kind, resolve_posterior

    if args.posterior is not None:
        scenario_source(str(args.posterior), "--posterior")
        if not args.posterior.is_file():
            raise ArgumentError(f"--posterior = {_short(str(args.posterior))}: no such file")
    post, source = resolve_posterior(scenario, args.posterior if args.posterior is not None else FIND)
    try:
        kind = choose_kind(args.uncertainty, post, source)
    except CxError as err:
        where = _short(str(_posterior_path(scenario)), 80)
        raise ArgumentError(f"--uncertainty = posterior: the scenario has no posterior ({where} is missing): "
                            "give one with --posterior FILE or use --uncertainty seeds") from err
    return post, kind


@command("run", "run a scenario and print its outcomes", json=True)
def _run(args: argparse.Namespace) -> dict:
    from .outputs import RunWriter, check_out_dir, combine
    from .uncertainty import POSTERIOR
    from .workload import Workload, check

    out = check_out_dir(args.out) if args.out else None  # before anything runs
    sc = build_scenario(args)
    post, kind = ensemble_options(args, args.scenario)
    runs = args.replicates * (args.draws if kind == POSTERIOR else 1)
    check(Workload(runs, sc.population.customers, sc.steps), args.allow_large)
    seed0 = sc.seed if args.seed is None else args.seed
    if seed0 + runs - 1 > MAX_SEED:
        raise ArgumentError(f"--seed = {seed0}: with {runs} runs the last seed would exceed {MAX_SEED}")
    if kind == POSTERIOR:
        return _run_ensemble(sc, post, seed0, args, out)
    writer = RunWriter(out, args.format) if out else None
    if writer:
        writer.describe = lambda n: {"uncertainty": _seeds_uncertainty(args, n)}
    summaries = _run_replicates(sc, seed0, args.replicates, writer, args)
    summary = combine(summaries)
    summary["uncertainty"] = _seeds_uncertainty(args, len(summaries))
    _print_run(sc, summaries, summary)
    if writer:
        print("wrote " + ", ".join(str(p) for p in writer.files))
    return summary  # --json: the summary.json document


def _seeds_uncertainty(args: argparse.Namespace, replicates: int) -> dict:
    from .uncertainty import SEEDS, resolve_posterior, uncertainty_caption

    _, source = resolve_posterior(args.scenario, None if args.uncertainty == SEEDS else args.posterior or "find")
    if args.uncertainty == SEEDS:
        source = "parameter uncertainty not included (--uncertainty seeds)"
    return {"kind": SEEDS, "draws": 0, "seeds": replicates, "source": source, "caption": uncertainty_caption(SEEDS, 0, replicates, source)}


def _run_ensemble(sc, post, seed0: int, args: argparse.Namespace, out: Path | None) -> dict:
    """``cxsim run`` over posterior draws × seeds: levels with intervals that hold the parameters' uncertainty."""
    from .ensemble import POSTERIOR, run_ensemble

    scheduler = check_scheduler(args.scheduler) if args.scheduler else check_scheduler(os.environ.get("CXSIM_SCHEDULER") or None, "$CXSIM_SCHEDULER")
    ens = run_ensemble(sc, None, posterior=post, uncertainty=POSTERIOR, draws=args.draws, seeds=args.replicates, seed=seed0,
                       workers=args.workers, scheduler=scheduler)
    from .ensemble import FIND, resolve_posterior

    ens.source = resolve_posterior(args.scenario, args.posterior if args.posterior is not None else FIND)[1]  # the file, in words
    levels = ens.levels().set_index("metric")
    on = ", ".join(sc.enabled_interventions) or "none"
    print(f"{sc.title or sc.name}: {sc.population.customers:,} customers, {sc.steps} {sc.step_unit}s, interventions: {on}")
    rows = [("metric", "mean", "95% low", "95% high")]
    for m in shown_metrics(levels.loc["offered", "mean"]):
        r = levels.loc[m.name]
        rows.append((m.label, _fmt(r["mean"], m.unit), _fmt(r["low"], m.unit), _fmt(r["high"], m.unit)))
    print_table(rows)
    print(f"Uncertainty: {ens.caption}")
    document = {
        "scenario": sc.name, "customers": sc.population.customers, "steps": sc.steps, "interventions": sc.enabled_interventions,
        "seeds_from": seed0, "draws": len(ens.draws), "seeds_per_draw": ens.seeds_per_draw,
        "uncertainty": {"kind": ens.kind, "draws": len(ens.draws), "seeds": ens.seeds_per_draw, "source": ens.source, "caption": ens.caption},
        "mean": {m: levels.loc[m, "mean"] for m in levels.index},
        "interval95": {m: [levels.loc[m, "low"], levels.loc[m, "high"]] for m in levels.index},
        "draws_used": ens.draws,
    }
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        ens.runs.to_parquet(out / "ensemble.parquet", index=False)
        (out / "summary.json").write_text(json_document(document) + "\n")
        print(f"wrote {out / 'ensemble.parquet'}, {out / 'summary.json'}")
    return document


def _posterior_path(scenario: str) -> Path:
    from .posterior import path_for

    return path_for(scenario)


def _run_replicates(sc, seed0: int, replicates: int, writer, args: argparse.Namespace) -> list[dict]:
    """Run the replicates one after another, each written as it finishes; only summaries stay in memory."""
    import gc

    from .engine.model import run
    from .outputs import Incomplete

    summaries: list[dict] = []
    failed: Exception | None = None
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
                failed = err
                raise Incomplete(_incomplete(err, seed, seed0, replicates - r, args, writer)) from err
            del res
            gc.collect()  # a finished model (its arrays) is freed before the next one is built
            print(f"  run {r + 1}/{replicates} (seed {seed}) done", file=sys.stderr)
    finally:
        if writer:
            writer.close()
    if writer and writer.kept and failed is None:  # every replicate ran; the disk refused the joined tables
        raise Incomplete(f"{writer.kept}; summary.json is complete; free space and run the same command again for single files")
    return summaries


def _incomplete(err: Exception, seed: int, seed0: int, left: int, args: argparse.Namespace, writer=None) -> str:
    if writer is not None:
        writer.close()  # before the message: it says whether the finished replicates were joined or kept apart
    where = f"{args.out} ({writer.kept})" if writer is not None and writer.kept else args.out
    seeds = f"seeds {seed0}–{seed - 1} are" if seed - 1 > seed0 else f"seed {seed0} is"
    kept = f"; {seeds} kept in {where}" if seed > seed0 and args.out else ""
    why = err.strerror if isinstance(err, OSError) and err.strerror else _short(str(err), 40)
    return (f"seed {seed} failed ({type(err).__name__}: {why}); "
            f"finish with the same command and --seed {seed} --replicates {left} --out NEW_FOLDER{kept}")


ACQUISITION = ("offered", "accepted", "acceptance_rate", "served", "completion_rate", "referral_acceptances")
"""The rows about winning new customers: left out of a run's table where nobody was offered the service."""


def shown_metrics(offered: float) -> list:
    """The metrics a run's table shows: all, but the acquisition rows only if someone was offered the service
    (``telco_churn`` and the other retention scenarios have existing customers only: a column of zeros says nothing)."""
    from .readouts.metrics import METRICS

    return [m for m in METRICS if offered > 0 or m.name not in ACQUISITION]


def _print_run(sc, summaries: list[dict], summary: dict) -> None:

    on = ", ".join(sc.enabled_interventions) or "none"
    print(f"{sc.title or sc.name}: {sc.population.customers:,} customers, {sc.steps} {sc.step_unit}s, interventions: {on}")
    offered = max(float(s["offered"]) for s in summaries)
    if len(summaries) == 1:
        print_table([("metric", "value")] + [(m.label, _fmt(summary[m.name], m.unit)) for m in shown_metrics(offered)])
        reasons = summary["dropout_reasons"]
    else:
        rows = [("metric", "mean", "95% low", "95% high")]
        for m in shown_metrics(offered):
            lo, hi = summary["ci95"][m.name]
            rows.append((m.label, _fmt(summary["mean"][m.name], m.unit), _fmt(lo, m.unit), _fmt(hi, m.unit)))
        print_table(rows)
        reasons = dict(sorted(summary["mean"]["dropout_reasons"].items(), key=lambda kv: -kv[1]))
    print(f"Uncertainty: {summary['uncertainty']['caption']}")
    if reasons:
        print("Why non-users stayed away: " + ", ".join(f"{k} {_fmt(v, 'customers')}" for k, v in reasons.items()))


@command("list", "list the built-in scenarios and their interventions", json=True)
def _list(args: argparse.Namespace) -> dict:
    from .engine.scenario import list_scenarios, load_scenario

    scenarios = []
    for name in list_scenarios():
        sc = load_scenario(name)
        print(f"{name:<20} {sc.story.fact or sc.title}")
        if args.verbose:
            print(f"{'':<20} interventions: {', '.join(sc.interventions) or '–'}; variants: {', '.join(sc.variants) or '–'}")
        scenarios.append({"name": name, "title": sc.title, "fact": sc.story.fact, "customers": sc.population.customers,
                          "steps": sc.steps, "step_unit": sc.step_unit, "interventions": list(sc.interventions),
                          "enabled": sc.enabled_interventions, "variants": list(sc.variants)})
    return {"scenarios": scenarios}


def _list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--verbose", "-v", action="store_true", help="also list interventions and variants")


ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {"run": _run_args, "list": _list_args}


def explorer_page() -> Path:
    """The explorer's page: ``app/`` in a source checkout, ``cxsim/app/`` in an installed wheel."""
    here = Path(__file__).resolve().parent
    pages = [here.parent / "app" / "explorer.py", here / "app" / "explorer.py"]
    return next((page for page in pages if page.exists()), pages[0])


LOCALHOST = "127.0.0.1"
NO_GC_PER_RUN = ("--runner.postScriptGC", "false")
"""Streamlit's full garbage collection after every script run (≈0.15 s with the simulator loaded, holding the
interpreter) is off: a classroom's 30 trainee pages, each looking at the room every 2 s, would otherwise starve
the server. Python's own collector still runs."""


THEME = ("--theme.primaryColor", "#1668c1")
"""The explorer's accent (switches, buttons, the chosen view) blue: red and green mean worse and better there."""


def streamlit_command(args: argparse.Namespace) -> list[str]:
    """The ``streamlit run`` line for the explorer: bound to 127.0.0.1 unless ``--host`` says otherwise."""
    page = explorer_page()
    if not page.exists():
        raise CxError(f"the explorer {page} is not there: reinstall cxsim (pip install cxsim, or pip install -e . in a checkout)")
    cmd = [sys.executable, "-m", "streamlit", "run", str(page), "--browser.gatherUsageStats", "false", "--server.showEmailPrompt", "false",
           "--client.toolbarMode", "minimal", "--server.address", args.host or LOCALHOST,
           *NO_GC_PER_RUN, *THEME]
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
    from .state.kernels import ensure_compiled

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


def experiment_catalogue() -> list[dict[str, Any]]:
    """The experiments a name can pick: ``experiments/*.toml`` here first, then the built-in ones (name, title, file)."""
    from .experiments.spec import EXPERIMENT_DIR, find_experiment, load_experiment

    here = Path.cwd() / "experiments"
    names = sorted({p.stem for folder in (here, EXPERIMENT_DIR) if folder.is_dir() for p in folder.glob("*.toml")})
    out = []
    for name in names:
        path = find_experiment(name)
        try:
            title = load_experiment(path)[0].title
        except CxError as err:  # a broken local file is listed, not fatal
            title = f"(not valid: {one_line(err, 80)})"
        out.append({"name": name, "title": title, "file": str(path), "built_in": path.parent == EXPERIMENT_DIR})
    return out


def _sweep_list() -> dict:
    catalogue = experiment_catalogue()
    width = max((len(e["name"]) for e in catalogue), default=0)
    for e in catalogue:
        print(f"{e['name']:<{width}}  {e['title']}" + ("" if e["built_in"] else f"  ({e['file']})"))
    return {"experiments": catalogue}


@command("sweep", "run an experiment file (batch runs, sweeps, sensitivity, A/B) into a resumable results folder", json=True)
def _sweep(args: argparse.Namespace) -> dict:
    from .experiments.runner import available_cpus
    from .experiments.sweep import run_experiment

    if args.list:
        return _sweep_list()
    if args.experiment is None:
        raise ArgumentError("sweep: give an experiment (a .toml file or a name: see `cxsim sweep --list`)")

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
    exp = result.plan.experiment
    return {"experiment": exp.name, "title": exp.title, "out": str(result.out), "runs": len(result.runs),
            "planned": len(result.plan.tasks), "ran": result.ran, "skipped": result.skipped,
            "repaired": list(result.repaired), "headline": list(result.headline),
            "files": {k: str(v) for k, v in result.files.items()}}


def _sweep_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", nargs="?", help="experiment file (.toml) or a name (see --list): experiments/NAME.toml here, else a built-in one")
    p.add_argument("--list", action="store_true", help="list the experiments a name can pick (here, then built in) with their titles")
    p.add_argument("--workers", "-j", type=integer("--workers", 1, 4096), help="local worker processes (default: all CPUs; 1 = in this process)")
    p.add_argument("--scheduler", help="Dask scheduler address tcp://host:port (default: $CXSIM_SCHEDULER; else local)")
    p.add_argument("--out", "-o", type=Path, help="results folder (default results/<experiment name>)")
    p.add_argument("--resume", action="store_true", help="complete an interrupted sweep: finished runs are kept, damaged and missing ones run")
    p.add_argument("--customers", type=integer("--customers", 1, 10**9), help="quick look: customers per run (changes the runs' keys)")
    p.add_argument("--replicates", type=integer("--replicates", 1, 10**6), help="quick look: replicates per point and policy")
    p.add_argument("--samples", type=integer("--samples", 1, 10**9), help="quick look: design samples (Sobol: a power of 2)")
    p.add_argument("--allow-large", action="store_true", help="run even above the work bound (see cxsim.workload)")


ARGUMENTS["sweep"] = _sweep_args


@command("optimise", "search the best intervention plan for a budget (Optuna): frontier, best plan, reasons it removes", json=True)
def _optimise(args: argparse.Namespace) -> dict:
    from .optimisation import optimise

    scheduler = check_scheduler(args.scheduler) if args.scheduler else check_scheduler(os.environ.get("CXSIM_SCHEDULER") or None, "$CXSIM_SCHEDULER")
    scenario_source(args.scenario)
    if args.file is not None:
        scenario_source(args.file, "optimisation file")
    if args.out is not None:
        check_writable_dir(args.out)
    flags: dict[str, Any] = {"customers": args.customers, "steps": args.steps, "seeds": args.seeds}
    if args.lever:
        flags["levers"] = _lever_flags(args.lever)
    if args.objective:
        flags["objectives"] = dict(_objective_flag(o) for o in args.objective)
    if args.constraint:
        flags["constraints"] = args.constraint
    if args.file is None:
        from .engine.scenario import load_scenario

        flags.setdefault("levers", {name: {} for name in load_scenario(args.scenario).interventions})
        flags.setdefault("objectives", {"acceptance_rate": "maximise", "intervention_cost": "minimise"})
        if args.budget is not None and "constraints" not in flags:
            flags["constraints"] = ["intervention_cost <= budget"]
    command = "cxsim optimise " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["optimise"] else None
    ensemble_options(args, args.scenario)  # --uncertainty posterior without one: one line, before any run
    try:
        res = optimise(args.scenario, args.file, args.out, trials=args.trials, workers=args.workers or 1, scheduler=scheduler,
                       resume=args.resume, budget=args.budget, progress=None, command=command,
                       posterior=args.posterior if args.posterior is not None else "find", uncertainty=args.uncertainty,
                       draws=args.draws, **flags)
    except KeyboardInterrupt:
        print("cxsim: finished trials are kept in study.db; run the same command with --resume to complete the search", file=sys.stderr)
        raise
    o = res.spec.primary.name
    from .readouts.formatting import metric_number

    def val(x, signed=False):  # the objective in its unit: a share as 4.7%, a difference in pts, a count as 3,400
        return metric_number(x, o, signed)

    print(f"{res.spec.file.title or res.scenario.name}: {len(res.plans)} trials, {len(res.frontier)} plans on the frontier, in {res.out}")
    if res.best is None:
        print("  no evaluated plan meets the constraints within the budget")
    else:
        mean, lo, hi = res.best.evaluation.interval(o)
        print(f"  best plan: {res.best.text}: {o} {val(mean)} [{val(lo)}, {val(hi)}], cost {_fmt(res.best.cost, 'currency')}")
        print(f"  {len(res.recommendation.ties)} runner(s)-up statistically indistinguishable from it")
        if res.advantage:
            d = res.advantage
            print(f"  advantage over the runner-up on fresh seeds: {val(d[0], True)} [{val(d[1], True)}, {val(d[2], True)}]")
        print(f"  {res.explain(res.best)}")
        if res.spec.draws:
            o_ = res.spec.primary
            print(f"  its {o} in the worst 10% of posterior draws: {val(res.best.evaluation.worst(o, o_.maximise))}")
            if res.robust is not None:
                sturdy = res.robust
                same = " (the same plan)" if sturdy.key == res.best.key else ""
                print(f"  best in the worst case{same}: {sturdy.text}: {o} {val(sturdy.evaluation.worst(o, o_.maximise))} in the worst 10% "
                      f"of draws, {val(sturdy.mean(o))} expected, cost {_fmt(sturdy.cost, 'currency')}")
    print(f"Uncertainty: {res.spec.uncertainty}" + ("; the fresh check used fresh seeds and fresh posterior draws" if res.spec.draws else ""))
    print("wrote " + ", ".join(str(p) for p in res.files.values()))
    best = None
    if res.best is not None:
        mean, lo, hi = res.best.evaluation.interval(o)
        best = {"plan": res.best.text, "objective": o, "mean": mean, "low": lo, "high": hi, "cost": res.best.cost,
                "explanation": res.explain(res.best), "ties": len(res.recommendation.ties),
                "worst10": res.best.evaluation.worst(o, res.spec.primary.maximise) if res.spec.draws else None}
    robust = None
    if res.robust is not None:
        robust = {"plan": res.robust.text, "worst10": res.robust.evaluation.worst(o, res.spec.primary.maximise),
                  "mean": res.robust.mean(o), "cost": res.robust.cost}
    return {"scenario": res.scenario.name, "trials": len(res.plans), "frontier": res.frontier_table.to_dict("records"),
            "best": best, "best_in_worst_case": robust, "advantage_on_fresh_seeds": list(res.advantage) if res.advantage else None,
            "uncertainty": {"kind": "posterior" if res.spec.draws else "seeds", "draws": len(res.spec.draws), "caption": res.spec.uncertainty},
            "files": {k: str(v) for k, v in res.files.items()}}


def _lever_flags(items: list[str]) -> dict[str, dict[str, Any]]:
    """--lever NAME (on or off) or --lever NAME.FIELD=LOW:HIGH (repeatable) → the file's [levers] table."""
    levers: dict[str, dict[str, Any]] = {}
    for item in items:
        name, _, rng = item.partition("=")
        lever, _, fld = name.partition(".")
        levers.setdefault(lever, {})
        if fld:
            if ":" not in rng:
                raise CxError(f"--lever {item!r}: expected NAME or NAME.FIELD=LOW:HIGH, e.g. free_transport.subsidy=0.5:1")
            lo, hi = (parse_value(x) for x in rng.split(":", 1))
            levers[lever][fld] = [lo, hi]
    return levers


def _objective_flag(text: str) -> tuple[str, str]:
    name, _, sense = text.partition(":")
    return name, sense or "maximise"


def _optimise_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="built-in scenario name (see `cxsim list`) or path to a .toml file")
    p.add_argument("file", nargs="?", help="optimisation file (.toml), or a ready-made one's name (aravind, telco_churn, top_accounts; ./optimisation/NAME.toml first) (default: flags)")
    p.add_argument("--out", "-o", type=Path, help="results folder (default results/optimise-<file or scenario>)")
    p.add_argument("--trials", type=integer("--trials", 1, 100_000), help="plans to evaluate (default: the file's)")
    p.add_argument("--workers", "-j", type=integer("--workers", 1, 4096), help="local worker processes for a plan's runs (default 1 = in this process)")
    p.add_argument("--scheduler", help="Dask scheduler address tcp://host:port (default: $CXSIM_SCHEDULER; else local)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted search (or re-report a finished one) in --out")
    p.add_argument("--budget", type=finite("--budget", 0.0), help="recommend the best plan within this intervention cost (and 'budget' in constraints)")
    p.add_argument("--lever", action="append", metavar="NAME[.FIELD=LOW:HIGH]", help="without a file: an intervention the search may use, or a field range (repeatable)")
    p.add_argument("--objective", action="append", metavar="MEASURE[:min]", help="without a file: a measure to maximise (or :min); repeatable")
    p.add_argument("--constraint", action="append", metavar="'MEASURE <= X'", help="e.g. 'cost_per_accepted <= 600' (repeatable)")
    p.add_argument("--customers", type=integer("--customers", 1, 10**9), help="customers per run")
    p.add_argument("--steps", type=integer("--steps", 1, 10**6), help="steps per run")
    p.add_argument("--seeds", type=integer("--seeds", 2, 1000), help="search seeds per plan")
    add_uncertainty_arguments(p, draws=10, pool=False)


ARGUMENTS["optimise"] = _optimise_args


@command("story", "tell a scenario's story (inside-out, outside-in, what changed) with the numbers of runs", json=True)
def _story(args: argparse.Namespace) -> dict:
    from .engine.scenario import load_scenario
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
    from .uncertainty import POSTERIOR

    post, kind = ensemble_options(args, args.scenario)
    worlds = 1 + len(args.variant or sc.variants)
    runs = worlds * args.seeds * (args.draws if kind == POSTERIOR else 1)
    check(Workload(runs, args.customers or sc.population.customers, args.steps or sc.steps), args.allow_large)
    scheduler = check_scheduler(args.scheduler) if args.scheduler else None
    text = scenario_story(sc, args.seeds, customers=args.customers, steps=args.steps, variants=args.variant,
                          posterior=args.posterior if args.posterior is not None else "find", uncertainty=kind, draws=args.draws, workers=args.workers, scheduler=scheduler)
    print(text)
    return {"scenario": sc.name, "title": sc.title, "seeds": args.seeds, "first_seed": sc.seed, "uncertainty": kind,
            "draws": args.draws if kind == POSTERIOR else 0,
            "customers": args.customers or sc.population.customers, "steps": args.steps or sc.steps,
            "variants": ["baseline", *(args.variant or sc.variants)], "story": text}


def _story_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="built-in scenario name (see `cxsim list`) or path to a .toml file")
    p.add_argument("--seeds", type=integer("--seeds", 1, 1000), default=5, help="replicates, all variants on the same seeds (default 5)")
    p.add_argument("--seed", type=SEED, help="first seed (default: the scenario's)")
    p.add_argument("--variant", action="append", metavar="NAME", help="compare only this variant with the baseline (repeatable; default: all)")
    p.add_argument("--customers", type=integer("--customers", 1, 10**9), help="number of customers (default: the scenario's)")
    p.add_argument("--steps", type=integer("--steps", 1, 10**6), help="number of steps (default: the scenario's)")
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a parameter, e.g. relationship.memory=0.5 (repeatable)")
    p.add_argument("--allow-large", action="store_true", help="run even above the work bound (see cxsim.workload)")
    add_uncertainty_arguments(p)


ARGUMENTS["story"] = _story_args

@command("discover", "where a plan misses its goal: PRIM's box over posterior draws or declared ranges (EMA Workbench)", json=True)
def _discover(args: argparse.Namespace) -> dict:
    from .ema import where_plan_fails
    from .engine.scenario import load_scenario
    from .uncertainty import SEEDS

    sc = load_scenario(scenario_source(args.scenario))
    for name in args.intervention or []:
        if name not in sc.interventions:
            raise ArgumentError(f"--intervention = {name!r}: not an intervention of {sc.name} (choose from {', '.join(sc.interventions)})")
    plan = {f"interventions.{n}.enabled": n in (args.intervention or []) for n in sc.interventions}
    plan.update(parse_sets(args.set))
    vary = {}
    for item in args.vary or []:
        path, _, rng = item.partition("=")
        if rng and ":" not in rng:
            raise ArgumentError(f"--vary {item!r}: expected PATH or PATH=LOW:HIGH, e.g. decision.w_cost=0.5:5")
        vary[path.strip()] = tuple(float(parse_value(x)) for x in rng.split(":", 1)) if rng else None
    if args.uncertainty == SEEDS:
        raise ArgumentError("--uncertainty = seeds: discovery explores parameters (posterior draws or --vary ranges), not seeds")
    posterior = args.posterior if args.posterior is not None else "find"
    if args.posterior is not None and not args.posterior.is_file():
        raise ArgumentError(f"--posterior = {_short(str(args.posterior))}: no such file")
    scheduler = check_scheduler(args.scheduler) if args.scheduler else None
    found = where_plan_fails(sc if not Path(args.scenario).suffix == ".toml" else args.scenario, plan, args.goal, posterior=posterior,
                             uncertainties=vary,
                             n=args.draws, seeds=args.seeds, customers=args.customers, steps=args.steps,
                             workers=args.workers, scheduler=scheduler)
    on = ", ".join(args.intervention or []) or "no intervention"
    print(f"{sc.title or sc.name}, plan: {on}; goal {args.goal}")
    print(f"  {found.sentence}")
    print(f"Uncertainty: {found.caption}")
    return {"scenario": sc.name, "plan": plan, "goal": args.goal, "sentence": found.sentence, "over": found.over,
            "limits": {k: list(v) for k, v in found.limits.items()}, "coverage": found.coverage, "density": found.density,
            "mass": found.mass, "failures": found.failures, "sets": len(found.y), "caption": found.caption}


def _discover_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="built-in scenario name (see `cxsim list`) or path to a .toml file")
    p.add_argument("--goal", required=True, help="what the plan must achieve, e.g. 'acceptance_rate >= 0.3'")
    p.add_argument("--intervention", "-i", action="append", metavar="NAME", help="the plan: an intervention switched on (repeatable)")
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help="the plan: a setting, e.g. interventions.free_transport.subsidy=0.8")
    p.add_argument("--vary", action="append", metavar="PATH[=LOW:HIGH]", help="explore this parameter over its declared range (or LOW:HIGH within it) "
                   "instead of the posterior (repeatable)")
    p.add_argument("--seeds", type=integer("--seeds", 1, 1000), default=1, help="seeds per parameter set (default 1)")
    p.add_argument("--customers", type=integer("--customers", 1, 10**9), help="customers per run")
    p.add_argument("--steps", type=integer("--steps", 1, 10**6), help="steps per run")
    add_uncertainty_arguments(p, draws=200)


ARGUMENTS["discover"] = _discover_args

SHELLS = ("bash", "zsh", "tcsh")


def completion_names() -> dict[str, list[str]]:
    """The names a shell completes for each kind of argument: built-in scenarios, their variants and interventions,
    built-in experiments, ready-made optimisation and targets files."""
    from .calibration.targets import CALIBRATION_DIR
    from .engine.scenario import list_scenarios, load_scenario
    from .experiments.spec import EXPERIMENT_DIR
    from .optimisation.spec import OPTIMISATION_DIR

    scenarios = list_scenarios()
    loaded = [load_scenario(name) for name in scenarios]
    return {
        "scenario": scenarios,
        "variant": sorted({"baseline"} | {v for sc in loaded for v in sc.variants}),
        "intervention": sorted({i for sc in loaded for i in sc.interventions}),
        "experiment": sorted(p.stem for p in EXPERIMENT_DIR.glob("*.toml")),
        "file": sorted(p.stem for p in OPTIMISATION_DIR.glob("*.toml")),
        "targets": sorted(p.stem for p in CALIBRATION_DIR.glob("*.toml")),
    }


def named_completion(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``parser`` with every scenario, variant, intervention, experiment and ready-made file argument completing its
    names (and, where a path may stand instead, .toml files)."""
    import shtab

    names = completion_names()
    paths = {"scenario", "experiment", "file", "targets"}  # a .toml path is allowed there too
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for sub in {id(p): p for s in subparsers for p in s.choices.values()}.values():
        for action in sub._actions:
            if action.dest in names:
                listing = "printf '%s\\n' " + " ".join(names[action.dest])
                if action.dest in paths:
                    listing += "; ls -1 *.toml 2>/dev/null"
                action.complete = shtab.cmd(listing)
    return parser


@command("completion", "print a shell completion script (bash, zsh or tcsh), e.g. cxsim completion bash --write ~/.local/share/bash-completion/completions/cxsim")
def _completion(args: argparse.Namespace) -> int:
    import shtab

    script = shtab.complete(named_completion(make_parser()), shell=args.shell)
    if args.write is None:
        print(script)
        return 0
    target = Path(args.write).expanduser()
    if target.is_dir():
        raise ArgumentError(f"--write {args.write}: is a folder; give the file, e.g. ~/.zfunc/_cxsim")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)  # a fresh machine has no ~/.zfunc yet
        target.write_text(script + "\n", encoding="utf-8")
    except OSError as err:
        raise ArgumentError(f"--write {args.write}: cannot be written ({err.strerror or err})") from None
    print(f"wrote {target}" + (" (add ~/.zfunc to fpath in ~/.zshrc: fpath=(~/.zfunc $fpath); autoload -U compinit; compinit)"
                               if args.shell == "zsh" else ""))
    return 0


def _completion_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    p.add_argument("--write", metavar="FILE", help="write the script to FILE, creating its folder (e.g. ~/.zfunc/_cxsim); default: stdout")


ARGUMENTS["completion"] = _completion_args


@command("calibrate", "fit a scenario's free parameters: to an evidence file (a posterior) or to targets (Optuna); report and predict", json=True)
def _calibrate(args: argparse.Namespace) -> dict:
    from .calibration import calibrate
    from .experiments.runner import available_cpus

    scheduler = check_scheduler(args.scheduler) if args.scheduler else check_scheduler(os.environ.get("CXSIM_SCHEDULER") or None, "$CXSIM_SCHEDULER")
    scenario_source(args.scenario)
    scenario_source(str(args.targets), "targets file")
    from .calibration.targets import find_file

    args.targets = find_file(args.targets)  # a path, or a ready-made file's name (aravind_baseline)
    if args.out is not None:
        check_writable_dir(args.out)
    from .calibration.bayesian import is_evidence_file

    if is_evidence_file(args.targets):
        return _calibrate_evidence(args, scheduler)
    if args.method == "posterior":
        return _calibrate_counts(args, scheduler)
    command = " ".join(["cxsim calibrate", str(args.scenario), str(args.targets)] + (["--trials", str(args.trials)] if args.trials else []))
    try:
        cal = calibrate(args.scenario, args.targets, args.out, trials=args.trials, workers=args.workers or available_cpus(),
                        scheduler=scheduler, resume=args.resume, command=command)
    except KeyboardInterrupt:
        print("cxsim: finished trials are kept in study.db; run the same command with --resume to continue", file=sys.stderr)
        raise
    print(f"{cal.scenario.title or cal.scenario.name}: {len(cal.trials)} trials, objective {cal.objective:.3g} at the best")
    for r in cal.ranges.itertuples():
        print(f"  {r.parameter} = {r.best:.4g}  (within noise: {r.low:.4g} to {r.high:.4g}{'; reaches the prior bound' if r.reaches_bound else ''})")
    from .calibration.report import within

    for f in cal.fits:
        low, high = within(f.target.measure, f.low, f.high)
        print(f"  {f.target.label}: target {f.target.figure}, fitted {f.mean:.4g} ({low:.4g} to {high:.4g}; 95% over seeds), residual {f.residual:.2f} se")
    if cal.validation is not None:
        for r in cal.validation.predictions.itertuples():
            low, high = within(cal.validation.measure, r.low, r.high)
            print(f"  predicted {cal.validation.measure} ({r.variant}): {r.predicted:.4g} ({low:.4g} to {high:.4g}; parameters within noise and seeds)"
                  + (f", observed {r.observed:.4g}" if r.observed is not None and not math.isnan(r.observed) else ""))
    print("wrote " + ", ".join(str(p) for p in cal.files.values()))
    return {
        "scenario": cal.scenario.name, "trials": len(cal.trials), "objective": cal.objective,
        "parameters": cal.ranges.to_dict("records"),
        "targets": [{"label": f.target.label, "figure": str(f.target.figure), "fitted": f.mean, "low": f.low, "high": f.high,
                     "residual_se": f.residual} for f in cal.fits],
        "predictions": [] if cal.validation is None else cal.validation.predictions.to_dict("records"),
        "files": {k: str(v) for k, v in cal.files.items()},
    }


def _calibrate_counts(args: argparse.Namespace, scheduler) -> dict:
    """``cxsim calibrate --method posterior`` with a targets file: the posterior given its observed counts."""
    from .calibration import calibrate_posterior
    from .experiments.runner import available_cpus

    if args.trials or args.resume:
        raise CxError(f"{'--trials' if args.trials else '--resume'}: the posterior is sampled by MCMC, not trials; rerun the same command to continue")
    out = args.out or Path("results") / f"calibrate-{Path(str(args.scenario)).stem}"
    command = " ".join(["cxsim calibrate", str(args.scenario), str(args.targets), "--method posterior", "--out", str(out)])
    r = calibrate_posterior(args.scenario, args.targets, out, workers=args.workers or available_cpus(), scheduler=scheduler,
                            seed=args.seed, command=command)
    return _print_inference(r, Path(str(args.scenario)).stem)


def _print_inference(r, scenario: str) -> dict:
    from .calibration.bayesian import summary_lines

    for line in summary_lines(r):
        print(line)
    print("wrote " + ", ".join(str(p) for p in r.files.values()))
    return {"scenario": scenario, "method": "posterior", "effective_samples": r.chain.effective_size,
            "parameters": r.parameters.to_dict("records"), "figures": r.figures.to_dict("records"),
            "predictions": r.predictions.to_dict("records"), "files": {k: str(v) for k, v in r.files.items()}}


def _calibrate_evidence(args: argparse.Namespace, scheduler) -> dict:
    """``cxsim calibrate`` with an evidence file: the posterior of its parameters (cxsim.calibration.bayesian)."""
    from .calibration.bayesian import check_scenario, infer
    from .calibration.evidence import read
    from .experiments.runner import available_cpus

    if args.trials:
        raise CxError(f"--trials = {args.trials}: an evidence file is fitted by MCMC, not trials; set mcmc_steps in the file")
    ev = read(args.targets)
    check_scenario(ev.file.scenario, args.scenario)
    out = args.out or Path("results") / f"calibrate-{ev.file.scenario}"
    command = " ".join(["cxsim calibrate", str(args.scenario), str(args.targets), "--out", str(out)]
                       + (["--coverage", str(args.coverage)] if args.coverage else []))
    try:
        r = infer(args.targets, out, workers=args.workers or available_cpus(), scheduler=scheduler, seed=args.seed,
                  coverage_truths=args.coverage, command=command)
    except KeyboardInterrupt:
        print(f"cxsim: finished design runs are kept in {out / 'design'}; run the same command to continue", file=sys.stderr)
        raise
    return _print_inference(r, ev.file.scenario)


def _calibrate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="built-in scenario name (see `cxsim list`) or path to a .toml file")
    p.add_argument("targets", type=Path, help="evidence or targets file (.toml), or a ready-made targets file's name (aravind_baseline): free parameters, targets, seeds, trials (see docs/calibration.md)")
    p.add_argument("--out", "-o", type=Path, help="report folder (default results/calibrate-<scenario>)")
    p.add_argument("--trials", type=integer("--trials", 1, 100_000), help="trials in all (default: the targets file's)")
    p.add_argument("--workers", "-j", type=integer("--workers", 1, 4096), help="local worker processes for the runs of a trial (default: all CPUs; 1 = in this process)")
    p.add_argument("--scheduler", help="Dask scheduler address tcp://host:port (default: $CXSIM_SCHEDULER; else local)")
    p.add_argument("--resume", action="store_true", help="continue the study in --out (an interrupted or shorter calibration)")
    p.add_argument("--coverage", type=integer("--coverage", 0, 1000), default=0,
                   help="evidence files: also check the pipeline on this many truths drawn from the prior (coverage of its 90%% intervals)")
    p.add_argument("--seed", type=integer("--seed", 0, 2**32 - 1), default=0, help="posteriors: seed of the MCMC sampler (default 0)")
    p.add_argument("--method", choices=("point", "posterior"), default="point",
                   help="targets files: 'point' fits a best point with Optuna and reports the range within noise; 'posterior' "
                        "samples the posterior given the [[observed]] counts (intervals, contraction, predictive checks). "
                        "Evidence files are always fitted as a posterior")


ARGUMENTS["calibrate"] = _calibrate_args


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
    from .state import kernels

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
        p = sub.add_parser(name, help=help_text, description=help_text)
        ARGUMENTS.get(name, lambda p: None)(p)
        if name in JSON_COMMANDS:
            p.add_argument("--json", action="store_true",
                           help=f"print one JSON document on stdout (its fields: docs/command-line.md, 'Machine-readable output', the {name!r} shape); human text goes to stderr")
    return parser


def run_command(args: argparse.Namespace) -> int:
    """Run the chosen command; with ``--json`` its printing goes to stderr and its document to stdout."""
    import contextlib

    fn = COMMANDS[args.command][1]
    if not getattr(args, "json", False):
        result = fn(args)
        return 0 if isinstance(result, dict) else int(result or 0)
    real_stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        result = fn(args)
    if not isinstance(result, dict):
        return int(result or 0)
    real_stdout.write(json_document(result) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    from .outputs import Incomplete

    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) or a bad argument (2, already reported in one line)
        return int(stop.code or 0)
    from . import progress

    progress.LOG_LINES = True  # a long command logs lines of progress where stderr is not a terminal (cxsim.progress)
    try:
        return run_command(args)
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
    finally:
        progress.LOG_LINES = False


if __name__ == "__main__":
    sys.exit(main())
