"""Your own data: observed counts read from uploads and from memory, compared with simulated worlds, and fitted."""

from __future__ import annotations

import math
import tomllib

import pandas as pd
import pytest

import cxsim
from cxsim import plot, scenario_file, views
from cxsim.calibration import calibrate, compare, observed, targets as tg
from cxsim.calibration.report import written_values
from cxsim.state.params import CxError


@pytest.fixture(scope="module")
def worlds():
    """Aravind at 1,500 customers: the baseline and the 1980s package, three replicates each on the same seeds."""
    sc = cxsim.load_scenario("aravind").with_overrides({"population.customers": 1500})
    return {w: [views.run_tables(cxsim.run(sc.variant(w), s)) for s in (1, 2, 3)] for w in ("baseline", "aravind_1980s")}


def up(text: str, kind: str, name: str = "data.csv") -> pd.DataFrame:
    return observed.read_upload(text.encode(), kind, name)


# -- reading ---------------------------------------------------------------------------------------
def test_uploads_read_the_formats_of_observed_and_respondents_are_counted():
    f = up("# my clinic\nmilestone, customers\noffered, 1000\naccepted, 60\n", "funnel")
    assert list(f["milestone"]) == ["offered", "accepted"] and list(f["customers"]) == [1000, 60]
    s = up("respondent,score\n1,10\n2,9\n3,10\n4,3\n", "scores")  # one row per respondent
    assert dict(zip(s["score"], s["count"])) == {3: 1, 9: 1, 10: 2}
    assert observed.as_counts(s, "scores") == {"3": 1.0, "9": 1.0, "10": 2.0}
    r = up("reason,count\ncost,80\nfear,20\n", "reasons")
    assert observed.as_counts(r, "reasons") == {"cost": 80.0, "fear": 20.0}


@pytest.mark.parametrize("kind, text, words", [
    ("funnel", "milestone,customers\noffered,1000\naccepted,abc\n", "customers = 'abc' in row 3: must be a whole number of people"),
    ("funnel", "milestone,customers\noffered,100.5\naccepted,5\n", "customers = 100.5 in row 2: must be a whole number"),
    ("funnel", "milestone,customers\noffered,99999999999999999999999\naccepted,5\n", "in row 2: must be a whole number of people, 0 to"),
    ("funnel", "milestone,customers\naccepted,60\noffered,1000\n", "journey order"),
    ("funnel", "milestone,customers\noffered,10\naccepted,60\n", "accepted = 60 customers must be ≤ offered = 10"),
    ("funnel", "stage,n\noffered,10\n", "needs columns milestone, customers"),
    ("funnel", "milestone,customers\nsigned,10\naccepted,5\n", "unknown milestone 'signed'"),
    ("scores", "score,count\n11,3\n9,2\n", "score = 11: must be a whole number 0 to 10"),
    ("scores", "score,count\n9,1\n", "needs at least 2 answers"),
    ("scores", "score,count\n9.5,1\n8,3\n", "score = 9.5: must be a whole number"),
    ("scores", "respondent,score\n1,great\n", "score = 'great': must be a whole number"),
    ("reasons", "reason,count\nprice,3\n", "unknown reason 'price'"),
    ("reasons", "reason,count\ncost,-1\n", "count = -1"),
    ("reasons", "", "not a readable CSV"),
])
def test_a_bad_upload_is_one_line_naming_the_field(kind, text, words):
    with pytest.raises(CxError) as err:
        up(text, kind, "mine.csv")
    message = str(err.value)
    assert words in message and "\n" not in message and message.startswith(f"{kind} CSV: mine.csv"), message


def test_an_upload_is_bounded_and_must_be_utf8():
    with pytest.raises(CxError, match="at most 2,000,000 bytes"):
        observed.read_upload(b"a" * (observed.MAX_UPLOAD_BYTES + 1), "funnel", "big.csv")
    with pytest.raises(CxError, match="not UTF-8"):
        observed.read_upload(b"milestone,customers\n\xff\xfe,1\n", "funnel", "bin.csv")


