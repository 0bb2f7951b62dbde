"""`cxsim story`: every scenario's trainer's story, told with the numbers of runs."""

import math

import numpy as np
import pytest

import cxsim
from cxsim.cli import main
from cxsim.narrative import scenario_story, story_runs, story_table
from cxsim.readouts.measures import GROUPS, MEASURES, label, measure

SMALL = dict(customers=300, steps=8)


@pytest.mark.parametrize("name", cxsim.list_scenarios())
def test_every_scenario_tells_its_story_with_numbers(name):
    sc = cxsim.load_scenario(name)
    text = scenario_story(sc, 2, **SMALL)
    for heading in ("Fact:", "Source:", "Inside-out", "Outside-in", "What changed", "In the simulation (300 customers, 8"):
        assert heading in text, (name, heading)
    for variant in ["baseline", *sc.variants]:
        assert variant in text, (name, variant)
    measures = sc.story.measures or ["acceptance_rate"]
    assert label(measures[0]) in text
    assert any(ch.isdigit() for ch in text.split("In the simulation")[1])


def test_story_table_pairs_variants_with_the_baseline_on_the_same_seeds():
    sc = cxsim.load_scenario("telco_churn")
    names = ["churn_rate", "value_delivered"]
    runs, sample = story_runs(sc, [3, 4, 5], customers=400, steps=12, measures=names)
    assert list(runs["variant"].unique()) == ["baseline", *sc.variants]
    for _, group in runs.groupby("variant"):
        assert sorted(group["seed"]) == [3, 4, 5]
    assert sample is not None and sample.pars.name == "telco_churn"
    table = story_table(runs, names).set_index(["variant", "measure"])
    assert table.loc[("baseline", "churn_rate"), "difference"] == 0
    for v in sc.variants:
        for m in names:
            row = table.loc[(v, m)]
            mean_diff = runs[runs.variant == v][m].mean() - runs[runs.variant == "baseline"][m].mean()
            assert row["difference"] == pytest.approx(mean_diff)
            assert row["diff_low"] <= row["difference"] <= row["diff_high"]


def test_aravind_story_lets_a_non_user_speak():
    text = scenario_story(cxsim.load_scenario("aravind"), 1, customers=1500, variants=["aravind_1980s"], uncertainty="seeds")
    assert "A customer from the simulated baseline" in text
    assert "stayed away" in text
    assert "aravind_1980s" in text and "all_barriers_removed" not in text
    assert "paired difference)" in text  # one seed: no interval


def test_story_rejects_unknown_measures():
    sc = cxsim.load_scenario("service_recovery").with_overrides({"story.measures": ["satisfaction@nobody"]})
    with pytest.raises(cxsim.CxError, match="unknown group"):
        scenario_story(sc, 1, **SMALL)
    sc = cxsim.load_scenario("service_recovery").with_overrides({"story.measures": ["happiness"]})
    with pytest.raises(cxsim.CxError, match="unknown measure"):
        scenario_story(sc, 1, **SMALL)


def test_measures_of_a_run():
    res = cxsim.run(cxsim.load_scenario("retail_basket").variant("kiosk"), 1, customers=500, steps=10, track=0)
    assert measure(res, "average_basket") == pytest.approx(res.model.encounter_value / res.model.tally["encounters"])
    assert measure(res, "satisfaction") == pytest.approx(res.summary["satisfaction"])
    n_kiosk_users = measure(res, "customers@kiosk_users")
    assert 0 < n_kiosk_users < 500
    for name in MEASURES:
        assert not math.isinf(measure(res, name)), name
    for group in GROUPS:
        value = measure(res, f"satisfaction@{group}")
        assert math.isnan(value) or 0 <= value <= 1, group
    assert np.isclose(measure(res, "revenue_share@kiosk_users") + measure(res, "revenue_share@other_shoppers"), 1.0) or math.isnan(measure(res, "revenue_share@kiosk_users"))


def test_cli_story_and_list(capsys):
    assert main(["story", "telco_churn", "--seeds", "2", "--customers", "300", "--steps", "6", "--variant", "save_desk"]) == 0
    out = capsys.readouterr().out
    assert "Telco" in out and "Inside-out" in out and "save_desk" in out and "loyalty_discount" not in out
    assert main(["story", "telco_churn", "--variant", "nope", "--customers", "300"]) == 2
    assert "unknown variant" in capsys.readouterr().err
    assert main(["story", "telco_churn", "--seeds", "0"]) == 2
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    for name in cxsim.list_scenarios():
        sc = cxsim.load_scenario(name)
        assert name in listing and sc.story.fact[:40] in listing
