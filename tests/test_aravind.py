"""The founding case as shipped, over several seeds.

The baseline's ≈ 5% is a calibration target (calibration/aravind_baseline.toml); the shipped
decision weights are one point inside the set the calibration accepts. What the packages give
at that point is a regression check of the scenario as shipped, not a validation: the
prediction with its interval across every accepted parameter set is tested in
tests/test_calibration.py (seeds never used in fitting).
"""

import math

import numpy as np
import pytest

import cxsim
from cxsim.experiments import run_replicates, seeds_for

SEEDS = seeds_for(6)


def acceptance(scenario, variant):
    table = run_replicates(scenario.variant(variant), SEEDS)
    x = table["acceptance_rate"].to_numpy()
    return x.mean(), x.std(ddof=1) / math.sqrt(len(x))


@pytest.fixture(scope="module")
def medium(aravind):
    return aravind.with_overrides({"population.customers": 4000})


def test_baseline_acceptance_is_about_five_percent(medium):
    mean, se = acceptance(medium, "baseline")
    assert 0.03 - 3 * se <= mean <= 0.08 + 3 * se, (mean, se)
    assert abs(mean - 0.05) < 0.015 + 3 * se, (mean, se)


def test_the_package_and_the_wage_what_if_as_shipped(medium):
    """What Aravind did gives ≈ 72% at the shipped point; compensating wages too (beyond Aravind) more."""
    package, se = acceptance(medium, "aravind_1980s")
    assert 0.65 - 3 * se <= package <= 0.80 + 3 * se, (package, se)
    beyond, se_beyond = acceptance(medium, "all_barriers_removed")
    assert beyond > package + 3 * max(se, se_beyond), (beyond, package)


def test_counselling_alone_has_a_small_effect(medium):
    base, _ = acceptance(medium, "baseline")
    counselled, se = acceptance(medium, "counselling_only")
    assert counselled < 0.15
    assert counselled - base < 0.05


def test_top_reason_is_cost_at_baseline_and_not_after(small):
    base = cxsim.run(small.variant("baseline"), 3).summary["dropout_reasons"]
    assert next(iter(base)) == "cost"
    freed = cxsim.run(small.variant("all_barriers_removed"), 3).summary["dropout_reasons"]
    assert "cost" not in freed or freed["cost"] < 0.1 * sum(freed.values())
    assert next(iter(freed)) in ("fear", "distrust", "low_need", "distance")


def test_each_cost_removal_alone_helps_less_than_all_together(small):
    table = run_replicates(small.variant("baseline"), SEEDS[:3])
    base = table["acceptance_rate"].mean()
    together = run_replicates(small.variant("all_barriers_removed"), SEEDS[:3])["acceptance_rate"].mean()
    for iv in ("free_transport", "free_food_lodging", "free_medicine", "wage_compensation"):
        alone = run_replicates(small.variant("baseline").with_interventions([iv]), SEEDS[:3])["acceptance_rate"].mean()
        assert base <= alone + 0.01 < together


def test_referrals_drive_acceptances_when_barriers_fall(small):
    s = cxsim.run(small.variant("aravind_1980s"), 2).summary
    b = cxsim.run(small.variant("baseline"), 2).summary
    assert s["referrals"] > 5 * max(b["referrals"], 1)
    assert s["referral_acceptances"] > b["referral_acceptances"]
    assert s["intervention_cost"] > 0 == b["intervention_cost"]
    assert np.isfinite(s["return_on_spend"])
