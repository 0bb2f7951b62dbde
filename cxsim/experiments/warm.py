"""Imported once by the local pool's fork server (:func:`cxsim.experiments.runner._context`).

It imports the runner and runs a small Aravind world without and with the
interventions, so that numba's compiled kernels are loaded (from the machine's
cache) before any worker is forked: every worker starts with them in memory
instead of loading them itself in its first task.
"""

from ..engine.model import run
from ..engine.scenario import load_scenario
from . import runner  # noqa: F401  (what a worker runs)


def _load_kernels() -> None:
    sc = load_scenario("aravind").with_overrides({"population.customers": 300})
    for variant in ("baseline", *sc.variants):
        run(sc.variant(variant), 0)


_load_kernels()
