"""The explorer's 'Your own data' tab, driven headless with AppTest: uploads, verdicts, a bad file, a fit applied to the page."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from apptest_helpers import assert_clean, press_stop_after
from streamlit.testing.v1 import AppTest

import cxsim

APP = str(Path(__file__).resolve().parent.parent / "app" / "explorer.py")
FUNNEL = b"milestone,customers\naware,280\noffered,270\naccepted,20\n"
SCORES = b"respondent,score\n1,10\n2,9\n3,8\n4,10\n5,3\n6,7\n"
REASONS = b"reason,count\ncost,40\nfear,6\n"


def own_data_app(tmp_path, monkeypatch, customers: int = 300, method: str = "point") -> AppTest:
    """The tab at a tiny size (300 customers, 10 steps, 3 replicates: fewer give no interval), its fit cache in tmp_path."""
    monkeypatch.setenv("CXSIM_OWNDATA_CACHE", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["owndata_method"] = method
    at.session_state["aravind:population.customers"] = customers
    at.session_state["aravind:steps"] = 10
    at.session_state["replicates"] = 3
    at.session_state["uncertainty"] = "seeds"  # the page's cards are compared with runs over seeds
    at.session_state["view"] = "Your own data"
    return at.run()


def upload(at: AppTest, kind: str, data: bytes, name: str | None = None) -> AppTest:
    return at.file_uploader(key=f"owndata_upload_{kind}").set_value((name or f"{kind}.csv", data, "text/csv")).run()


def verdicts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "Observed against the simulated 95% interval" in m.value]


def test_the_tab_offers_an_example_of_each_kind_before_any_upload(tmp_path, monkeypatch):
    at = own_data_app(tmp_path, monkeypatch)
    assert_clean(at)
    labels = [b.label for b in at.get("download_button")]
    assert {"Example (funnel.csv)", "Example (scores.csv)", "Example (reasons.csv)", "Example, one row per respondent"} <= set(labels)
    assert any("Upload at least one CSV" in i.value for i in at.info)


def test_good_uploads_of_each_kind_are_charted_with_a_verdict_line(tmp_path, monkeypatch):
    at = own_data_app(tmp_path, monkeypatch)
    upload(at, "funnel", FUNNEL)
    upload(at, "scores", SCORES)
    upload(at, "reasons", REASONS)
    assert_clean(at)
    lines = verdicts(at)
    assert [line.split(" · ")[0] for line in lines] == ["**Funnel**", "**Survey scores 0–10**", "**Reasons non-users gave**"]
    assert re.search(r"baseline: \d of 2 stage rates inside", lines[0]) and "intervention:" in lines[0]
    assert re.search(r"baseline: \d of 2 figures \(NPS, mean score\) inside", lines[1])
    assert re.search(r"baseline: \d of 2 reason shares inside", lines[2])
    assert len(at.get("vega_lite_chart")) == 3
    assert any(c.value.startswith("Observed NPS 33.3, mean score 7.83 (6 answers)") for c in at.caption)
    assert at.button(key="owndata_fit")


@pytest.mark.parametrize("kind, data, words", [
    ("funnel", b"milestone,customers\noffered,100\naccepted,lots\n", "customers = 'lots' in row 3"),
    ("scores", b"score,count\n12,4\n9,3\n", "score = 12: must be a whole number 0 to 10"),
    ("reasons", b"why,count\ncost,3\n", "needs columns reason, count"),
])
def test_a_malformed_csv_is_one_line_and_the_page_keeps_working(tmp_path, monkeypatch, kind, data, words):
    at = own_data_app(tmp_path, monkeypatch)
    upload(at, "funnel", FUNNEL) if kind != "funnel" else None
    upload(at, kind, data, "mine.csv")
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and words in errors[0] and "\n" not in errors[0] and "mine.csv" in errors[0], errors
    if kind != "funnel":
        assert len(verdicts(at)) == 1  # the good upload still shows


def _acceptance_card(at: AppTest) -> float:
    at.session_state["view"] = "Dashboard"
    at.run()
    card = next(m for m in at.metric if m.label == "Acceptance")
    return float(card.value.split()[0])


def test_a_fit_with_few_trials_is_shown_and_its_parameters_are_applied_to_the_page(tmp_path, monkeypatch):
    at = own_data_app(tmp_path, monkeypatch)
    upload(at, "funnel", FUNNEL)
    assert at.multiselect(key="owndata_free").value == ["decision.intercept", "decision.w_cost"]
    assert at.number_input(key="owndata_low:decision.w_cost").value == 0.0  # the prior defaults to the declared range
    assert at.number_input(key="owndata_high:decision.w_cost").value == 20.0
    at.number_input(key="owndata_trials").set_value(4).run()
    at.button(key="owndata_fit").click().run()
    assert_clean(at)
    params = at.dataframe[0].value
    assert list(params["parameter"]) == ["decision.intercept", "decision.w_cost"]
    assert params["unit"].iloc[0] == "utility"
    targets = at.dataframe[1].value
    assert list(targets["target"]) == ["offered / aware", "accepted / offered"]
    assert any(b.label == "calibrated.toml" for b in at.get("download_button"))
    assert len(at.get("vega_lite_chart")) == 2  # the observed funnel and the fit's residuals
    best = {p: float(v) for p, v in zip(params["parameter"], params["best"])}
    at.button(key="owndata_apply").click().run()
    assert_clean(at)
    text = at.session_state["aravind:overrides"]
    applied = {line.split("=")[0].strip(): float(line.split("=")[1]) for line in text.splitlines()}
    assert applied == pytest.approx(best, rel=1e-3)
    assert any("The page uses the fitted parameters" in s.value for s in at.success)
    assert any("the latest fit" in i.value for i in at.info) and at.dataframe  # the fit stays shown beside the fitted world
    shown = _acceptance_card(at)  # the world being edited now runs with the fitted numbers
    world = cxsim.load_scenario("aravind").variant("aravind_1980s").with_overrides(
        {"population.customers": 300, "steps": 10, **applied})
    want = 100 * sum(cxsim.run(world, s).summary["acceptance_rate"] for s in (1, 2, 3)) / 3  # the page's 3 replicates
    assert shown == pytest.approx(want, abs=0.051)


def test_a_stopped_fit_keeps_its_trials_and_fit_continues_them(tmp_path, monkeypatch):
    at = own_data_app(tmp_path, monkeypatch)
    page = sys.modules["owndata"]
    real = press_stop_after(monkeypatch, "owndata", "calibrate", 2)
    upload(at, "funnel", FUNNEL)
    at.number_input(key="owndata_trials").set_value(5).run()
    at.button(key="owndata_fit").click().run()
    assert_clean(at)
    assert any("Stopped after 2 trials" in w.value for w in at.warning)
    assert any("after 2 trials" in m.value for m in at.markdown if m.value.startswith("**Best fit**"))
    monkeypatch.setattr(page, "calibrate", real)
    at.button(key="owndata_fit").click().run()  # continues the same study to 5
    assert_clean(at)
    assert any("after 5 trials" in m.value for m in at.markdown if m.value.startswith("**Best fit**"))
    assert len(list(tmp_path.iterdir())) == 1


def test_a_stopped_fit_with_no_usable_trial_offers_nothing_to_use(tmp_path, monkeypatch):
    """Before: 'objective 1e+09', 'Largest residual inf se', empty tables, and still 'Use the fitted parameters' and calibrated.toml."""
    import math

    from cxsim.calibration import fit

    real_fit = fit.fit_target
    monkeypatch.setattr(fit, "fit_target", lambda t, values: fit.TargetFit(t, list(values), *[math.nan] * 4, math.inf))  # no value for any target
    at = own_data_app(tmp_path, monkeypatch)
    press_stop_after(monkeypatch, "owndata", "calibrate", 2)
    upload(at, "funnel", FUNNEL)
    at.number_input(key="owndata_trials").set_value(5).run()
    at.button(key="owndata_fit").click().run()
    assert_clean(at)
    said = " ".join(w.value for w in at.warning)
    assert "Stopped after 2 trials" in said and "No fit to use yet" in said, said
    assert not any(b.key == "owndata_apply" for b in at.button)
    assert not any(b.label == "calibrated.toml" for b in at.get("download_button"))
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "1e+09" not in text and "inf se" not in text
    monkeypatch.setattr(fit, "fit_target", real_fit)


def test_an_inverted_prior_or_a_parameter_that_breaks_the_scenario_is_one_line_before_any_fit(tmp_path, monkeypatch):
    at = own_data_app(tmp_path, monkeypatch)
    upload(at, "funnel", FUNNEL)
    at.number_input(key="owndata_low:decision.w_cost").set_value(5.0).run()
    at.number_input(key="owndata_high:decision.w_cost").set_value(1.0).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "decision.w_cost" in errors[0] and "inverted range" in errors[0] and "\n" not in errors[0], errors
    assert not [b for b in at.get("button") if getattr(b, "label", "") == "Fit"]
    at.number_input(key="owndata_high:decision.w_cost").set_value(9.0).run()
    at.multiselect(key="owndata_free").set_value(["population.segments.farmers.share"]).run()
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "population.segments.farmers.share" in errors[0], errors  # shares must add up to 1


@pytest.mark.parametrize("name", sorted(cxsim.list_scenarios()))
def test_the_tab_renders_and_reads_its_own_example_funnel_for_every_builtin_scenario(tmp_path, monkeypatch, name):
    from cxsim import views
    from cxsim.calibration import compare

    monkeypatch.setenv("CXSIM_OWNDATA_CACHE", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["scenario"] = name
    at.session_state[f"{name}:population.customers"] = 400
    at.session_state[f"{name}:steps"] = 20
    at.session_state["replicates"] = 3
    at.session_state["uncertainty"] = "seeds"  # the page's cards are compared with runs over seeds
    at.session_state["view"] = "Your own data"
    at.run()
    assert_clean(at)
    sc = cxsim.load_scenario(name).with_overrides({"population.customers": 400, "steps": 20}).with_interventions([], only=True)
    example = compare.template("funnel", views.run_tables(cxsim.run(sc, 1)), "test")
    upload(at, "funnel", example.encode())
    assert_clean(at)
    assert len(verdicts(at)) == 1


def test_a_posterior_from_the_uploaded_funnel_says_what_the_data_pin(tmp_path, monkeypatch):
    """The default fit is a posterior: intervals and contraction, a warning for a ridge, no 'fitted value' offered for it."""
    from cxsim.calibration import evidence

    monkeypatch.setitem(evidence.OWN_DESIGN, "design_points", 40)
    monkeypatch.setitem(evidence.OWN_DESIGN, "mcmc_steps", 300)
    at = own_data_app(tmp_path, monkeypatch, method="posterior")
    upload(at, "funnel", b"milestone,customers\noffered,150\naccepted,9\n")
    upload(at, "reasons", REASONS)
    assert any("Only the funnel enters the posterior" in c.value for c in at.caption)
    at.button(key="owndata_fit_posterior").click().run()
    assert_clean(at)
    table, figures = (d.value for d in at.dataframe)  # the parameters, then the funnel's steps
    assert list(table["parameter"]) == ["decision.intercept", "decision.w_cost"]
    assert table["narrowed (contraction)"].between(-1, 1).all()
    warnings = " ".join(w.value for w in at.warning)
    assert "trade off" in warnings or "Not pinned" in warnings  # one acceptance rate cannot pin two weights
    assert not [b for b in at.button if b.key == "owndata_apply_posterior"]  # a ridge is never offered as fitted values
    assert list(figures["funnel step"]) == ["accepted / offered"] and figures["observed"][0] == "9 of 150 = 6.0%"
