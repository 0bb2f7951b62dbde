"""The explorer's tables (cxsim.views): a scenario's own measures sit beside the metrics."""

import math

import pytest

import cxsim
from cxsim import views
from cxsim.measures import definition


@pytest.fixture(scope="module")
def basket_worlds():
    sc = cxsim.load_scenario("retail_basket").with_overrides({"population.customers": 600, "steps": 12})
    worlds = {"baseline": sc, "intervention": sc.variant(next(iter(sc.variants)))}
    return sc, {w: [views.run_tables(cxsim.run(s, seed)) for seed in (1, 2)] for w, s in worlds.items()}


def test_run_tables_carry_the_scenarios_own_measures(basket_worlds):
    sc, runs = basket_worlds
    own = views.scenario_measures(sc)
    assert "average_basket" in own and "value_delivered" not in own  # metrics are there already
    outcomes = runs["baseline"][0]["outcomes"]
    assert list(outcomes)[: len(cxsim.metrics.SCALAR_OUTCOMES)] == list(cxsim.metrics.SCALAR_OUTCOMES)
    assert set(own) <= set(outcomes) and outcomes["average_basket"] > 0


def test_comparison_labels_measures_and_cards_put_them_first(basket_worlds):
    sc, runs = basket_worlds
    table = views.paired_comparison(runs["baseline"], runs["intervention"])
    row = table.set_index("metric").loc["average_basket"]
    assert row["label"] == definition("average_basket").label == "Average basket" and row["unit"] == "currency"
    assert not math.isnan(row["difference"])
    own = views.scenario_measures(sc)
    cards = views.card_metrics(table, first=own)
    assert len(cards) == 8 and cards[0] == own[0]
    assert not set(views.card_metrics(table)) & set(own)  # without them: headline metrics only
    assert views.fmt(row["baseline"], "average_basket", "pounds").endswith(" pounds")


def test_group_measures_are_described_with_their_group():
    d = definition("satisfaction@recovered")
    assert d.label == "Satisfaction (recovered)" and d.unit == "0–1"
    assert definition("nps").label == "NPS" and definition("no_such_measure").unit == ""
