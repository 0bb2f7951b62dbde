"""cxsim: agent-based simulation of customer experience.

    import cxsim
    sc = cxsim.load_scenario("aravind")
    res = cxsim.run(sc.variant("all_barriers_removed"), seed=1)
    res.summary["acceptance_rate"]

The public names load on first use (PEP 562): ``import cxsim`` is quick, and
reading a scenario does not import the engine, numba, mesa or pandas.
"""

import warnings
from importlib import import_module

# mesa.batchrunner imports tqdm.auto, which in a Jupyter kernel without ipywidgets warns "IProgress not found"
# on the notebook's first cell; cxsim shows no notebook progress bars, so the warning says nothing to its readers
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"

_HOMES = {
    "CxModel": "engine.model",
    "Results": "engine.model",
    "run": "engine.model",
    "CxError": "state.params",
    "Scenario": "engine.scenario",
    "list_scenarios": "engine.scenario",
    "load_scenario": "engine.scenario",
    "compile_kernels": "state.kernels",
    "optimise": "optimisation",
    "calibrate": "calibration",
}
"""Where each public name lives (its module, below this package)."""

_ALIASES = {"compile_kernels": "compile_all"}

_SUBMODULES = {"plot": "plot", "views": "views", "measures": "readouts.measures", "metrics": "readouts.metrics",
               "story": "readouts.story", "experiments": "experiments", "optimisation": "optimisation",
               "calibration": "calibration", "reference": "checks.reference"}
"""Modules reachable as attributes (``cxsim.plot.funnel``, ``cxsim.metrics.interval``) without importing them
first, by the name a notebook uses → their module below cxsim (the layer packages: ``state``, ``rules``,
``readouts``, ``engine``, ``checks``; ``import cxsim.readouts.metrics`` names the module itself)."""

__all__ = ["CxModel", "Results", "run", "CxError", "Scenario", "list_scenarios", "load_scenario", "compile_kernels",
           "optimise", "calibrate", "__version__"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return import_module(f".{_SUBMODULES[name]}", __name__)
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'cxsim' has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), _ALIASES.get(name, name))
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
