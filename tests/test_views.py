"""The explorer's tables (cxsim.views): a scenario's own measures sit beside the metrics."""

import math

import pytest

import cxsim
from cxsim import views
from cxsim.readouts.measures import definition


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
    assert list(outcomes)[: len(cxsim.readouts.metrics.SCALAR_OUTCOMES)] == list(cxsim.readouts.metrics.SCALAR_OUTCOMES)
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


# -- which direction is good, and how numbers read --------------------------------------------
def test_every_metric_and_measure_declares_which_direction_is_better():
    from cxsim.readouts.measures import GROUP_MEASURES, MEASURES
    from cxsim.readouts.metrics import METRICS

    for m in (*METRICS, *MEASURES.values(), *GROUP_MEASURES.values()):
        assert m.better in ("higher", "lower", None), m.name
    assert definition("churn_rate").better == "lower" and definition("failures").better == "lower"
    assert definition("intervention_cost").better == "lower" and definition("acceptance_rate").better == "higher"
    assert definition("satisfaction@recovered").better == "higher"  # group measures keep their direction


def _row(metric, diff, lo, hi):
    return {"metric": metric, "difference": diff, "ci_low": lo, "ci_high": hi}


@pytest.mark.parametrize("row, reading", [
    (_row("churn_rate", -0.08, -0.1, -0.06), "better"),  # falling churn is good
    (_row("churned", 40, 30, 50), "worse"),  # more churned accounts is bad
    (_row("failures", -12, -15, -9), "better"),
    (_row("acceptance_rate", 0.6, 0.58, 0.62), "better"),
    (_row("intervention_cost", 1000, 900, 1100), "worse"),
    (_row("nps", 12.1, -3.7, 27.9), "no clear change"),  # the interval spans zero
    (_row("nps", 0.0, 0.0, 0.0), "no change"),
    (_row("nps", -0.00001, -0.00002, 0.0), "no change"),  # zero as shown
    (_row("actions_done", 14, 7, 21), "changed"),  # neither direction is better
    (_row("acceptance_rate", math.nan, math.nan, math.nan), ""),
    (_row("acceptance_rate", 0.05, math.nan, math.nan), "better"),  # one replicate: the sign alone
])
def test_verdict_follows_the_declared_direction_and_the_interval(row, reading):
    assert views.verdict(row) == reading


@pytest.mark.parametrize("value, metric, kw, text", [
    (5.2e13, "value_delivered", dict(currency="rupees", compact=True), "52.0T rupees"),
    (5.2e7, "value_delivered", dict(currency="rupees", compact=True), "52.0M rupees"),
    (999_960, "value_delivered", dict(currency="rupees", compact=True), "1.00M rupees"),
    (900_848, "value_delivered", dict(currency="rupees", compact=True), "901k rupees"),
    (900_848, "value_delivered", dict(currency="rupees"), "900,848 rupees"),
    (14.0, "actions_done", {}, "14"),  # counts of things are whole numbers
    (1234.4, "served", {}, "1,234"),
    (0.053, "failure_rate", {}, "0.05"),  # … unless a small mean
    (-0.0001, "nps", dict(signed=True), "0"),  # never '−0'
    (-0.0, "acceptance_rate", dict(signed=True), "0 pp"),
    (0.7183, "acceptance_rate", {}, "71.8 %"),
    (-0.02, "acceptance_rate", dict(signed=True), "-2.0 pp"),
    (87.234, "value_index@price_seekers", {}, "87.2"),
])
def test_fmt_reads_like_people_write_numbers(value, metric, kw, text):
    assert views.fmt(value, metric, **kw) == text
    assert "e+" not in text and "e-" not in text


