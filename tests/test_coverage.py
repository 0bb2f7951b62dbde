"""Coverage means one thing: switched on with coverage 0, every intervention of the registry leaves
every result identical to the baseline (summary, customers, time series), cost included.

Every intervention of every built-in scenario is tried; a registry class that no built-in scenario
uses is tried on a tiny scenario made for it.
"""

import numpy as np
import pandas as pd
import pytest

import cxsim
from cxsim.engine.scenario import validate_scenario
from cxsim.rules.interventions import REGISTRY
from cxsim.rules.journey import touchpoint_levels

SEEDS = (1, 2)
SIZE = dict(customers=300)


def _small(sc):
    return sc.with_overrides({"population.customers": SIZE["customers"], "steps": min(sc.steps, 16)})


def _cases():
    cases, used = [], set()
    for name in cxsim.list_scenarios():
        sc = cxsim.load_scenario(name)
        for iv_name, iv in sc.interventions.items():
            cases.append((name, iv_name))
            used.add(iv.kind)
    for kind in sorted(set(REGISTRY) - used):
        cases.append((f"tiny:{kind}", kind))
    return cases


def _tiny(kind: str):
    """The Aravind world with one intervention of class ``kind`` (its defaults)."""
    sc = cxsim.load_scenario("aravind")
    data = sc.model_dump()
    data["interventions"] = {kind: {"kind": kind}}
    data["variants"] = {}
    return validate_scenario(data)


def _scenario(name: str):
    return _tiny(name.split(":", 1)[1]) if name.startswith("tiny:") else cxsim.load_scenario(name)


def _comparable(summary: dict) -> dict:
    """The summary without what only names the switched-on intervention (its list, its zero cost)."""
    out = {k: v for k, v in summary.items() if k != "interventions"}
    out["cost_by_intervention"] = {k: v for k, v in summary["cost_by_intervention"].items() if v != 0.0}
    return out


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


CASES = _cases()


def test_every_registry_class_is_tried():
    kinds = {(_scenario(s).interventions[iv].kind) for s, iv in CASES}
    assert kinds == set(REGISTRY)


@pytest.mark.parametrize("scenario,intervention", CASES, ids=[f"{s}-{iv}" for s, iv in CASES])
def test_coverage_zero_is_the_baseline(scenario, intervention):
    base_world = _small(_scenario(scenario)).variant("baseline")
    placebo = base_world.with_interventions([intervention]).with_overrides({f"interventions.{intervention}.coverage": 0.0})
    for seed in SEEDS:
        base, off = cxsim.run(base_world, seed, track=0), cxsim.run(placebo, seed, track=0)
        assert _same(_comparable(base.summary), _comparable(off.summary)), (seed, _comparable(base.summary), _comparable(off.summary))
        pd.testing.assert_frame_equal(base.customers, off.customers)
        pd.testing.assert_frame_equal(base.timeseries, off.timeseries)


def test_staff_care_scales_with_the_share_of_staff_reached():
    sc = cxsim.load_scenario("employees_first").with_overrides({"population.customers": 300, "staff.mirror": 0.0})
    lift = sc.interventions["invest_in_staff"].morale_lift
    half = sc.variant("invest_in_staff").with_overrides({"interventions.invest_in_staff.coverage": 0.5})
    m = cxsim.CxModel(half, seed=1, track=0).run(60)
    assert m.staff.level == pytest.approx(sc.staff.morale + 0.5 * lift, abs=0.01)


def test_running_cost_scales_with_coverage():
    sc = cxsim.load_scenario("employees_first").with_overrides({"population.customers": 300, "steps": 10})
    full = cxsim.run(sc.variant("invest_in_staff"), 1, track=0).summary["cost_by_intervention"]["invest_in_staff"]
    half = sc.variant("invest_in_staff").with_overrides({"interventions.invest_in_staff.coverage": 0.5})
    assert cxsim.run(half, 1, track=0).summary["cost_by_intervention"]["invest_in_staff"] == pytest.approx(full / 2)


def test_a_loop_fixes_touchpoints_only_for_the_customers_it_serves():
    sc = cxsim.load_scenario("journey_reliability").with_overrides({"population.customers": 1000})
    world = sc.variant("early_warning_priority").with_overrides({"interventions.early_warning_priority.coverage": 0.5})
    m = cxsim.CxModel(world, seed=1, track=0).run()
    assert m.tally["actions_done"] > 0
    team = m.loops.teams["early_warning_priority"]
    name = next(iter(team.levels))
    covered = m.coverage.covering("early_warning_priority", world.interventions["early_warning_priority"], np.arange(m.customers.n))
    reliability, _ = touchpoint_levels(m, name, world.touchpoints[name], np.arange(m.customers.n))
    assert np.all(reliability[covered] == team.levels[name][0])
    assert np.all(reliability[~covered] == world.touchpoints[name].reliability)