def test_counts_in_memory_give_the_targets_a_csv_gives(tmp_path):
    (tmp_path / "f.csv").write_text("milestone,customers\noffered,1000\naccepted,60\n")
    sc = cxsim.load_scenario("aravind")
    base = {"customers": 300, "seeds": 1, "parameters": {"decision.w_cost": {"low": 1.0, "high": 3.0}}}
    from_file = tg.load({**base, "observed": [{"file": str(tmp_path / "f.csv"), "kind": "funnel"}]}, sc).targets
    in_memory = tg.load({**base, "observed": [{"counts": {"offered": 1000, "accepted": 60}, "kind": "funnel"}]}, sc).targets
    assert [(t.measure, t.value, t.se) for t in from_file] == [(t.measure, t.value, t.se) for t in in_memory]
    with pytest.raises(CxError, match="exactly one of file"):
        tg.load({**base, "observed": [{"kind": "funnel"}]}, sc)
    with pytest.raises(CxError, match="observed\\[0\\]: counts: accepted = 2000 customers must be ≤ offered"):
        tg.load({**base, "observed": [{"counts": {"offered": 1000, "accepted": 2000}, "kind": "funnel"}]}, sc)
    as_written = tg.load({**base, "observed": [{"counts": {"offered": 10, "accepted": 6}, "kind": "funnel", "variant": "as written"}]}, sc)
    assert as_written.targets[0].variant == "as written"


def test_as_written_measures_the_scenario_as_given_and_baseline_switches_everything_off():
    from cxsim.calibration.fit import variant_overrides

    sc = cxsim.load_scenario("aravind").variant("aravind_1980s")
    assert variant_overrides(sc, tg.AS_WRITTEN) == {}
    assert not any(variant_overrides(sc, "baseline").values())


# -- comparing -------------------------------------------------------------------------------------
def test_wilson_interval_holds_the_share_and_stays_in_0_1():
    lo, hi = compare.wilson(5, 100)
    assert lo < 0.05 < hi and lo == pytest.approx(0.0215, abs=5e-4) and hi == pytest.approx(0.1118, abs=5e-4)
    assert compare.wilson(0, 20)[0] == 0.0 and compare.wilson(20, 20)[1] == pytest.approx(1.0)


def test_funnel_table_compares_each_stage_rate_with_the_worlds(worlds):
    base = worlds["baseline"]
    offered = [float(r["funnel"].set_index("milestone").loc["offered", "customers"]) for r in base]
    accepted = [float(r["funnel"].set_index("milestone").loc["accepted", "customers"]) for r in base]
    counts = up(f"milestone,customers\noffered,{int(sum(offered))}\naccepted,{int(sum(accepted))}\n", "funnel")
    table = compare.funnel_table(counts, worlds)
    assert set(table["source"]) == {"observed", "baseline", "aravind_1980s"} and set(table["item"]) == {"accepted / offered"}
    sim = table[table["source"] == "baseline"].iloc[0]
    assert sim["value"] == pytest.approx(sum(a / o for a, o in zip(accepted, offered)) / 3)
    obs = table[table["source"] == "observed"].iloc[0]
    assert obs["low"] < obs["value"] < obs["high"] and obs["observed_n"] == int(sum(offered))
    line = compare.verdict(table, "stage rates")
    assert "baseline: 1 of 1 stage rates inside" in line  # the data are the baseline's own runs
    assert "aravind_1980s: 0 of 1 stage rates inside — outside: accepted / offered" in line