def test_fmt_difference_without_negative_zero_or_empty_intervals():
    assert views.fmt_difference(_row("nps", -0.0, -0.0, 0.0)) == "no change"
    assert views.fmt_difference(_row("acceptance_rate", 0.672, 0.644, 0.700)) == "+67.2 pp ±2.8 (95%)"
    assert views.fmt_difference(_row("peak_morale", 0.35, 0.348, 0.352)) == "+0.35 ±<0.01 (95%)"
    assert views.fmt_difference(_row("intervention_cost", 36_000.0, 36_000.0, 36_000.0), "pounds", compact=True) == "+36.0k pounds"


def test_every_switch_of_a_scenario_has_its_own_label():
    for name in cxsim.list_scenarios():
        sc = cxsim.load_scenario(name)
        labels = [views.intervention_label(sc, n) for n in sc.interventions]
        assert len(set(labels)) == len(labels), (name, labels)
    jr = cxsim.load_scenario("journey_reliability")
    assert views.intervention_label(jr, "spread_effort") == "Spread effort"
    assert "Listen, assign actions" in views.intervention_help(jr, "spread_effort")
    assert views.intervention_label(cxsim.load_scenario("aravind"), "free_transport") == "Free transport to hospital and back"


def test_trainer_story_keeps_the_outcome_for_the_reveal():
    steps = views.trainer_steps(cxsim.load_scenario("aravind"), ["free_transport"])
    first = steps[0]
    assert "one in twenty" not in first["text"] and "one in twenty" in first["after"]
    assert first["text"].startswith("Aravind screened villagers")
    assert views.setup_and_outcome("One sentence only") == ("One sentence only", "")


def test_intervals_are_drawn_on_one_scale_per_unit(basket_worlds):
    sc, runs = basket_worlds
    shown = views.display_comparison(views.paired_comparison(runs["baseline"], runs["intervention"]), sc.currency)
    scales = shown.groupby("scale")["unit"].nunique()
    assert (scales == 1).all()  # a panel never mixes units
    assert set(shown.loc[shown["unit"] == "%", "scale"]) == {"percentage points"}


@pytest.mark.parametrize("name", ["aravind", "telco_churn", "top_accounts"])
def test_journey_flows_balance_at_every_node(name):
    sc = cxsim.load_scenario(name)
    res = cxsim.run(sc.variant(next(iter(sc.variants))).with_overrides({"population.customers": 800, "steps": 20}), 3)
    flows = views.journey_flows(res.model)
    inflow, outflow = flows.groupby("target")["customers"].sum(), flows.groupby("source")["customers"].sum()
    assert outflow["customers"] == res.model.customers.n  # everyone starts once
    for node in outflow.index.drop("customers"):
        assert inflow[node] == outflow[node], node  # what comes in goes on or ends there
    assert set(flows["source"]) | set(flows["target"]) <= set(views.FLOW_NODES)
    leaving = flows.loc[flows["target"].isin(["declined", "dropped", "churned"]), "customers"].sum()
    stage = res.model.customers.stage
    from cxsim.rules.journey import Stage
    assert leaving == int(((stage == Stage.DECLINED) | (stage == Stage.DROPPED) | (stage == Stage.CHURNED)).sum())


def test_flow_table_means_per_world(basket_worlds):
    sc, runs = basket_worlds
    table = views.flow_table(runs)
    assert list(dict.fromkeys(table["world"])) == ["baseline", "intervention"]
    first = runs["baseline"][0]["flows"].set_index(["source", "target"])["customers"]
    second = runs["baseline"][1]["flows"].set_index(["source", "target"])["customers"]
    mean = first.add(second, fill_value=0) / 2
    got = table[table["world"] == "baseline"].set_index(["source", "target"])["customers"]
    assert got.sort_index().to_dict() == pytest.approx(mean.sort_index().to_dict())  # the mean of the two replicates


# -- the page's worlds over posterior draws × seeds (cxsim.views.run_worlds, worlds_ensemble) ---------------------
def _posterior(n=120, seed=5):
    import numpy as np

    from cxsim import posterior

    rng = np.random.default_rng(seed)
    return posterior.Posterior({"decision.w_cost": rng.uniform(0.5, 4.0, n), "decision.w_fear": rng.uniform(0.3, 2.5, n)}, np.ones(n))


