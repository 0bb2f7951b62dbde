"""Benchmark: calibration against evidence (issue 20's speed goals), beside plain `cxsim.run` calls measured in the same run.

    python benchmarks/evidence.py            # reference, short coverage profile, Aravind posterior from the kept design
    python benchmarks/evidence.py --quick    # reference and short coverage profile only
    python benchmarks/evidence.py --full     # also the full coverage profile on Aravind's evidence (tens of minutes)

Rows (wall time inside one process, 2-core machine, kernels compiled first):

* ``cxsim.run``: runs per second of Aravind at 10,000 customers × 52 weeks, the reference;
* ``coverage, short profile``: what `tests/test_evidence.py::test_coverage_of_the_pipeline_short_profile` does —
  a small evidence file (2 parameters, 3 figures, 1,000 customers): its design, emulator and 20 truths each
  simulated and inferred again (goal: ≤ 3 minutes);
* ``Aravind posterior``: `cxsim calibrate aravind cxsim/evidence/aravind/evidence.toml` with the design runs taken from
  `calibration/aravind/design/` (emulator, emcee, predictions, report), plus the design runs themselves timed
  on a sample of parameter sets and scaled to the file's design size (goal: ≤ 30 minutes in all);
* ``coverage, full profile`` (``--full``): 20 truths on Aravind's own evidence (7 parameters and a discrepancy).

It is a report: it always exits 0.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = ROOT / "cxsim" / "evidence" / "aravind" / "evidence.toml"
DESIGN = ROOT / "calibration" / "aravind" / "design"
GOALS = {"coverage, short profile": 180.0, "Aravind posterior": 1800.0}


def runs_per_second(calls: int = 5) -> float:
    import cxsim

    sc = cxsim.load_scenario("aravind")
    cxsim.run(sc, seed=1)  # compile and warm
    t0 = time.perf_counter()
    for seed in range(2, 2 + calls):
        cxsim.run(sc, seed=seed)
    return calls / (time.perf_counter() - t0)


def short_coverage(folder: Path) -> tuple[float, str]:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_evidence import small_evidence  # the test's own file, so the benchmark times what CI runs

    from cxsim.calibration import emulator, evidence, inference

    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ev = evidence.read(small_evidence(folder))
    design = emulator.run_design(ev, folder / "design", say=lambda _: None)
    names, low, high = evidence.prior_box(ev)
    emu = emulator.fit(design, names, low, high, [o.key for o in ev.outputs])
    table = inference.coverage(ev, emu, truths=20, seed=3, walkers=16, steps=500).table()
    held = ", ".join(f"{r.parameter} {r.held}/{r.truths}" for r in table.itertuples())
    return time.perf_counter() - t0, held


def aravind_posterior(folder: Path) -> tuple[float, float, str]:
    """Seconds for the inference on the kept design, and the design runs scaled from a sample."""
    from cxsim.calibration import bayesian, emulator, evidence

    out = folder / "aravind"
    shutil.copytree(DESIGN, out / "design")
    t0 = time.perf_counter()
    r = bayesian.infer(EVIDENCE, out, say=lambda _: None)
    infer_s = time.perf_counter() - t0
    ev = evidence.read(EVIDENCE)
    sets = emulator.design(ev, 8, seed=1)
    t0 = time.perf_counter()
    emulator.simulate(ev, sets, [1 + i for i in range(len(sets))])
    design_s = (time.perf_counter() - t0) / len(sets) * ev.file.design_points
    return infer_s, design_s, f"{r.chain.effective_size:,.0f} effective samples"


def full_coverage(folder: Path) -> tuple[float, str]:
    from cxsim.calibration import emulator, evidence, inference

    ev = evidence.read(EVIDENCE)
    shutil.copytree(DESIGN, folder / "design")
    design = emulator.run_design(ev, folder / "design", say=lambda _: None)
    names, low, high = evidence.prior_box(ev)
    emu = emulator.fit(design, names, low, high, [o.key for o in ev.outputs])
    t0 = time.perf_counter()
    table = inference.coverage(ev, emu, truths=20, seed=5).table()
    return time.perf_counter() - t0, ", ".join(f"{r.parameter} {r.coverage:.0%}" for r in table.itertuples())


def row(name: str, seconds: float, note: str = "") -> None:
    goal = GOALS.get(name)
    verdict = "" if goal is None else f"  goal ≤ {goal:.0f} s: {'met' if seconds <= goal else 'NOT met'}"
    print(f"{name:<28} {seconds:9.1f} s{verdict}  {note}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="reference and short coverage profile only")
    ap.add_argument("--full", action="store_true", help="also the full coverage profile (slow)")
    args = ap.parse_args()
    print(f"cxsim.run (Aravind, 10k × 52): {runs_per_second():.1f} runs/s  (reference, this run)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        row("coverage, short profile", *short_coverage(tmp / "short"))
        if not args.quick:
            infer_s, design_s, note = aravind_posterior(tmp)
            row("Aravind posterior", infer_s + design_s, f"inference {infer_s:.0f} s + design runs {design_s:.0f} s (scaled); {note}")
        if args.full:
            row("coverage, full profile", *full_coverage(tmp / "full"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
