"""A/B tests within one population, and the power / sample-size helpers."""

import math

import numpy as np
import pytest

from cxsim import CxError
from cxsim.experiments import ab_test, minimum_detectable_effect, power, sample_size, sample_size_mean
from cxsim.experiments.abtest import ab_run, assign, two_sample


def test_sample_size_matches_the_textbook_formula():
    # 5% → 6%, two-sided 5%, power 80%: (1.96·√(2·p̄q̄) + 0.8416·√(p1q1 + p2q2))² / δ² ≈ 8,158 per arm
    n = sample_size(0.05, 0.01)
    assert n == pytest.approx(2 * 8158, abs=4)
    assert power(n, 0.05, 0.01) == pytest.approx(0.8, abs=0.002)
    assert power(n // 4, 0.05, 0.01) < 0.35
    assert sample_size(0.05, 0.01, power=0.9) > n
    assert sample_size(0.05, 0.01, share=0.2) > n  # unbalanced arms need more customers
    assert minimum_detectable_effect(n, 0.05) == pytest.approx(0.01, abs=2e-4)
    assert sample_size_mean(1.0, 0.1) == pytest.approx(4 * (1.959964 + 0.841621) ** 2 / 0.01, abs=2)
    with pytest.raises(CxError):
        sample_size(0.95, 0.1)


def test_two_sample_on_known_data():
    r = two_sample(np.r_[np.ones(60), np.zeros(40)], np.r_[np.ones(50), np.zeros(50)])
    assert r["effect"] == pytest.approx(0.1)
    z = 0.1 / math.sqrt(0.55 * 0.45 * (2 / 100))
    assert r["p_value"] == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(z / math.sqrt(2)))), rel=1e-6)
    half = 1.959964 * math.sqrt(0.6 * 0.4 / 100 + 0.5 * 0.5 / 100)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((0.1 - half, 0.1 + half), rel=1e-5)
    cont = two_sample(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 1.5, 2.0, 2.5]))
    assert cont["effect"] == pytest.approx(0.75) and 0 < cont["p_value"] < 1


def test_assignment_is_random_and_balanced():
    arm = assign(seed=3, customers=20000, share=0.5)
    assert abs(arm.mean() - 0.5) < 0.01
    assert np.array_equal(arm, assign(3, 20000, 0.5)) and not np.array_equal(arm, assign(4, 20000, 0.5))


@pytest.fixture(scope="module")
def population(aravind):
    return aravind.with_overrides({"population.customers": 6000, "steps": 26})


def test_ab_test_detects_free_transport(population):
    t = ab_test(population, ["free_transport"], seed=2, metrics=["accepted", "accepted_if_offered", "satisfaction"]).set_index("metric")
    acc = t.loc["accepted"]
    assert acc["n_control"] + acc["n_treatment"] == 6000
    assert acc["effect"] > 0 and acc["ci_low"] > 0 and acc["p_value"] < 0.01 and acc["significant"]
    assert t.loc["accepted_if_offered", "n_control"] < acc["n_control"]  # only those offered
    assert math.isfinite(t.loc["satisfaction", "p_value"])


def test_only_the_treatment_arm_is_covered(population):
    model, arm = ab_run(population, ["free_transport"], seed=2)
    covered = model.coverage.covered("free_transport", model.pars.interventions["free_transport"], np.arange(model.customers.n))
    assert np.array_equal(covered, arm)
    # segments are balanced across arms (assignment is independent of traits)
    seg = model.customers.segment
    assert abs(seg[arm].mean() - seg[~arm].mean()) < 0.05


def test_an_a_a_test_finds_nothing(population):
    """A treatment that changes nothing: the interval covers 0."""
    idle = population.with_overrides({"interventions.free_transport.subsidy": 0.0, "interventions.free_transport.escort": 0.0})
    r = ab_test(idle, ["free_transport"], seed=5).iloc[0]
    assert r["ci_low"] < 0 < r["ci_high"] and r["p_value"] > 0.05


def test_whole_population_treatments_are_refused(population):
    with pytest.raises(CxError, match="cannot be randomised"):
        ab_test(population, ["outreach_camps"], seed=1)
    with pytest.raises(CxError, match="unknown intervention"):
        ab_test(population, ["free_lunch"], seed=1)
