"""Experiments: batch runs, sweeps, sensitivity analysis and A/B tests.

* :func:`run_summary` – one run's scalar outcomes (a pure function of its arguments);
  :func:`run_many` – many runs as aligned tables; :func:`run_replicates`, :func:`compare`.
* Experiment files (``experiments/*.toml``, :mod:`.spec`) declare uncertainties, levers,
  outcomes, a design (full factorial, Latin hypercube, Sobol, Morris via SALib), replicates
  and a meta-seed; :func:`run_experiment` (``cxsim sweep``) runs them locally or on Dask.
* Every finished run is one Parquet file (:mod:`.store`): crash-safe, resumable,
  queryable with DuckDB or :func:`load_results`.
* :mod:`.abtest` – A/B tests within one population, power and sample size.
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what the documentation reads; at run time each name is imported on first use
    from ..readouts.metrics import summarize_replicates
    from .abtest import ab_test, minimum_detectable_effect, power, sample_size, sample_size_mean
    from .analysis import morris_indices, paired_differences, sobol_indices, summarize_runs
    from .core import RunTables, compare, run_many, run_replicates, run_summary, seeds_for
    from .design import make_plan
    from .spec import Experiment, list_experiments, load_experiment
    from .store import load_results, load_timeseries, query
    from .sweep import SweepResult, run_experiment

_HOMES = {
    ".abtest": ("ab_test", "minimum_detectable_effect", "power", "sample_size", "sample_size_mean"),
    ".analysis": ("morris_indices", "paired_differences", "sobol_indices", "summarize_runs"),
    ".core": ("RunTables", "compare", "run_many", "run_replicates", "run_summary", "seeds_for"),
    ".design": ("make_plan",),
    ".spec": ("Experiment", "list_experiments", "load_experiment"),
    ".store": ("load_results", "load_timeseries", "query"),
    ".sweep": ("SweepResult", "run_experiment"),
    "..readouts.metrics": ("summarize_replicates",),
}
"""Where each public name lives: imported on first use (PEP 562), so that a worker importing
:mod:`.runner` does not import SciPy for the A/B tests, nor SALib for the designs."""
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str):
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(import_module(home, __name__), name)
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "seeds_for", "run_replicates", "compare", "summarize_replicates", "run_summary", "run_many", "RunTables",
    "Experiment", "load_experiment", "list_experiments", "make_plan", "run_experiment", "SweepResult",
    "load_results", "load_timeseries", "query", "summarize_runs", "paired_differences", "sobol_indices",
    "morris_indices", "ab_test", "power", "sample_size", "sample_size_mean", "minimum_detectable_effect",
]