def test_run_worlds_pairs_every_world_within_each_draw_and_seed():
    sc = cxsim.load_scenario("aravind").with_overrides({"population.customers": 300, "steps": 8})
    worlds = {"baseline": sc.variant("baseline"), "what-if": sc.variant("aravind_1980s")}
    draws = ({"decision.w_cost": 1.0}, {"decision.w_cost": 3.0})
    seen = []
    runs = views.run_worlds(worlds, [7, 8], run=lambda s, seed: seen.append((s.decision.w_cost, seed)) or {"seed": seed},
                            draws=draws, on_run=lambda *a: None)
    assert [r["seed"] for r in runs["baseline"]] == [r["seed"] for r in runs["what-if"]] == [7, 8, 9, 10]
    assert seen == [(1.0, 7), (1.0, 8), (1.0, 7), (1.0, 8), (3.0, 9), (3.0, 10), (3.0, 9), (3.0, 10)]
    kept = views.run_worlds({"w": sc}, [1], run=lambda s, seed: s.decision.w_cost, draws=draws, keep=("decision.w_cost",))
    assert kept["w"] == [sc.decision.w_cost] * 2  # a path the user set stays as set under every draw


def test_the_pages_ensemble_is_the_librarys(monkeypatch):
    from cxsim.ensemble import run_ensemble

    post = _posterior()
    monkeypatch.setattr("cxsim.uncertainty.load", lambda name: post)
    sc = cxsim.load_scenario("aravind").with_overrides({"population.customers": 400, "steps": 10})
    unc = views.page_uncertainty("aravind", None, 3, 2)
    assert unc.kind == "posterior" and "3 posterior draws × 2 seeds" in unc.words[0] and unc.words[1] == "parameters + seeds"
    runs = views.run_worlds({"baseline": sc.variant("baseline"), "aravind_1980s": sc.variant("aravind_1980s")}, [sc.seed, sc.seed + 1],
                            draws=unc.draws)
    page = views.worlds_ensemble(runs, sc, unc).differences("baseline").set_index("metric")
    lib = run_ensemble("aravind", ["baseline", "aravind_1980s"], posterior=post, draws=3, seeds=2, customers=400, steps=10)
    want = lib.differences("baseline").set_index("metric")
    for col in ("difference", "ci_low", "ci_high"):
        assert page.loc["acceptance_rate", col] == pytest.approx(want.loc["acceptance_rate", col], abs=1e-12)


def test_without_a_posterior_the_page_falls_back_to_seeds_and_says_so(monkeypatch):
    monkeypatch.setattr("cxsim.uncertainty.load", lambda name: None)
    unc = views.page_uncertainty("aravind", "posterior", 20, 3)
    assert unc.kind == "seeds" and unc.draws == ({},)
    assert "has no posterior" in unc.words[0] and "chance only" in unc.words[0] and unc.words[1] == "seeds only"
    monkeypatch.setattr("cxsim.uncertainty.load", lambda name: _posterior())
    chosen = views.page_uncertainty("aravind", "seeds", 20, 3)
    assert chosen.kind == "seeds" and "posterior not used" in chosen.words[0]


def test_the_pages_ensemble_goes_into_the_report_with_its_words(monkeypatch):
    from cxsim import report

    monkeypatch.setattr("cxsim.uncertainty.load", lambda name: _posterior())
    sc = cxsim.load_scenario("aravind").with_overrides({"population.customers": 300, "steps": 8})
    worlds = {"baseline": sc.variant("baseline"), "intervention": sc.variant("aravind_1980s")}
    unc = views.page_uncertainty("aravind", None, 3, 1)
    runs = views.run_worlds(worlds, [1], draws=unc.draws)
    html = report.comparison_report("aravind", worlds, runs, [1], ensemble=views.worlds_ensemble(runs, sc, unc))
    assert unc.words[0].split(" (")[0] in html and "parameters + seeds" in html
