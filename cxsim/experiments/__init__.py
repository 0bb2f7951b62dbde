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

from .abtest import ab_test, minimum_detectable_effect, power, sample_size, sample_size_mean
from .analysis import morris_indices, paired_differences, sobol_indices, summarize_runs
from .core import RunTables, compare, run_many, run_replicates, run_summary, seeds_for
from .design import make_plan
from .spec import Experiment, list_experiments, load_experiment
from .store import load_results, load_timeseries, query
from .sweep import SweepResult, run_experiment
from ..metrics import summarize_replicates

__all__ = [
    "seeds_for", "run_replicates", "compare", "summarize_replicates", "run_summary", "run_many", "RunTables",
    "Experiment", "load_experiment", "list_experiments", "make_plan", "run_experiment", "SweepResult",
    "load_results", "load_timeseries", "query", "summarize_runs", "paired_differences", "sobol_indices",
    "morris_indices", "ab_test", "power", "sample_size", "sample_size_mean", "minimum_detectable_effect",
]
