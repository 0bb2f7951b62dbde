"""The shareable report (cxsim.report): one HTML file, readable offline, numbers as the explorer shows them."""

from __future__ import annotations

import re

import pytest

import cxsim
from cxsim import report, views

SEEDS = [1, 2]


@pytest.fixture(scope="module")
def comparison():
    sc = cxsim.load_scenario("aravind").with_overrides({"population.customers": 800, "steps": 20})
    worlds = {"baseline": sc.variant("baseline"), "freed": sc.variant("aravind_1980s"), "bus": sc.with_interventions(["free_transport"], only=True)}
    runs = {w: [views.run_tables(cxsim.run(s, seed)) for seed in SEEDS] for w, s in worlds.items()}
    return worlds, runs


def test_report_holds_story_settings_seeds_version_cards_and_charts(comparison):
    worlds, runs = comparison
    text = report.comparison_report("aravind", worlds, runs, SEEDS)
    assert text.startswith("<!DOCTYPE html>") and "vegaEmbed" in text
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=['\"]?http", text)  # nothing loaded from elsewhere
    assert "one in twenty" in text  # the story
    assert "seeds <span id='seeds'>1, 2</span>" in text and f"cxsim <span id='version'>{cxsim.__version__}</span>" in text
    assert "population.customers = 800" in text and "Free transport to hospital and back" in text  # each world's settings
    assert text.count("id='chart") == 3  # funnel, non-users' reasons, one customer's journey
    assert "One customer's journey: customer" in text and "Story in plain words (bus)" in text


def test_report_cards_are_the_explorer_cards(comparison):
    worlds, runs = comparison
    cards = report.cards(runs, "rupees", first=worlds["baseline"].story.measures)
    table = views.worlds_comparison(runs)
    assert list(dict.fromkeys(cards["world"])) == ["freed", "bus"]
    for r in cards.itertuples():
        row = table[(table["world"] == r.world) & (table["metric"] == r.metric)].iloc[0]
        assert r.value == views.fmt(row["value"], r.metric, "rupees", unit=r.label.endswith(")") is False, compact=True)
        assert r.reading == views.verdict(row, "rupees")
    freed = cards[(cards["world"] == "freed") & (cards["metric"] == "acceptance_rate")].iloc[0]
    mean = 100 * sum(x["outcomes"]["acceptance_rate"] for x in runs["freed"]) / len(SEEDS)
    assert freed.value == f"{mean:.1f} %" and freed.reading == "better" and freed.arrow == "up"
    text = report.comparison_report("aravind", worlds, runs, SEEDS)
    assert f"<div class='value'>{freed.value}</div>" in text


def test_report_follows_the_customer_asked_for(comparison):
    worlds, runs = comparison
    models = {w: cxsim.run(s, SEEDS[0]).model for w, s in worlds.items()}
    tracked = int(models["baseline"].tracked.nonzero()[0][3])
    text = report.comparison_report("aravind", worlds, runs, SEEDS, customer=tracked, models=models)
    assert f"customer {tracked}'s journey" in text.lower() or f"customer {tracked}" in text


def test_report_refuses_mismatched_worlds(comparison):
    worlds, runs = comparison
    with pytest.raises(cxsim.CxError):
        report.comparison_report("aravind", worlds, {"baseline": runs["baseline"]}, SEEDS)


@pytest.mark.parametrize("name", cxsim.list_scenarios())
def test_every_builtin_scenario_makes_a_report(name):
    sc = cxsim.load_scenario(name).with_overrides({"population.customers": 300, "steps": 10})
    first = next(iter(sc.variants), None)
    worlds = {"baseline": sc.variant("baseline"), "what-if": sc.variant(first) if first else sc}
    runs = {w: [views.run_tables(cxsim.run(s, 1))] for w, s in worlds.items()}
    text = report.comparison_report(name, worlds, runs, [1])
    assert text.count("class='card'") == 8 and "</html>" in text
