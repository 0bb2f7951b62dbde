"""cxsim as a Mesa model: batch_run builds it from plain parameters, stops at the horizon, honours seeds."""

import mesa
import pandas as pd
import pytest

import cxsim
from cxsim.engine.model import CxModel


@pytest.fixture(scope="module")
def batch() -> pd.DataFrame:
    rows = mesa.batch_run(CxModel, parameters={"scenario": "aravind", "customers": [500, 800], "seed": [1, 2]},
                          number_processes=1, data_collection_period=1, display_progress=False)
    return pd.DataFrame(rows)


def test_batch_run_stops_at_the_scenario_horizon(batch):
    horizon = cxsim.load_scenario("aravind").steps
    assert batch.groupby(["customers", "seed"]).ngroups == 4
    last = batch.groupby(["customers", "seed"])["Step"].agg(["min", "max", "count"])
    assert (last["min"] == 0).all() and (last["max"] == horizon).all() and (last["count"] == horizon + 1).all()


@pytest.mark.parametrize("customers, seed", [(500, 1), (800, 2)])
def test_batch_run_honours_the_seed(batch, customers, seed):
    run = batch[(batch.customers == customers) & (batch.seed == seed)].sort_values("Step")
    direct = cxsim.run(cxsim.load_scenario("aravind"), seed=seed, customers=customers).timeseries
    for col in ("accepted", "offered", "n_loyal", "satisfaction"):
        assert run[col].tolist() == pytest.approx(direct[col].tolist(), nan_ok=True)


def test_seeds_differ_and_rng_is_mesas_name_for_the_seed(batch):
    a = batch[(batch.customers == 800) & (batch.seed == 1)]["offered"].tolist()
    b = batch[(batch.customers == 800) & (batch.seed == 2)]["offered"].tolist()
    assert a != b
    rows = mesa.batch_run(CxModel, parameters={"scenario": "aravind", "customers": 500}, rng=[2], number_processes=1, display_progress=False)
    assert rows[-1]["accepted"] == cxsim.run(cxsim.load_scenario("aravind"), seed=2, customers=500).summary["accepted"]


def test_keyword_parameters_build_the_same_world_as_a_scenario_object():
    sc = cxsim.load_scenario("aravind")
    by_name = CxModel(scenario="aravind", seed=3, customers=600, steps=12, variant="baseline",
                      interventions=["free_transport"], overrides={"decision.w_fear": 1.5}).run()
    built = sc.variant("baseline").with_interventions(["free_transport"]).with_overrides(
        {"decision.w_fear": 1.5, "population.customers": 600, "steps": 12})
    by_object = CxModel(built, seed=3).run()
    assert by_name.steps == 12 and by_name.pars == built
    assert by_name.datacollector.get_model_vars_dataframe().equals(by_object.datacollector.get_model_vars_dataframe())


def test_running_turns_false_at_the_horizon():
    m = CxModel(scenario="aravind", customers=300, steps=5, seed=1)
    assert m.running
    for _ in range(4):
        m.step()
    assert m.running
    m.step()
    assert not m.running and m.steps == 5
    assert not CxModel(scenario="aravind", customers=300, steps=3).run().running


def test_one_seed_drives_mesa_and_the_streams():
    m = CxModel(scenario="aravind", customers=300, seed=7)
    assert m.seed == m.streams.seed == 7
    assert m.rng.random() == CxModel(scenario="aravind", customers=300, rng=7).rng.random()
    assert CxModel(cxsim.load_scenario("aravind"), 7, customers=300).seed == 7  # the old positional form
    with pytest.raises(cxsim.CxError, match="not two different"):
        CxModel(scenario="aravind", customers=300, seed=1, rng=2)
    with pytest.raises(cxsim.CxError, match="unknown parameter 'sede'"):
        CxModel(scenario="aravind", sede=1)


def test_drawing_from_mesas_generators_does_not_change_the_customers():
    a = CxModel(scenario="aravind", customers=400, seed=5)
    a.rng.random(1000)
    a.random.random()
    b = CxModel(scenario="aravind", customers=400, seed=5)
    assert a.run().datacollector.get_model_vars_dataframe().equals(b.run().datacollector.get_model_vars_dataframe())


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, "3", True])
def test_a_bad_seed_is_one_line(seed):
    with pytest.raises(cxsim.CxError, match=r"^seed = .*: must be"):
        cxsim.run(cxsim.load_scenario("aravind"), seed=seed, customers=100)


def test_customer_is_the_same_agent_each_time():
    m = CxModel(scenario="aravind", customers=300, seed=1).run()
    assert m.customer(4) is m.customer(4)
    m.customer(5)
    assert len(m.agents) == 2
    with pytest.raises(cxsim.CxError):
        m.customer(300)


def test_the_recorder_uses_no_private_fields_of_its_own():
    import inspect

    from cxsim.readouts import metrics

    assert "_collection_steps" not in inspect.getsource(metrics)
    m = CxModel(scenario="aravind", customers=300, seed=1, steps=4).run()
    df = m.datacollector.get_model_vars_dataframe()
    assert len(df) == 5 and set(df.columns) == set(metrics.step_reporters())