def test_scores_and_reasons_tables_and_their_verdicts(worlds):
    pkg = worlds["aravind_1980s"]
    scores = up(compare.template("scores", pkg[0], "w"), "scores")
    table = compare.scores_table(scores, worlds)
    assert sorted(set(table["item"]), key=int) == [str(s) for s in range(11)]
    shares = table[table["source"] == "observed"]["value"]
    assert shares.sum() == pytest.approx(1.0)
    summary = compare.score_summary_table(scores, worlds)
    nps = summary[(summary["source"] == "aravind_1980s") & (summary["item"] == "NPS")].iloc[0]
    assert nps["value"] == pytest.approx(sum(r["outcomes"]["nps"] for r in pkg) / 3)
    assert "aravind_1980s: 2 of 2" in compare.verdict(summary, "figures", show=lambda x: f"{x:.1f}")
    reasons = up("reason,count\ncost,90\nfear,10\n", "reasons")
    rt = compare.reasons_table(reasons, worlds)
    assert {"cost", "fear"} <= set(rt.loc[rt["source"] == "observed", "item"])
    cost = rt[(rt["source"] == "baseline") & (rt["item"] == "cost")].iloc[0]
    need = rt[(rt["source"] == "baseline") & (rt["item"] == "low need")].iloc[0]
    assert 0.2 < cost["value"] <= 1.0 and 0.0 <= cost["low"] <= cost["value"] <= cost["high"] <= 1.0  # cost and low need are the chief reasons
    assert cost["value"] + need["value"] > 0.8
    assert compare.agreement(rt)["item"].isin(["cost", "fear"]).all()  # reasons only the simulation gives are not judged


def test_one_replicate_has_no_simulated_interval(worlds):
    counts = up("milestone,customers\noffered,1000\naccepted,60\n", "funnel")
    one = {"baseline": worlds["baseline"][:1]}
    assert "no simulated interval with fewer than 3 replicates" in compare.verdict(compare.funnel_table(counts, one), "rates")


@pytest.mark.parametrize("name", ["aravind", "telco_churn", "retail_basket"])
def test_templates_of_a_simulated_world_read_back_as_valid_uploads(name):
    sc = cxsim.load_scenario(name).with_overrides({"population.customers": 800})
    run = views.run_tables(cxsim.run(sc, 1))
    for kind, respondents in (("funnel", False), ("scores", False), ("scores", True), ("reasons", False)):
        text = compare.template(kind, run, f"world 'baseline' of {name}, seed 1", per_respondent=respondents)
        if kind == "reasons" and text.count("\n") == 2:
            continue  # nobody stayed away in this world: nothing to count
        counts = up(text, kind)
        assert len(counts) >= 2 if kind != "reasons" else len(counts) >= 1


def test_plot_observed_draws_observed_and_worlds_with_intervals(worlds):
    counts = up("milestone,customers\naware,1400\noffered,1300\naccepted,60\n", "funnel")
    chart = plot.observed(compare.funnel_table(counts, worlds))
    spec = chart.to_dict()
    colour = spec["layer"][0]["encoding"]["color"]
    assert colour["scale"]["domain"] == ["observed", "baseline", "aravind_1980s"] and colour["scale"]["range"][0] == plot.OBSERVED_COLOUR
    assert spec["layer"][0]["mark"]["type"] == "rule" and spec["layer"][0]["encoding"]["x2"]["field"] == "high"
    assert "Observed funnel" in spec["title"]
    same = plot.observed(counts, kind="funnel", **worlds).to_dict()  # from counts and worlds directly
    assert same["layer"][0]["encoding"] == spec["layer"][0]["encoding"]
    with pytest.raises(CxError, match="kind"):
        plot.observed(counts, kind="nps", **worlds)


def test_score_counts_are_the_scores_of_customers_past_the_outcome():
    res = cxsim.run(cxsim.load_scenario("aravind").variant("aravind_1980s").with_overrides({"population.customers": 1000}), 2)
    counts = views.score_counts(res.model)
    assert list(counts["score"]) == list(range(11))
    assert counts["customers"].sum() == res.model.tally["scored"]
    from cxsim.calibration.quantities import mean_score

    assert (counts["score"] * counts["customers"]).sum() / counts["customers"].sum() == pytest.approx(mean_score(res))


# -- fitting a world in memory ---------------------------------------------------------------------
def _mapping(seeds=(1, 2)) -> dict:
    return {"seeds": list(seeds), "startup_trials": 3, "sampler_seed": 3,
            "parameters": {"decision.w_cost": {"low": 0.5, "high": 4.0}},
            "observed": [{"kind": "funnel", "counts": {"offered": 1000, "accepted": 300}, "variant": tg.AS_WRITTEN}]}


