"""cxsim: agent-based simulation of customer experience.

    import cxsim
    sc = cxsim.load_scenario("aravind")
    res = cxsim.run(sc.variant("all_barriers_removed"), seed=1)
    res.summary["acceptance_rate"]
"""

from .model import CxModel, Results, run
from .params import CxError
from .scenario import Scenario, list_scenarios, load_scenario
from .calibration import calibrate

__version__ = "0.1.0"
__all__ = ["CxModel", "Results", "run", "CxError", "Scenario", "list_scenarios", "load_scenario", "calibrate", "__version__"]
