"""Mechanisms the evidence worlds need: a recall of decliners, the waived price, the chance to reconsider,
and the two readouts trials and surveys are compared with (recalled:<milestone>, barrier:<barrier>)."""

import math

import numpy as np
import pytest

import cxsim
from cxsim.calibration.quantities import PRESENT, problem, value
from cxsim.engine.scenario import validate_scenario
from cxsim.state.stages import Stage

START = 8


def _with(interventions: dict) -> cxsim.Scenario:
    data = cxsim.load_scenario("aravind").model_dump()
    data["interventions"] = {**data["interventions"], **interventions}
    return validate_scenario(data)


def _world():
    """Everyone screened in the first weeks at a price; decliners recalled at START."""
    return _with({"reminder": {"kind": "recall", "start": START}, "free_surgery": {"kind": "free_service", "start": START}}).with_overrides({
        "population.customers": 3000, "steps": 20, "costs.price": 60.0, "journey.outreach": 2.0, "journey.screening": 2.0})


def test_a_recall_offers_every_decliner_again_at_its_start():
    m = cxsim.CxModel(_world().with_interventions(["reminder"], only=True), seed=4)
    for _ in range(START - 1):  # the k-th step is step k (Mesa counts from 1)
        m.step()
    declined_before = np.flatnonzero(m.customers.stage == Stage.DECLINED)
    m.step()
    assert m.tally["recalled"] == len(declined_before) > 100
    assert m.recalled.sum() == len(declined_before) and m.recalled[declined_before].all()
    # they decided again at once: none of them is still waiting on an offer
    assert not (m.customers.stage[declined_before] == Stage.OFFERED).any()


def test_uptake_among_the_recalled_rises_when_the_price_is_waived():
    sc = _world()
    reminder = [value(cxsim.run(sc.with_interventions(["reminder"], only=True), seed=s), "recalled:served") for s in (1, 2, 3)]
    free = [value(cxsim.run(sc.with_interventions(["reminder", "free_surgery"], only=True), seed=s), "recalled:served") for s in (1, 2, 3)]
    assert all(f > r for f, r in zip(free, reminder))
    assert math.isnan(value(cxsim.run(sc.variant("baseline"), seed=1), "recalled:served"))  # no recall, no trial population


def test_the_chance_to_reconsider():
    sc = cxsim.load_scenario("aravind").with_overrides({"population.customers": 3000})
    never = cxsim.run(sc.with_overrides({"journey.reconsider_chance": 0.0}), seed=2).model.tally["reconsiderations"]
    half = cxsim.run(sc.with_overrides({"journey.reconsider_chance": 0.5}), seed=2).model.tally["reconsiderations"]
    every = cxsim.run(sc.with_overrides({"journey.reconsider_chance": 1.0}), seed=2).model.tally["reconsiderations"]
    assert never == 0 < half < every


def test_a_barrier_is_present_by_its_size():
    sc = _world()
    heavy = cxsim.run(sc.with_overrides({"decision.w_cost": 20.0}), seed=1)
    none = cxsim.run(sc.with_overrides({"decision.w_cost": 0.0}), seed=1)
    assert value(heavy, "barrier:cost") == 1.0 and value(none, "barrier:cost") == 0.0
    assert PRESENT > 0
    assert problem("barrier:cost", []) is None and "unknown barrier" in problem("barrier:money", [])
    assert problem("recalled:served", []) is None and "unknown funnel milestone" in problem("recalled:cured", [])


@pytest.mark.parametrize("kind", ["recall", "free_service"])
def test_the_new_kinds_are_declared_interventions(kind):
    assert _with({"x": {"kind": kind}}).interventions["x"].kind == kind