def test_a_world_in_memory_is_calibrated_and_its_calibrated_toml_reproduces_it(tmp_path):
    world = cxsim.load_scenario("aravind").with_overrides({"population.customers": 400, "steps": 20, "costs.medicine": 0.0,
                                                            "interventions.free_transport.enabled": True})
    done = []
    cal = calibrate(world, _mapping(), tmp_path / "fit", trials=4, progress=False, validate=False, command="test",
                    on_trial=lambda d, n: done.append((d, n)))
    assert done == [(1, 4), (2, 4), (3, 4), (4, 4)]
    text = (tmp_path / "fit" / "calibrated.toml").read_text()
    assert 'extends = "aravind"' in text and "# calibrated: test" in text
    assert tomllib.loads(text)["decision"]["w_cost"] == written_values(cal.best)["decision.w_cost"]
    read = scenario_file.from_text(text, "aravind")
    fitted = world.with_overrides(written_values(cal.best))
    assert read.model_dump() == fitted.model_dump()  # the page's world (its interventions too) and the fitted number
    assert math.isfinite(cal.objective) and cal.fits[0].target.variant == "as written"
    fits = compare.fit_table(cal)
    row = fits.iloc[0]
    assert row["target"] == "accepted / offered" and row["observed"] == pytest.approx(0.3)
    assert row["observed_low"] == pytest.approx(0.3 - 1.959964 * math.sqrt(0.3 * 0.7 / 1000), rel=1e-5)
    assert row["residual"] == pytest.approx(cal.fits[0].residual) and row["within_noise"] == (abs(row["residual"]) <= 2)
    spec = plot.fit_residuals(fits).to_dict()
    assert spec["layer"][2]["encoding"]["x"]["field"] == "residual" and spec["layer"][0]["mark"]["type"] == "rect"


def test_a_stopped_calibration_keeps_its_trials_and_resumes_to_the_uninterrupted_result(tmp_path):
    world = cxsim.load_scenario("aravind").with_overrides({"population.customers": 300, "steps": 15})
    whole = calibrate(world, _mapping(), tmp_path / "whole", trials=5, progress=False, validate=False)

    def stop_after_two(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        calibrate(world, _mapping(), tmp_path / "parts", trials=5, progress=False, validate=False, on_trial=stop_after_two)
    resumed = calibrate(world, _mapping(), tmp_path / "parts", trials=5, resume=True, progress=False, validate=False)
    pd.testing.assert_frame_equal(whole.trials, resumed.trials)
    assert whole.best == resumed.best


def test_declared_parameters_carry_their_ranges_and_units():
    declared = {d.path: d for d in tg.declared_parameters(cxsim.load_scenario("aravind"))}
    d = declared["decision.w_cost"]
    assert (d.low, d.high, d.whole) == (0.0, 20.0, False) and d.unit
    assert "population.customers" not in declared and not any(p.startswith("interventions.") for p in declared)  # none is on
    on = {d.path: d for d in tg.declared_parameters(cxsim.load_scenario("aravind").variant("aravind_1980s"))}
    assert on["interventions.free_transport.coverage"].high == 1.0 and "interventions.door_to_door.coverage" not in on
    assert declared["population.segments.labourers.daily_wage"].unit == "rupees/day"


def test_an_example_per_respondent_is_bounded_and_keeps_the_distribution():
    run = {"scores": pd.DataFrame({"score": range(11), "customers": [0] * 9 + [30_000, 70_000]})}
    text = compare.template("scores", run, "big world", per_respondent=True)
    counts = up(text, "scores")
    assert counts["count"].sum() <= compare.MAX_RESPONDENTS
    assert dict(zip(counts["score"], counts["count"] / counts["count"].sum())) == pytest.approx({9: 0.3, 10: 0.7}, abs=0.01)
