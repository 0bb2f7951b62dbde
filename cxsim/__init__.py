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
    "CxModel": "model",
    "Results": "model",
    "run": "model",
    "CxError": "params",
    "Scenario": "scenario",
    "list_scenarios": "scenario",
    "load_scenario": "scenario",
    "compile_kernels": "kernels",
    "optimise": "optimisation",
    "calibrate": "calibration",
}
"""Where each public name lives (module of this package)."""

_ALIASES = {"compile_kernels": "compile_all"}

_SUBMODULES = ("plot", "views", "measures", "metrics", "story", "experiments", "optimisation", "calibration", "reference")
"""Submodules reachable as attributes (``cxsim.plot.funnel``) without importing them first."""

__all__ = ["CxModel", "Results", "run", "CxError", "Scenario", "list_scenarios", "load_scenario", "compile_kernels",
           "optimise", "calibrate", "__version__"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'cxsim' has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), _ALIASES.get(name, name))
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
