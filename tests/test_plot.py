"""cxsim.plot: every chart is a valid Vega-Lite spec carrying the data it shows (Aravind baseline, a variant, replicates)."""

from collections import Counter

import altair as alt
import pytest

import cxsim
from cxsim import plot, views
from cxsim.experiments import compare
from cxsim.state.params import CxError

SEEDS = (1, 2, 3)  # three: fewer replicates give no interval (cxsim.readouts.metrics.MIN_REPLICATES)


@pytest.fixture(scope="module")
def worlds(small):
    return {w: [cxsim.run(small.variant(w), seed=s) for s in SEEDS] for w in ("baseline", "aravind_1980s")}


def spec_rows(chart: alt.TopLevelMixin) -> tuple[dict, list[dict]]:
    """The chart's Vega-Lite spec (validated against the schema by altair) and the rows of its one dataset."""
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    (rows,) = spec["datasets"].values()
    assert rows
    return spec, rows


def test_funnel_of_a_run_of_replicates_and_of_two_worlds(worlds):
    base, freed = worlds["baseline"], worlds["aravind_1980s"]
    _, one = spec_rows(plot.funnel(base[0]))
    assert [r["milestone"] for r in one] == list(cxsim.readouts.metrics.FUNNEL) and {r["world"] for r in one} == {plot.ONE_WORLD}
    _, reps = spec_rows(plot.funnel(base))
    accepted = [r["customers"] for r in reps if r["milestone"] == "accepted"]
    assert accepted == [sum(int(res.funnel.set_index("milestone").loc["accepted", "customers"]) for res in base) / len(base)]
    _, rows = spec_rows(plot.funnel(baseline=base, aravind_1980s=freed))
    share = {r["world"]: r["share_of_population"] for r in rows if r["milestone"] == "accepted"}
    assert share["aravind_1980s"] > 3 * share["baseline"]
    assert plot.funnel({"baseline": base, "aravind_1980s": freed}).to_dict()["datasets"] == plot.funnel(baseline=base, aravind_1980s=freed).to_dict()["datasets"]
    spec, _ = spec_rows(plot.funnel(aravind_1980s=freed, baseline=base))  # the baseline first and grey, whatever the order given
    colour = spec["layer"][0]["encoding"]["color"]["scale"]
    assert colour["domain"] == ["baseline", "aravind_1980s"] and colour["range"][:2] == plot.PALETTE[:2]


def test_reasons_by_stage_name_the_runs_chief_reason_at_baseline(worlds):
    spec, rows = spec_rows(plot.reasons(worlds))
    top = max((r for r in rows if r["world"] == "baseline"), key=lambda r: r["customers"])
    counted = sum((Counter(res.summary["dropout_reasons"]) for res in worlds["baseline"]), Counter())
    assert top["reason"] == counted.most_common(1)[0][0] and top["stage"] == "decision"
    assert {r["reason"] for r in rows if r["world"] == "baseline"} >= {"cost", "low_need"}
    assert spec["encoding"]["row"]["field"] == "world" and spec["encoding"]["color"]["field"] == "stage"
    by_stage, _ = spec_rows(plot.reasons(worlds["baseline"], by="stage"))
    assert by_stage["encoding"]["y"]["field"] == "stage" and by_stage["encoding"]["color"]["field"] == "reason"
    with pytest.raises(CxError, match="by = 'why'"):
        plot.reasons(worlds["baseline"], by="why")


def test_curves_carry_a_95_band_over_replicates_and_none_for_one_run(worlds):
    spec, rows = spec_rows(plot.curves(worlds, metrics=["referrals", "mean_loyalty"]))
    assert spec["facet"]["row"]["sort"] == ["Referrals", "Loyalty"]
    assert {r["metric"] for r in rows} == {"referrals", "mean_loyalty"}
    late = [r for r in rows if r["metric"] == "referrals" and r["step"] == 52]
    assert len(late) == 2 and all(r["low"] <= r["mean"] <= r["high"] for r in late)
    assert any(r["high"] > r["low"] for r in late)
    _, single = spec_rows(plot.curves(worlds["baseline"][0]))
    assert all(r["low"] is None for r in single)  # one replicate: no band
    with pytest.raises(CxError, match="metric 'loyaltee'"):
        plot.curves(worlds, metrics=["loyaltee"])


