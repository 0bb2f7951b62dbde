import os

import pytest
from hypothesis import HealthCheck, settings

import cxsim

# Hypothesis profiles: "default" (a few hundred examples per fuzz target, for every run) and
# "slow" (thousands); CXSIM_FUZZ=slow selects the slow profile for the whole run. Each example
# has its own time bound in tests/test_fuzz.py (a hang fails the test), so no Hypothesis deadline.
# The default profile is derandomized: every run (and CI) tries the same examples, so a red run
# always reproduces; the slow profile draws new examples each time, to find new cases (kept in
# tests/fuzz_corpus/ once found).
settings.register_profile("default", max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("slow", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("CXSIM_FUZZ", "default"))


@pytest.fixture(scope="session")
def aravind():
    return cxsim.load_scenario("aravind")


@pytest.fixture(scope="session")
def small(aravind):
    """The Aravind scenario at 2,000 customers: fast, still statistically useful."""
    return aravind.with_overrides({"population.customers": 2000})
