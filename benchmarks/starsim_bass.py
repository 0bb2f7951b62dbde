"""Benchmark: cxsim against Starsim on the same Bass diffusion workload.

    python benchmarks/starsim_bass.py                 # 10k, 100k, 1M
    python benchmarks/starsim_bass.py --sizes 10000   # one size
    pip install -e .[bench]                           # Starsim, a benchmark-only extra

Bass (1969): everyone adopts at the hazard p + q · F per period, with F the
share who have adopted, fully mixed; p = 0.03, q = 0.38 per period, 10 steps
per period (rates p/10 and q/10 per step), 200 steps. Starsim, the array-based
framework a researcher would pick instead, runs it as an idiomatic
``ss.Disease`` subclass with ``ss.bernoulli``; cxsim runs the barrier-free
inline scenario of ``cxsim/experiments/library/bass.toml`` through :func:`cxsim.run`.

For each size and framework: set-up time (building the model / ``sim.init()``),
run time of the 200 steps, the adopters' share at the end (both should follow
the Bass curve), and the peak memory of build + run traced by ``tracemalloc``
per agent; then the ratios Starsim / cxsim. Timings are the best of a few
repeats (one at 1M). Each framework and size is measured in a fresh process
(:func:`measure_fresh`), which runs once untimed first at 1,000 agents (numba
kernels compiled or loaded, imports done). Without Starsim installed it says so and measures cxsim
alone. It is a report: it always exits 0.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import gc
import json
import math
import subprocess
import sys
import time
import tomllib
import tracemalloc
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import cxsim  # noqa: E402

P, Q = 0.03, 0.38  # per period
STEPS_PER_PERIOD = 10
STEPS = 200
SEED = 1
GOAL_MEMORY_RATIO = 1.5  # cxsim's bytes per agent ≤ 1.5 × Starsim's


def bass_share(periods: float, p: float = P, q: float = Q) -> float:
    """The Bass curve F(t) in closed form."""
    e = math.exp(-(p + q) * periods)
    return (1 - e) / (1 + q / p * e)


# -- cxsim ------------------------------------------------------------------------------

def cxsim_scenario(customers: int):
    """The inline scenario of cxsim/experiments/library/bass.toml at 10 steps per period for 200 steps."""
    from cxsim.engine.scenario import validate_scenario

    raw = tomllib.loads((ROOT / "cxsim" / "experiments" / "library" / "bass.toml").read_text())["scenario"]
    sc = validate_scenario(raw)
    return sc.with_overrides({"population.customers": customers, "steps": STEPS,
                              "journey.outreach": P / STEPS_PER_PERIOD, "journey.word_of_mouth": Q / STEPS_PER_PERIOD})


class CxsimBass:
    name = "cxsim"

    def __init__(self, n: int):
        self.scenario = cxsim_scenario(n)

    def build(self):
        return cxsim.CxModel(self.scenario, seed=SEED)

    @staticmethod
    def run(model) -> float:
        model.run()
        return model.tally["accepted"] / model.customers.n  # adopters: those who said yes


# -- Starsim ----------------------------------------------------------------------------

def starsim_available() -> bool:
    try:
        import starsim  # noqa: F401
    except ImportError:
        return False
    return True


def make_starsim_bass():
    import starsim as ss

    class Bass(ss.Disease):
        """Bass diffusion: each non-adopter adopts with probability 1 − exp(−(p + q·F)) per step, fully mixed."""

        def __init__(self, pars=None, **kwargs):
            super().__init__()
            self.define_pars(p=P / STEPS_PER_PERIOD, q=Q / STEPS_PER_PERIOD)
            self.update_pars(pars, **kwargs)
            self.define_states(ss.BoolState("adopted", label="Adopted"))
            self.adopt = ss.bernoulli(p=self.adopt_prob)

        @staticmethod
        def adopt_prob(self, sim, uids):
            share = np.count_nonzero(self.adopted) / len(self.adopted)
            return 1 - np.exp(-(self.pars.p + self.pars.q * share))

        def step(self):
            new = self.adopt.filter(self.adopted.false())
            self.adopted[new] = True  # Starsim records n_adopted per step for a BoolState

    return Bass


class StarsimBass:
    name = "Starsim"

    def __init__(self, n: int):
        self.n = n
        self.Bass = make_starsim_bass()

    def build(self):
        import starsim as ss

        sim = ss.Sim(n_agents=self.n, diseases=self.Bass(), start=0, stop=STEPS, dt=1, rand_seed=SEED, verbose=0)
        sim.init()
        return sim

    @staticmethod
    def run(sim) -> float:
        sim.run()
        return float(np.count_nonzero(sim.diseases.bass.adopted) / len(sim.diseases.bass.adopted))


# -- measuring ----------------------------------------------------------------------------

@dataclass
class Row:
    framework: str
    n: int
    setup: float = float("nan")
    run: float = float("nan")
    peak: float = float("nan")
    share: float = float("nan")
    error: str = ""

    @property
    def total(self) -> float:
        return self.setup + self.run

    @property
    def per_agent(self) -> float:
        return self.peak / self.n


def timed(framework, n: int) -> tuple[float, float, float]:
    gc.collect()
    t0 = time.perf_counter()
    model = framework.build()
    t1 = time.perf_counter()
    share = framework.run(model)
    t2 = time.perf_counter()
    del model
    return t1 - t0, t2 - t1, share


def traced(framework) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        model = framework.build()
        framework.run(model)
        return float(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def measure(framework, n: int, repeats: int, memory: bool) -> Row:
    row = Row(framework.name, n)
    try:
        times = [timed(framework, n) for _ in range(repeats)]
        row.setup = min(t[0] for t in times)
        row.run = min(t[1] for t in times)
        row.share = times[-1][2]
        if memory:
            row.peak = traced(framework)
    except Exception as err:  # a report: note it and go on
        row.error = f"{type(err).__name__}: {err}"
    return row


def measure_fresh(name: str, n: int, repeats: int, memory: bool) -> Row:
    """:func:`measure` in a process of its own, as a user's run starts: neither framework inherits memory the other touched.

    (On a virtual machine the first touch of memory costs far more than reusing
    pages a process has freed; measured in one process, whichever framework ran
    second got the first's pages.)
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", f"{name}:{n}", "--repeats", str(repeats)] + ([] if memory else ["--no-memory"])
    done = subprocess.run(cmd, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return Row(name, n, error=(done.stderr.strip().splitlines() or ["no output"])[-1][:200])
    return Row(**json.loads(lines[-1]))


def repeats_for(n: int, small: int) -> int:
    return small if n <= 20_000 else 3 if n <= 200_000 else 1


def print_report(rows: list[Row], sizes: list[int], have_starsim: bool) -> None:
    head = f"{'framework':<9} {'agents':>10} {'set-up':>10} {'run (200)':>10} {'total':>10} {'adopted':>8} {'peak mem':>10} {'B/agent':>8}"
    print(head)
    print("-" * len(head))
    for r in rows:
        if r.error:
            print(f"{r.framework:<9} {r.n:>10,} error: {r.error}")
            continue
        peak = f"{r.peak / 2**20:7.1f} MB" if np.isfinite(r.peak) else f"{'–':>10}"
        bpa = f"{r.per_agent:8,.0f}" if np.isfinite(r.peak) else f"{'–':>8}"
        print(f"{r.framework:<9} {r.n:>10,} {r.setup * 1e3:8.1f}ms {r.run * 1e3:8.1f}ms {r.total * 1e3:8.1f}ms {r.share:8.3f} {peak} {bpa}")
    print(f"Bass curve F({STEPS // STEPS_PER_PERIOD} periods) = {bass_share(STEPS / STEPS_PER_PERIOD):.3f} (continuous time; both are discrete)")
    if not have_starsim:
        print("\nStarsim is not installed (pip install starsim, or pip install -e .[bench]): no ratios.")
        return
    print("\nRatios Starsim / cxsim (> 1: cxsim is faster or leaner); goals: total > 1 at every size, memory per agent cxsim ≤ 1.5 × Starsim")
    for n in sizes:
        cx = next((r for r in rows if r.framework == "cxsim" and r.n == n and not r.error), None)
        st = next((r for r in rows if r.framework == "Starsim" and r.n == n and not r.error), None)
        if cx is None or st is None:
            print(f"  {n:>10,}: not measured")
            continue
        mem = cx.per_agent / st.per_agent if np.isfinite(cx.peak) and np.isfinite(st.peak) else float("nan")
        ok_total = st.total > cx.total
        ok_mem = mem <= GOAL_MEMORY_RATIO
        print(f"  {n:>10,}: set-up {st.setup / cx.setup:5.2f}×, run {st.run / cx.run:5.2f}×, set-up + run {st.total / cx.total:5.2f}× "
              f"[{'pass' if ok_total else 'FAIL'}]; memory per agent cxsim/Starsim {mem:4.2f} "
              f"({cx.per_agent:,.0f} vs {st.per_agent:,.0f} B) [{'pass' if ok_mem else 'FAIL'}]")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated agent counts")
    ap.add_argument("--repeats", type=int, default=5, help="repeats up to 20k (3 up to 200k, 1 above); the best is kept")
    ap.add_argument("--no-memory", action="store_true", help="skip the traced-memory runs")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # FRAMEWORK:SIZE, measured in this process (see measure_fresh)
    args = ap.parse_args(argv)
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    have_starsim = starsim_available()
    frameworks = [CxsimBass] + ([StarsimBass] if have_starsim else [])
    versions = f"cxsim {cxsim.__version__}, numpy {np.__version__}"
    if have_starsim:
        import starsim

        versions += f", starsim {starsim.__version__}"
    print(f"Bass diffusion: p = {P}, q = {Q} per period, {STEPS_PER_PERIOD} steps per period, {STEPS} steps, fully mixed; {versions}")
    print("machine may be shared: timings are what was measured\n", flush=True)
    if not have_starsim:
        print("Starsim is not installed: measuring cxsim only (pip install starsim, or pip install -e .[bench])\n", flush=True)
    if args.one:  # inside a fresh process: one framework at one size, as JSON
        name, n = args.one.split(":")
        cls = next(c for c in (CxsimBass, StarsimBass) if c.name == name)
        timed(cls(1000), 1000)  # untimed warm-up: kernels compiled or loaded, imports done
        row = measure(cls(int(n)), int(n), args.repeats, memory=not args.no_memory)
        print(json.dumps(asdict(row)))
        return 0
    rows = []
    for n in sizes:
        for cls in frameworks:
            row = measure_fresh(cls.name, n, repeats_for(n, args.repeats), memory=not args.no_memory)
            rows.append(row)
            print(f"  measured {row.framework} {n:,}" + (f" ({row.error})" if row.error else f": set-up {row.setup * 1e3:.1f} ms, run {row.run * 1e3:.1f} ms"), flush=True)
    print()
    print_report(rows, sizes, have_starsim)
    return 0


if __name__ == "__main__":
    sys.exit(main())