def test_stages_over_time(worlds):
    _, rows = spec_rows(plot.stages(worlds["aravind_1980s"]))
    last = sum(r["customers"] for r in rows if r["step"] == 52)
    assert last == pytest.approx(2000)


def test_comparison_is_the_cards_as_a_chart(worlds, small):
    spec, rows = spec_rows(plot.comparison(worlds["baseline"], worlds["aravind_1980s"]))
    acc = next(r for r in rows if r["metric"] == "acceptance_rate")
    assert acc["unit"] == "%" and acc["ci_low"] <= acc["difference"] <= acc["ci_high"] and acc["difference"] > 10
    before, after = (views.fmt(acc[w] / 100, "acceptance_rate", compact=True) for w in ("baseline", "intervention"))
    assert acc["text"].startswith(f"{before} → {after}: +") and acc["text"].endswith("(95%)") and acc["end"] == acc["ci_high"]
    assert [r["metric"] for r in rows] == [m for m in views.HEADLINE if m in {r["metric"] for r in rows}]
    assert "alternative − baseline" in str(spec["title"])
    named, _ = spec_rows(plot.comparison({"baseline": worlds["baseline"], "aravind_1980s": worlds["aravind_1980s"]}, metrics=["nps"]))
    assert "aravind_1980s − baseline" in str(named["title"])
    table = compare(small.variant("baseline"), small.variant("aravind_1980s"), list(SEEDS))
    _, from_table = spec_rows(plot.comparison(table, metrics=["acceptance_rate"]))
    assert from_table[0]["difference"] == pytest.approx(acc["difference"])
    with pytest.raises(CxError, match="same order"):
        plot.comparison(worlds["baseline"], worlds["aravind_1980s"][::-1])


def test_journey_marks_peak_and_end_in_each_world(worlds):
    base, freed = worlds["baseline"][0], worlds["aravind_1980s"][0]
    who = int(freed.model.tracked.nonzero()[0][0])
    _, rows = spec_rows(plot.journey(freed, who))
    markers = [r["marker"] for r in rows if r["marker"]]
    assert markers[-1] in ("end", "peak and end") and rows[-1]["marker"] == markers[-1]
    assert [r["moment"] for r in rows] == list(range(1, len(rows) + 1))
    _, both = spec_rows(plot.journey({"baseline": base, "aravind_1980s": freed.model}, who))
    assert {r["world"] for r in both} == {"baseline", "aravind_1980s"}
    table = plot.journey_table({"baseline": base}, who)
    assert spec_rows(plot.journey(table))[1] == spec_rows(plot.journey({"baseline": base}, who))[1]
    untracked = int((~base.model.tracked).nonzero()[0][0])
    with pytest.raises(CxError, match=f"customer = {untracked}: their touchpoints were not recorded"):
        plot.journey(base, untracked)
    with pytest.raises(CxError, match="customer = 2000: must be in 0 to 1999"):
        plot.journey(base, 2000)


def test_views_tables_are_charted_as_given(worlds):
    runs = plot.worlds(worlds)
    table = views.funnel_table(runs)
    _, rows = spec_rows(plot.funnel(table))
    assert len(rows) == len(table)
    _, rows = spec_rows(plot.funnel(worlds["baseline"][0].funnel))  # one run's own table
    assert rows[0]["world"] == plot.ONE_WORLD
    with pytest.raises(CxError, match="lacks column"):
        plot.reasons(table)
    with pytest.raises(CxError, match="lacks column 'milestone'"):
        plot.funnel(worlds["baseline"][0].dropouts)
    with pytest.raises(CxError, match="expected cxsim.Results"):
        plot.funnel(baseline=[42])


