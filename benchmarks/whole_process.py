"""Benchmark: what a user waits for, whole process, beside the engine-only table and the pure-Mesa reference.

    python benchmarks/whole_process.py           # import, --help, list, run --out at 10k, 200k, 1M, 5M; cold cache
    python benchmarks/whole_process.py --quick   # 10k and 200k only, engine table at 10k
    python benchmarks/whole_process.py --sizes 10000,1000000 --no-engine

Each command runs in a fresh interpreter (``python -c "import cxsim"``,
``python -m cxsim.cli --help``, ``… list``, ``… run aravind --customers N
--uncertainty seeds --out DIR``, one run, and up to 200k also ``… run aravind
--customers N --out DIR`` as a user types it, an ensemble over the shipped
posterior); the table gives its wall time and the peak resident memory of
that process (``wait4``'s rusage of the child). Commands are the best of a
few runs (warm disk cache; each run's --out folder emptied first). "first run, cold kernel cache" runs
``cxsim run aravind --customers 10000`` with ``NUMBA_CACHE_DIR`` pointed at an
empty folder: the one-time compilation a new installation pays. Then, in the
same run, the engine-only benchmark (benchmarks/engine.py: set-up and 52 steps
inside one process, and the pure-Mesa reference) is printed, so the figures can
be read side by side. It is a report: it always exits 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

GOALS = {"import cxsim": 0.8, "cxsim --help": 0.5, "cxsim list": 0.5}
"""Start-up goals in seconds (warm disk cache)."""
RUN_GOALS = {1_000_000: (5.0, None), 5_000_000: (25.0, 2.5 * 2**30)}
"""``cxsim run --out`` goals: seconds, peak bytes."""


@dataclass
class Measured:
    label: str
    wall: float
    peak: int  # bytes
    code: int
    err: str = ""


def python() -> list[str]:
    return [sys.executable]


def run_child(cmd: list[str], env: dict | None = None) -> Measured:
    """Run ``cmd``; its wall time and the peak RSS of that very process (not of all children so far)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=full_env, cwd=ROOT)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(" ".join(cmd[1:]), wall, usage.ru_maxrss * 1024, proc.returncode, err)


def best_of(cmd: list[str], repeats: int, fresh: Path | None = None) -> Measured:
    """The fastest of ``repeats`` runs of ``cmd`` (``fresh``: a folder emptied before each, the command's --out).
    A failed run is never the best while another succeeded: its time is the refusal's, not the work's."""
    runs = []
    for _ in range(repeats):
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
        runs.append(run_child(cmd))
    return min(runs, key=lambda m: (m.code != 0, m.wall))


@dataclass
class Command:
    label: str
    cmd: list[str]
    repeats: int
    customers: int | None = None  # the run's size, for its goal
    out: Path | None = None  # its --out folder, emptied before each repeat


ENSEMBLE_UP_TO = 200_000
"""Largest size at which the default run (an ensemble over the shipped posterior: 20 draws) is timed too."""


def commands(sizes: list[int], out: Path, repeats: int) -> list[Command]:
    """Start-up commands, then per size one run (``--uncertainty seeds``: what the run goals were set for) and,
    up to :data:`ENSEMBLE_UP_TO`, the command as a user types it (Aravind ships a posterior: 20 draws × 1 seed)."""
    py = python()
    cli = py + ["-m", "cxsim.cli"]
    rows = [Command("import cxsim", py + ["-c", "import cxsim"], repeats),
            Command("cxsim --help", cli + ["--help"], repeats),
            Command("cxsim list", cli + ["list"], repeats)]
    for n in sizes:
        again = min(repeats, 3) if n <= 200_000 else 1
        run = cli + ["run", "aravind", "--customers", str(n)]
        rows.append(Command(f"cxsim run aravind --customers {n:,} --uncertainty seeds --out", run + ["--uncertainty", "seeds", "--out", str(out / f"seeds{n}")],
                            again, n, out / f"seeds{n}"))
        if n <= ENSEMBLE_UP_TO:
            rows.append(Command(f"cxsim run aravind --customers {n:,} --out (posterior, 20 draws)", run + ["--out", str(out / f"posterior{n}")],
                                again, None, out / f"posterior{n}"))
    return rows


