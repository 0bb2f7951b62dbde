import pytest

import cxsim


@pytest.fixture(scope="session")
def aravind():
    return cxsim.load_scenario("aravind")


@pytest.fixture(scope="session")
def small(aravind):
    """The Aravind scenario at 2,000 customers: fast, still statistically useful."""
    return aravind.with_overrides({"population.customers": 2000})