def test_results_show_a_summary_and_the_funnel_in_notebooks(worlds):
    res = worlds["baseline"][0]
    page = res._repr_html_()
    assert "<script" not in page and "Acceptance" in page and "Journey funnel" in page
    acc = views.fmt(res.summary["acceptance_rate"], "acceptance_rate", "rupees")
    assert acc in page and "cost" in page and f"seed {res.seed}" in page
    assert page.count("<tr>") == len(plot.SUMMARY) + 1 + 1 + len(res.funnel) + 1


def test_comparison_groups_units_colours_readings_and_several_what_ifs(worlds, small):
    spec, rows = spec_rows(plot.comparison(worlds["baseline"], worlds["aravind_1980s"]))
    assert spec["facet"]["row"]["field"] == "scale" and spec["resolve"]["scale"]["x"] == "independent"  # one scale per unit group
    point = spec["spec"]["layer"][2]["encoding"]
    assert point["color"]["field"] == "reading" and point["color"]["scale"]["domain"][:2] == ["better", "worse"]
    acc = next(r for r in rows if r["metric"] == "acceptance_rate")
    assert acc["reading"] == "better" and acc["scale"] == "percentage points"
    bus = [cxsim.run(small.variant("baseline").with_overrides({"interventions.free_transport.enabled": True}), seed=s) for s in SEEDS]
    three = {"baseline": worlds["baseline"], "aravind_1980s": worlds["aravind_1980s"], "bus": bus}
    spec, rows = spec_rows(plot.comparison(three, metrics=["acceptance_rate", "nps"]))
    colour = spec["spec"]["layer"][2]["encoding"]["color"]
    assert colour["field"] == "world" and colour["scale"]["range"] == plot.PALETTE[1:3]  # the colours they have beside the baseline
    assert {(r["world"], r["metric"]) for r in rows} == {(w, m) for w in ("aravind_1980s", "bus") for m in ("acceptance_rate", "nps")}
    assert "what-if − baseline" in str(spec["title"])
    table = views.worlds_comparison(plot.worlds(three))
    assert spec_rows(plot.comparison(table, metrics=["acceptance_rate", "nps"], currency=small.currency))[1] == rows


def test_the_explorers_teaching_and_planning_figures_are_in_cxsim_plot():
    """Issue 22 item 7: figures a notebook can draw too; app/ only shows them."""
    import pandas as pd
    from pathlib import Path

    spec, rows = spec_rows(plot.predictions(pd.DataFrame({"step": ["a", "b"], "predicted": [40.0, 60.0], "simulated": [55.0, 70.0]})))
    assert {r["what"] for r in rows} == {"predicted", "simulated"}
    reveal = plot.classroom_reveal([10.0, 30.0, 35.0], 40.0, 33.0, 47.0).to_dict()
    assert reveal["layer"] and reveal["$schema"].startswith("https://vega.github.io/")
    results = pd.DataFrame({"step": ["a"], "median": [30.0], "low": [10.0], "high": [35.0], "simulated": [40.0], "sim_lo": [33.0], "sim_hi": [47.0]})
    assert plot.classroom_summary(pd.DataFrame({"step": ["a", "a"], "prediction": [10.0, 35.0]}), results).to_dict()["layer"]
    plans = pd.DataFrame({"trial": [0, 1], "plan": ["bus", "camp"], "acceptance_rate": [40.0, 60.0], "acceptance_rate_low": [35.0, 55.0],
                          "acceptance_rate_high": [45.0, 65.0], "intervention_cost": [10.0, 20.0], "intervention_cost_low": [9.0, 19.0],
                          "intervention_cost_high": [11.0, 21.0], "feasible": [True, True], "main_reason_removed": ["cost", "fear"]})
    assert plot.frontier(plans, plans, "acceptance_rate", 15.0, 0, "rupees").to_dict()["layer"]
    app = Path(plot.__file__).resolve().parents[1] / "app"
    for page in ("charts.py", "budget.py", "classroom.py", "trainer.py"):
        text = (app / page).read_text()
        assert "alt.Chart(" not in text and "go.Sankey" not in text, page