def mark(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def goal_text(label: str, m: Measured, n: int | None) -> str:
    if label in GOALS:
        return f"≤ {GOALS[label]} s {mark(m.wall <= GOALS[label])}"
    if n in RUN_GOALS:
        seconds, peak = RUN_GOALS[n]
        text = f"≤ {seconds:g} s {mark(m.wall <= seconds)}"
        if peak:
            text += f", ≤ {peak / 2**30:g} GB {mark(m.peak <= peak)}"
        return text
    return ""


def whole_process(sizes: list[int], cold: bool, repeats: int = 5) -> list[tuple[str, Measured, str]]:
    out = Path(tempfile.mkdtemp(prefix="cxsim-bench-"))
    rows = []
    try:
        # a first, untimed run: the kernels of this checkout compiled or loaded, the disk cache warm
        run_child(python() + ["-m", "cxsim.cli", "run", "aravind", "--customers", "1000", "--steps", "2"])
        for c in commands(sizes, out, repeats):
            m = best_of(c.cmd, c.repeats, c.out)
            rows.append((c.label, m, goal_text(c.label, m, c.customers)))
            print(f"  measured {c.label}: {m.wall:.2f} s" + (f" (exit {m.code}: {m.err.strip().splitlines()[-1:]})" if m.code else ""), flush=True)
            if c.out is not None:
                shutil.rmtree(c.out, ignore_errors=True)
        if cold:
            with tempfile.TemporaryDirectory(prefix="cxsim-numba-") as cache:
                m = run_child(python() + ["-m", "cxsim.cli", "run", "aravind", "--customers", "10000"], env={"NUMBA_CACHE_DIR": cache})
            said = "message shown" if "compiling kernels, once per machine" in m.err else "NO message"
            rows.append(("first run, cold kernel cache (10,000)", m, said))
            print(f"  measured first run with an empty kernel cache: {m.wall:.2f} s ({said})", flush=True)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return rows


def print_table(rows: list[tuple[str, Measured, str]]) -> None:
    width = max(len(label) for label, _, _ in rows)
    head = f"{'whole process':<{width}} {'wall':>9} {'peak RSS':>10}  goal"
    print(head)
    print("-" * len(head))
    for label, m, goal in rows:
        status = "" if m.code == 0 else f"  exit {m.code}"
        print(f"{label:<{width}} {m.wall:8.2f}s {m.peak / 2**20:8.0f}MB  {goal}{status}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="runs at 10k and 200k only; engine table at 10k with a small reference")
    ap.add_argument("--sizes", help="comma-separated customers for `cxsim run --out` (default 10000,200000,1000000,5000000)")
    ap.add_argument("--repeats", type=int, default=5, help="runs of each start-up command, best kept (runs up to 200k: at most 3; above: 1)")
    ap.add_argument("--no-engine", action="store_true", help="skip the engine-only table and the pure-Mesa reference")
    ap.add_argument("--no-cold", action="store_true", help="skip the first run with an empty kernel cache")
    args = ap.parse_args(argv)
    default = "10000,200000" if args.quick else "10000,200000,1000000,5000000"
    sizes = sorted({int(s.replace("_", "")) for s in (args.sizes or default).split(",") if s.strip()})
    load = os.getloadavg()
    print(f"cxsim whole-process benchmark: python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load[0]:.2f}")
    print("machine may be shared: timings are what was measured\n", flush=True)
    rows = whole_process(sizes, cold=not args.no_cold, repeats=max(1, args.repeats))
    print()
    print_table(rows)
    if not args.no_engine:
        import engine

        print("\nEngine only, in one process (benchmarks/engine.py), same run:\n", flush=True)
        engine_args = ["--sizes", "10000", "--reference-size", "2000", "--reference-repeats", "1", "--repeats", str(min(args.repeats, 2))] if args.quick \
            else ["--sizes", "10000,100000,1000000", "--repeats", str(max(args.repeats, 7))]
        engine.main(engine_args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
