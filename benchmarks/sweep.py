"""Benchmark: a sweep of 200 runs at 10,000 customers, serial vs a local process pool.

    python benchmarks/sweep.py [--runs 200] [--customers 10000] [--workers 2]

Prints runs per second for each and the speed-up (wall time includes writing every run's
Parquet files; the pooled sweep is timed cold, with the pool start-up, and warm), and checks that
all give identical results.
Not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from cxsim.experiments import run_experiment
from cxsim.experiments.runner import available_cpus
from cxsim.experiments.spec import parse_experiment


def experiment(runs: int, customers: int):
    points = 20 if runs % 20 == 0 else 1
    return parse_experiment({
        "name": "benchmark", "scenario": "aravind", "customers": customers, "replicates": runs // points, "seed": 1,
        "uncertainties": {"decision.w_cost": [1.5, 3.0]} if points > 1 else {},
        "design": {"kind": "lhs", "samples": points} if points > 1 else {},
    })


def timed(exp, out: Path, workers: int) -> tuple[float, pd.DataFrame]:
    t0 = time.perf_counter()
    result = run_experiment(exp, out, workers=workers, report=False, progress=False)
    return time.perf_counter() - t0, result.runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    exp = experiment(args.runs, args.customers)
    print(f"{args.runs} runs × {args.customers:,} customers × 52 weeks; {available_cpus()} CPUs available")
    with tempfile.TemporaryDirectory() as tmp:
        serial, a = timed(exp, Path(tmp) / "serial", 1)
        print(f"  serial     : {serial:6.1f} s  {args.runs / serial:6.2f} runs/s")
        pooled, b = timed(exp, Path(tmp) / "pool", args.workers)
        print(f"  {args.workers} workers  : {pooled:6.1f} s  {args.runs / pooled:6.2f} runs/s  (includes starting the pool)")
        warm, c = timed(exp, Path(tmp) / "warm", args.workers)
        print(f"  {args.workers} workers  : {warm:6.1f} s  {args.runs / warm:6.2f} runs/s  (pool server already started)")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    print(f"  speed-up   : {serial / pooled:.2f}× cold, {serial / warm:.2f}× warm  (results identical: yes)")


if __name__ == "__main__":
    main()
