"""Benchmark: the Aravind optimisation (optimisation/aravind.toml) at 10,000 customers, serial and on 2 workers.

    python benchmarks/optimisation.py [--trials 40] [--customers 10000] [--workers 2]

Prints plans (trials) per second and runs per second of the search — each plan runs on the
file's 5 search seeds; the time includes Optuna's sampler and SQLite study — against plain
``cxsim.run`` calls of the same size timed in the same process (the reference), and checks that
serial and parallel searches give the identical frontier. Also prints what a 300-trial search
would take at these rates. Not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

import cxsim
from cxsim.optimisation import optimise
from cxsim.optimisation.evaluate import Executor, base_world
from cxsim.optimisation.search import Search, open_study
from cxsim.optimisation.spec import OPTIMISATION_DIR, load


def reference(customers: int, runs: int) -> float:
    """Seconds per plain run of the Aravind 1980s package (warm: the kernels compiled)."""
    sc = cxsim.load_scenario("aravind").variant("aravind_1980s")
    cxsim.run(sc, seed=0, customers=customers)
    t0 = time.perf_counter()
    for seed in range(runs):
        cxsim.run(sc, seed=seed + 1, customers=customers)
    return (time.perf_counter() - t0) / runs


def search_only(file: Path, out: Path, trials: int, customers: int, workers: int) -> tuple[float, float, pd.DataFrame]:
    """(seconds of the search alone, seconds including the workers' start, plans table)."""
    t0 = time.perf_counter()
    sc = cxsim.load_scenario("aravind")
    spec = load(file, sc, {"trials": trials, "customers": customers})
    base = base_world(sc, spec)
    study = open_study(out, spec, base, resume=False)
    with Executor(workers) as ex:
        ex.evaluate(base, spec, [{}], [spec.search_seeds[0]])  # warm the workers (compiled kernels)
        t1 = time.perf_counter()
        search = Search(study, spec, base, ex)
        search.run(trials, progress=False)
        t2 = time.perf_counter()
    res = optimise(sc, file, out, trials=trials, customers=customers, resume=True, progress=False)  # no new trials
    return t2 - t1, t2 - t0, res.plans_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    file = OPTIMISATION_DIR / "aravind.toml"
    seeds = load(file, cxsim.load_scenario("aravind")).file.seeds
    per_run = reference(args.customers, 10)
    print(f"Aravind optimisation: {args.trials} trials × {seeds} seeds × {args.customers:,} customers × 52 weeks")
    print(f"  reference  : one cxsim.run {per_run:.3f} s ({1 / per_run:.1f} runs/s; {seeds} runs per plan → {1 / (seeds * per_run):.2f} plans/s)")
    with tempfile.TemporaryDirectory() as tmp:
        rows = {}
        for workers in (1, args.workers):
            secs, total, table = search_only(file, Path(tmp) / f"w{workers}", args.trials, args.customers, workers)
            distinct = table["repeat_of"].isna().sum()
            rows[workers] = table
            label = "serial    " if workers == 1 else f"{workers} workers "
            print(f"  {label} : {secs:6.1f} s  {args.trials / secs:5.2f} plans/s  {distinct * seeds / secs:5.2f} runs/s "
                  f"({distinct} distinct plans; {total - secs:.1f} s to start and warm the workers)  "
                  f"→ 300 trials ≈ {300 / (args.trials / secs) / 60:.1f} min")
    pd.testing.assert_frame_equal(rows[1], rows[args.workers])
    print("  frontier and plans identical serial and parallel: yes")


if __name__ == "__main__":
    main()
