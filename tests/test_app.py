"""The Streamlit explorer, driven headless with streamlit.testing.v1.AppTest (widgets found by key)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from apptest_helpers import assert_clean, assert_plain_words, press_stop_after
from streamlit.testing.v1 import AppTest

import cxsim
from cxsim import views
from cxsim.readouts.measures import definition

APP = str(Path(__file__).resolve().parent.parent / "app" / "explorer.py")
SMALL = 2000  # customers: fast, still far from noise for the effects tested here


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def small_app(scenario: str = "aravind") -> AppTest:
    """The page at SMALL customers (set before the first run, so only small runs happen), over seeds only.

    These tests compare the page with single runs of the scenario as written (its posterior medians); the page
    over the posterior's draws has its own tests (tests/test_app_uncertainty.py, the browser test).
    """
    at = new_app()
    at.session_state[f"{scenario}:population.customers"] = SMALL
    at.session_state["uncertainty"] = "seeds"
    return at.run()


def metric_value(at: AppTest, label: str) -> float:
    """The number shown on the metric card labelled ``label``."""
    card = next(m for m in at.metric if m.label == label)
    return float(re.sub(r"[^0-9.\-]", "", card.value.split()[0]))


def test_default_page_renders_fast():
    at = new_app().run()
    assert_clean(at)
    assert at.markdown[0].value == "### " + cxsim.load_scenario("aravind").title
    assert len(at.metric) == 8
    assert metric_value(at, "Acceptance") > 15  # default view: Aravind's 1980s interventions (≈ 25% at the posterior medians, baseline ≈ 5%)
    assert at.get("vega_lite_chart")
    start = time.perf_counter()
    at.run()  # a cached rerun is what users see when they move back to a setting
    assert time.perf_counter() - start < 2.0
    assert_clean(at)


def test_toggling_an_intervention_moves_acceptance_the_expected_way():
    at = small_app()
    before = metric_value(at, "Acceptance")
    at.toggle(key="aravind:interventions.free_transport.enabled").set_value(False).run()
    assert_clean(at)
    assert metric_value(at, "Acceptance") < before - 6  # without the free bus about half as many accept (≈ 25% → 13% at 2,000)

    at.selectbox(key="aravind:start").set_value("as written").run()  # every intervention off
    off = metric_value(at, "Acceptance")
    assert not at.toggle(key="aravind:interventions.free_transport.enabled").value
    at.toggle(key="aravind:interventions.free_transport.enabled").set_value(True).run()
    assert_clean(at)
    assert metric_value(at, "Acceptance") > off


def acceptance_alone(names: list[str], customers: int, seeds=(1, 2, 3)) -> float:
    """Acceptance (%) computed by the API for these interventions only, on the page's seeds."""
    sc = cxsim.load_scenario("aravind").with_interventions(names, only=True).with_overrides({"population.customers": customers})
    return 100 * sum(cxsim.run(sc, s).summary["acceptance_rate"] for s in seeds) / len(seeds)


def switch(at: AppTest, name: str):
    return at.toggle(key=f"aravind:interventions.{name}.enabled")


def test_variant_then_switch_computes_what_the_switches_show():
    at = small_app()
    ivs = list(cxsim.load_scenario("aravind").interventions)
    at.selectbox(key="aravind:start").set_value("as written").run()
    assert not any(switch(at, n).value for n in ivs)
    assert "No intervention is switched on" in at.info[0].value
    at.selectbox(key="aravind:start").set_value("aravind_1980s").run()
    on = cxsim.load_scenario("aravind").variants["aravind_1980s"].interventions
    assert [n for n in ivs if switch(at, n).value] == on
    assert not at.info  # the page does not claim that nothing is on
    for name in ("free_food_lodging", "free_medicine", "free_follow_up"):
        switch(at, name).set_value(False).run()
    assert_clean(at)
    assert [n for n in ivs if switch(at, n).value] == ["free_transport"]
    assert metric_value(at, "Acceptance") == pytest.approx(acceptance_alone(["free_transport"], SMALL), abs=0.051)
    assert "Free transport to hospital and back" in at.caption[0].value and "Free medicine" not in at.caption[0].value


def card(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


GREEN, RED, GRAY = 1, 0, 2  # streamlit's MetricColor
UP, DOWN, NO_ARROW = 1, 0, 2  # … and MetricDirection


def test_card_colours_follow_which_direction_is_good():
    at = new_app()
    at.session_state["telco_churn:population.customers"] = SMALL
    at.run()
    at.selectbox(key="scenario").set_value("telco_churn").run()
    assert_clean(at)
    churn = card(at, "Churn")  # falls with the save desk: good
    assert churn.delta.startswith("-") and (churn.proto.color, churn.proto.direction) == (GREEN, DOWN)
    cost = card(at, "Intervention cost (pounds)")  # rises: bad
    assert (cost.proto.color, cost.proto.direction) == (RED, UP)
    for m in at.metric:  # no arrow for zero or unclear changes, and nothing but grey for them
        if m.delta in ("no change", "no clear change", ""):
            assert (m.proto.color, m.proto.direction) == (GRAY, NO_ARROW), (m.label, m.delta)


def test_journey_reliability_switches_have_their_own_labels():
    at = new_app()
    at.session_state["journey_reliability:population.customers"] = 500
    at.run()
    at.selectbox(key="scenario").set_value("journey_reliability").run()
    assert_clean(at)
    labels = [t.label for t in at.toggle if t.key.startswith("journey_reliability:interventions.") and t.key.endswith(".enabled")]
    assert len(labels) == 3 and len(set(labels)) == 3, labels
    assert all("Listen, assign actions" in t.help for t in at.toggle if t.key.endswith(".enabled") and "interventions" in t.key)


def test_intervention_parameters_are_widgets_from_the_schema():
    at = small_app()
    coverage = at.slider(key="aravind:interventions.free_transport.coverage")
    assert (coverage.min, coverage.max, coverage.value) == (0.0, 1.0, 1.0)
    assert "fraction" in coverage.label
    before = metric_value(at, "Acceptance")
    coverage.set_value(0.2).run()
    assert_clean(at)
    reduced = metric_value(at, "Acceptance")
    assert reduced < before
    # the settings of one intervention show at a time; a changed value is kept meanwhile
    at.selectbox(key="aravind:settings_of").set_value("free_medicine").run()
    assert metric_value(at, "Acceptance") == reduced
    at.selectbox(key="aravind:settings_of").set_value("free_transport").run()
    assert at.slider(key="aravind:interventions.free_transport.coverage").value == 0.2


def test_non_user_story_renders():
    at = small_app()
    at.session_state["view"] = "Ask the non-user"
    at.run()
    at.button(key="nonuser_ask").click().run()
    assert_clean(at)
    text = "\n".join(m.value for m in at.markdown)
    assert "said no when offered" in text
    assert "would cost me" in text and "rupees" in text
    assert at.get("vega_lite_chart")  # dropout reasons by stage


@pytest.mark.parametrize("view", ["Journey funnel", "One customer's journey", "Loyalty and referrals over time"])
def test_every_view_renders_a_chart(view):
    at = small_app()
    at.session_state["view"] = view
    at.run()
    assert_clean(at)
    assert at.get("vega_lite_chart")


def test_random_customer_journey_in_both_worlds():
    at = small_app()
    at.session_state["view"] = "One customer's journey"
    at.run()
    first = at.number_input(key="journey_customer").value
    at.button(key="journey_pick").click().run()
    assert_clean(at)
    assert at.number_input(key="journey_customer").value != first
    ends = [m.value for m in at.markdown if " ends " in m.value]
    assert len(ends) == 2 and "baseline" in ends[0] and "intervention" in ends[1]


def test_bad_setting_shows_a_message_not_a_traceback():
    at = small_app()
    at.text_area(key="aravind:overrides").set_value("population.customers = 5").run()
    assert not at.exception
    assert "population.customers" in at.error[0].value and "10" in at.error[0].value
    at.text_area(key="aravind:overrides").set_value("no equals sign").run()
    assert not at.exception and "expected path = value" in at.error[0].value


def page_text(at: AppTest) -> str:
    return "\n".join(e.value for kind in ("markdown", "success", "info", "caption") for e in getattr(at, kind))


def test_trainer_mode_predicts_then_reveals():
    at = small_app()
    at.toggle(key="trainer").set_value(True).run()
    assert_clean(at)
    assert not at.metric  # results stay hidden until revealed
    assert not at.success
    assert "one in twenty" not in page_text(at)  # the story's outcome waits for the reveal too
    at.slider(key="trainer_predict_0").set_value(60).run()
    at.button(key="trainer_reveal_0").click().run()
    assert "You predicted 60 %" in at.success[0].value
    assert "one in twenty" in page_text(at)
    steps = 2 + len(cxsim.load_scenario("aravind").variants["aravind_1980s"].interventions) + 1
    for _ in range(steps - 1):  # inside-out, outside-in, each intervention, what changed
        at.button(key="trainer_next").click().run()
        assert_clean(at)
    assert at.button(key="trainer_next").proto.disabled
    assert at.subheader[0].value == "What changed"


def test_trainer_predictions_are_per_step_and_survive_back():
    at = small_app()
    at.toggle(key="trainer").set_value(True).run()
    at.slider(key="trainer_predict_0").set_value(20).run()
    at.button(key="trainer_reveal_0").click().run()
    at.button(key="trainer_next").click().run()
    at.button(key="trainer_next").click().run()  # the first intervention: a fresh prediction
    assert at.slider(key="trainer_predict_2").value == 50 and not at.success
    at.slider(key="trainer_predict_2").set_value(35).run()
    at.button(key="trainer_back").click().run()
    at.button(key="trainer_back").click().run()  # back to the first step: its own revealed prediction
    assert at.slider(key="trainer_predict_0").value == 20 and at.slider(key="trainer_predict_0").proto.disabled
    assert "You predicted 20 %" in at.success[0].value
    at.button(key="trainer_next").click().run()
    at.button(key="trainer_next").click().run()
    assert not at.success  # step 3 was not revealed: nothing computed shows
    at.button(key="trainer_reveal_2").click().run()
    assert_clean(at)
    assert "You predicted" in at.success[0].value


def test_trainer_closing_text_quotes_the_simulated_number():
    at = small_app()
    at.toggle(key="trainer").set_value(True).run()
    on = cxsim.load_scenario("aravind").variants["aravind_1980s"].interventions
    for _ in range(2 + len(on)):
        at.button(key="trainer_next").click().run()
    assert at.subheader[0].value == "What changed"
    text = page_text(at)
    assert f"{acceptance_alone(on, SMALL):.1f} %" in text and f"{acceptance_alone([], SMALL):.1f} %" in text
    assert "Simulated here" in text and "Reported by the source" in text
    assert text.index("Simulated here") < text.index("about 80%")  # the computed number first, the source's labelled


@pytest.mark.parametrize("name", cxsim.list_scenarios())
def test_every_builtin_scenario_loads(name):
    at = new_app()
    at.session_state[f"{name}:population.customers"] = 500
    at.session_state[f"{name}:steps"] = 12
    at.run()
    at.selectbox(key="scenario").set_value(name).run()
    assert_clean(at)
    assert at.markdown[0].value == "### " + (cxsim.load_scenario(name).title or name)
    assert len(at.metric) == 8  # the scenario's story measures, then headline metrics, that have a value
    own = tuple(definition(m).label for m in views.scenario_measures(cxsim.load_scenario(name)))
    if own:  # its measures that are not metrics are among the cards
        assert any(m.label.startswith(own) for m in at.metric), (own, [m.label for m in at.metric])


def keep(at: AppTest, name: str) -> None:
    """Name the edited what-if ``name`` and keep it for comparison."""
    at.text_input(key="aravind:world_name").set_value(name).run()
    at.button(key="aravind:keep").click().run()


def only(at: AppTest, names: list[str]) -> None:
    for n in cxsim.load_scenario("aravind").interventions:
        if switch(at, n).value != (n in names):
            switch(at, n).set_value(n in names).run()


def test_four_what_ifs_side_by_side_on_the_same_seeds():
    at = small_app()
    keep(at, "1980s")  # the default: Aravind's four interventions
    only(at, ["free_transport"])
    keep(at, "bus only")
    only(at, ["counselling"])
    keep(at, "counselling")
    only(at, ["free_transport", "free_food_lodging", "free_medicine", "wage_compensation", "free_follow_up"])
    at.text_input(key="aravind:world_name").set_value("everything").run()
    assert_clean(at)
    assert at.button(key="aravind:keep").proto.disabled  # four what-ifs: full
    on = cxsim.load_scenario("aravind").variants["aravind_1980s"].interventions
    expected = {"1980s": on, "bus only": ["free_transport"], "counselling": ["counselling"],
                "everything": ["free_transport", "free_food_lodging", "free_medicine", "wage_compensation", "free_follow_up"]}
    headings = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert headings == [f"#### {w}" for w in expected]
    acceptance = [metric_value_of(m) for m in at.metric if m.label == "Acceptance"]
    assert acceptance == [pytest.approx(acceptance_alone(ivs, SMALL), abs=0.051) for ivs in expected.values()]
    for view in ("Journey funnel", "Ask the non-user", "One customer's journey", "Loyalty and referrals over time"):
        at.session_state["view"] = view
        at.run()
        assert_clean(at)
        assert at.get("vega_lite_chart")
    at.session_state["view"] = "Dashboard"
    at.button(key="aravind:drop_1").click().run()  # stop comparing 'bus only'
    assert_clean(at)
    assert [m.value for m in at.markdown if m.value.startswith("#### ")] == ["#### 1980s", "#### counselling", "#### everything"]
    assert not at.button(key="aravind:keep").proto.disabled


def metric_value_of(card) -> float:
    return float(re.sub(r"[^0-9.\-]", "", card.value.split()[0]))


def test_kept_what_if_names_are_unique():
    at = small_app()
    keep(at, "baseline")  # not the baseline's name
    keep(at, "baseline")
    names = [c.value.split("**")[1] for c in at.sidebar.caption if c.value.startswith("**")]
    assert names[:2] == ["baseline (2)", "baseline (3)"], names


def link_of(at: AppTest) -> dict[str, str]:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def test_a_link_reproduces_the_view():
    at = small_app()
    at.selectbox(key="aravind:start").set_value("as written").run()
    switch(at, "free_transport").set_value(True).run()
    keep(at, "bus")
    switch(at, "free_medicine").set_value(True).run()
    at.slider(key="aravind:interventions.free_transport.coverage").set_value(0.5).run()
    at.slider(key="replicates").set_value(2).run()
    at.session_state["view"] = "Journey funnel"
    at.run()
    assert_clean(at)
    link = link_of(at)
    assert link["scenario"] == "aravind" and link["start"] == "as written" and link["view"] == "Journey funnel"
    assert link["interventions.free_transport.coverage"] == "0.5" and "interventions.counselling.enabled" not in link
    at.session_state["view"] = "Dashboard"
    at.run()
    shown = [(m.label, m.value, m.delta) for m in at.metric]

    again = new_app()
    for k, v in link.items():
        again.query_params[k] = v
    again.run()
    assert_clean(again)
    assert not again.warning
    assert again.session_state["view"] == "Journey funnel"
    assert [n for n in cxsim.load_scenario("aravind").interventions if switch(again, n).value] == ["free_transport", "free_medicine"]
    assert again.slider(key="aravind:interventions.free_transport.coverage").value == 0.5
    again.session_state["view"] = "Dashboard"
    again.run()
    assert [(m.label, m.value, m.delta) for m in again.metric] == shown  # the same numbers, kept what-if included
    assert link_of(again) | {"view": "Dashboard"} == link | {"view": "Dashboard"}


def test_a_bad_link_is_named_not_a_traceback():
    at = new_app()
    at.query_params.update({"scenario": "aravind", "population.customers": "5", "interventions.nope.enabled": "true",
                            "replicates": "99", "start": "no_such_variant"})
    at.run()
    assert not at.exception and not at.error
    text = at.warning[0].value
    assert "population.customers" in text and "10" in text  # the field and its range
    assert "interventions.nope.enabled" in text and "replicates" in text and "no_such_variant" in text
    assert len(at.metric) == 8  # the page still works on its defaults
    wrong = new_app()
    wrong.query_params["scenario"] = "no_such_scenario"
    wrong.run()
    assert not wrong.exception and "no_such_scenario" in wrong.warning[0].value


BAD_LINKS = {  # each setting a link may get wrong → words its one line must hold (besides the setting's name)
    "view": ("Nonexistent", "choose from"),
    "overrides": ("hello world", "expected path = value"),
    "whatifs": ('["x"]', "what-if 1"),
    "replicates": ("abc", "1–30"),
    "interventions.free_transport.coverage": ("abc", "not a value"),
    "edits": ("{not json", "table of path"),
    "trainer": ("maybe", "true or false"),
    "start": ("nope", "as written"),
}


@pytest.mark.parametrize("query", list(BAD_LINKS))
def test_every_link_setting_not_applied_is_named_in_plain_words(query):
    """Before: ?view=Nonexistent was dropped silently, ?overrides=hello%20world was copied into the box (no numbers),
    whatifs=["x"] crashed the page and int()/json wording reached the warning."""
    value, words = BAD_LINKS[query]
    at = new_app()
    at.query_params.update({"scenario": "aravind", "population.customers": str(SMALL), query: value})
    at.run()
    assert_clean(at)
    assert len(at.warning) == 1, [w.value for w in at.warning]
    text = at.warning[0].value
    assert f"{query}=" in text and value[:10] in text and words in text, text
    assert "\n" not in text.strip()
    assert_plain_words(text)
    assert len(at.metric) == 8  # the page still computes, on its defaults
    assert at.session_state["aravind:overrides"] in ("", None) if "aravind:overrides" in at.session_state else True


def test_a_link_with_a_kept_what_if_that_is_not_a_table_is_named():
    at = new_app()
    at.query_params.update({"scenario": "aravind", "population.customers": str(SMALL), "whatifs": "[1]"})
    at.run()
    assert_clean(at)
    text = at.warning[0].value
    assert "whatifs=" in text and "what-if 1 is 1" in text, text
    assert_plain_words(text)
    assert not at.session_state["whatifs"]["aravind"]


def test_the_workload_guard_counts_every_world():
    """Four what-ifs make five worlds: 5 × 3 × 3M × 52 = 2.3e9 customer-steps, above the 1.5e9 gate that 2 worlds pass."""
    at = new_app()
    kept = [{"name": f"w{k}", "start": "as written", "values": {"interventions.free_transport.enabled": True}} for k in range(3)]
    at.query_params.update({"scenario": "aravind", "population.customers": "3000000", "whatifs": json.dumps(kept),
                            "uncertainty": "seeds"})  # with draws: tests/test_app_uncertainty.py
    at.run()
    assert_clean(at)
    assert not at.metric  # nothing computed before 'Compute it anyway'
    said = "\n".join(i.value for i in at.info)
    assert "Not computed" in said and "15 runs" in said, said


def test_the_caption_names_the_start_variant_only_while_the_switches_match_it():
    at = small_app()
    assert "variant aravind_1980s" in at.caption[0].value
    switch(at, "free_medicine").set_value(False).run()
    assert_clean(at)
    assert "variant aravind_1980s" not in at.caption[0].value and "Free medicine" not in at.caption[0].value


def test_journey_flow_is_a_sankey_per_world():
    at = small_app()
    at.session_state["view"] = "Journey flow"
    at.run()
    assert_clean(at)
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # baseline and the what-if
    import json

    spec = json.loads(charts[0].proto.spec)
    sankey = spec["data"][0]
    assert sankey["type"] == "sankey"
    labels = sankey["node"]["label"]
    assert any(label.startswith("declined") for label in labels) and labels[0].startswith("customers: 2,000")
    at.multiselect(key="flow_worlds").set_value(["intervention"]).run()
    assert len(at.get("plotly_chart")) == 1


def sidebar_text(at: AppTest) -> str:
    return "\n".join(e.value for kind in ("caption", "error", "success") for e in getattr(at.sidebar, kind))


def test_a_what_if_file_runs_as_shown_and_loads_back(tmp_path):
    from cxsim import scenario_file

    at = small_app()
    at.selectbox(key="aravind:start").set_value("as written").run()
    switch(at, "free_transport").set_value(True).run()
    at.slider(key="aravind:interventions.free_transport.coverage").set_value(0.5).run()
    assert_clean(at)
    shown = metric_value(at, "Acceptance")
    assert at.get("download_button") and any(b.label == "Download it as a scenario file" for b in at.get("download_button"))
    # the file the page writes for this what-if (the same function, the same world as the page builds it)
    world = cxsim.load_scenario("aravind").with_overrides(
        {"interventions.free_transport.enabled": True, "interventions.free_transport.coverage": 0.5, "population.customers": SMALL})
    path = tmp_path / "aravind_bus.toml"
    path.write_text(scenario_file.to_toml(world, "aravind"))
    ran = [cxsim.run(cxsim.load_scenario(path), s).summary["acceptance_rate"] for s in (1, 2, 3)]
    assert 100 * sum(ran) / 3 == pytest.approx(shown, abs=0.051)  # the file reproduces the page's number

    at.file_uploader(key="whatif_upload").set_value(("aravind bus.toml", path.read_bytes(), "application/toml")).run()
    assert_clean(at)
    assert "Loaded **aravind_bus**" in sidebar_text(at)
    assert [m.value for m in at.markdown if m.value.startswith("#### ")] == ["#### aravind_bus", "#### intervention"]
    loaded, edited = [metric_value_of(m) for m in at.metric if m.label == "Acceptance"]
    assert loaded == edited == shown  # the loaded what-if is the world it was saved from


@pytest.mark.parametrize("data, words", [
    (b'extends = "aravind"\n[costs]\nmedicine = "lots"\n', "costs.medicine"),
    (b'extends = "../../etc/aravind.toml"\n', "never a path"),
    (b"[[[", "not valid TOML"),
])
def test_a_bad_what_if_file_is_one_line_and_the_page_keeps_working(data, words):
    at = small_app()
    at.file_uploader(key="whatif_upload").set_value(("bad.toml", data, "application/toml")).run()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and words in errors[0] and "\n" not in errors[0], errors
    assert len(at.metric) == 8 and not at.main.error  # the page still computes its worlds


def own_scenario_app() -> AppTest:
    at = small_app()
    at.session_state["view"] = "Your own scenario"
    return at.run()


def test_your_own_scenario_is_edited_in_schema_forms_and_runs_in_every_world():
    at = own_scenario_app()
    assert_clean(at)
    medicine = at.number_input(key="edit:aravind:costs.medicine")
    assert "rupees" in medicine.label and "0–1e9" in medicine.label  # unit and range from the declaration
    assert at.slider(key="edit:aravind:journey.success").max == 1.0
    assert at.toggle(key="edit:aravind:interventions.free_transport.enabled")
    share = at.slider(key="edit:aravind:population.segments.labourers.share")
    share.set_value(share.value + 0.1).run()  # shares no longer add up to 1: one line, nothing run
    assert not at.exception
    assert len(at.error) == 1 and "shares add up" in at.error[0].value and "\n" not in at.error[0].value
    assert at.button(key="editor_run").proto.disabled and len(at.metric) == 0
    at.slider(key="edit:aravind:population.segments.labourers.share").set_value(share.value - 0.1).run()
    at.number_input(key="edit:aravind:costs.medicine").set_value(0.0).run()
    at.slider(key="edit:aravind:journey.success").set_value(0.5).run()
    assert_clean(at)
    assert "2 change(s)" in at.success[0].value and "not run yet" in at.success[0].value
    at.button(key="editor_run").click().run()
    assert_clean(at)
    assert "the page runs it" in at.success[0].value
    at.session_state["view"] = "Dashboard"
    at.run()
    assert_clean(at)
    own = cxsim.load_scenario("aravind").with_overrides({"costs.medicine": 0.0, "journey.success": 0.5, "population.customers": SMALL})
    on = own.variants["aravind_1980s"].interventions
    want = 100 * sum(cxsim.run(own.with_interventions(on, only=True), s).summary["acceptance_rate"] for s in (1, 2, 3)) / 3
    assert metric_value(at, "Acceptance") == pytest.approx(want, abs=0.051)  # every world starts from your scenario
    assert "your own" in sidebar_text(at)
    at.session_state["view"] = "Your own scenario"
    at.run()
    at.button(key="editor_discard").click().run()
    assert_clean(at)
    assert at.number_input(key="edit:aravind:costs.medicine").value == cxsim.load_scenario("aravind").costs.medicine
    assert "your own" not in sidebar_text(at)


def test_a_link_carries_your_own_scenario():
    at = own_scenario_app()
    at.number_input(key="edit:aravind:costs.medicine").set_value(0.0).run()
    at.button(key="editor_run").click().run()
    at.session_state["view"] = "Dashboard"
    at.run()
    shown = [(m.label, m.value, m.delta) for m in at.metric]
    link = link_of(at)
    assert link["edits"] == '{"costs.medicine":0.0}'
    again = new_app()
    for k, v in link.items():
        again.query_params[k] = v
    again.run()
    assert_clean(again)
    assert not again.warning and [(m.label, m.value, m.delta) for m in again.metric] == shown
    again.session_state["view"] = "Your own scenario"
    again.run()
    assert again.number_input(key="edit:aravind:costs.medicine").value == 0.0 and "the page runs it" in again.success[0].value


@pytest.mark.parametrize("name", cxsim.list_scenarios())
def test_your_own_scenario_renders_for_every_builtin_scenario(name):
    at = new_app()
    at.session_state[f"{name}:population.customers"] = 300
    at.session_state[f"{name}:steps"] = 8
    at.session_state["view"] = "Your own scenario"
    at.run()
    at.selectbox(key="scenario").set_value(name).run()
    assert_clean(at)
    assert "Valid: 0 change(s)" in at.success[0].value
    assert any(w.key.startswith(f"edit:{name}:costs.") for w in at.number_input if w.key)


def test_a_what_if_file_of_another_scenario_switches_the_page_to_it():
    at = small_app()
    data = b'extends = "telco_churn"\nsteps = 12\n[population]\ncustomers = 600\n'
    at.file_uploader(key="whatif_upload").set_value(("telco.toml", data, "application/toml")).run()
    assert_clean(at)
    assert at.selectbox(key="scenario").value == "telco_churn"
    assert at.number_input(key="telco_churn:population.customers").value == 600 and at.number_input(key="telco_churn:steps").value == 12
    assert [m.value for m in at.markdown if m.value.startswith("#### ")] == ["#### telco", "#### intervention"]
    assert "0 change(s) to telco_churn" in sidebar_text(at)


def budget_app(tmp_path, monkeypatch) -> AppTest:
    """The 'Best plan for a budget' tab at a tiny size (300 customers, 10 steps, 2 seeds), its cache in tmp_path."""
    monkeypatch.setenv("CXSIM_BUDGET_CACHE", str(tmp_path))
    at = new_app()
    at.session_state["aravind:population.customers"] = 300
    at.session_state["aravind:steps"] = 10
    at.session_state["replicates"] = 2
    at.session_state["uncertainty"] = "seeds"  # the search over the posterior: tests/test_app_uncertainty.py
    at.session_state["view"] = "Best plan for a budget"
    return at.run()


def test_budget_tab_renders_for_aravind(tmp_path, monkeypatch):
    at = budget_app(tmp_path, monkeypatch)
    assert_clean(at)
    assert at.button(key="budget_search")
    assert at.multiselect(key="budget_objectives").value == ["acceptance_rate"]


def test_budget_search_shows_a_frontier_and_loads_the_plan(tmp_path, monkeypatch):
    at = budget_app(tmp_path, monkeypatch)
    at.number_input(key="budget_trials").set_value(6).run()
    at.button(key="budget_search").click().run()
    assert_clean(at)
    assert at.get("vega_lite_chart")  # the frontier
    assert any("Recommended plan" in h.value for h in at.subheader)
    assert any(c.value.startswith("6 plans evaluated on the same 2 seeds") for c in at.caption)
    assert any(m.value.startswith("Removes") for m in at.markdown)  # the plan in the customers' terms
    top = at.slider(key="budget_amount").max
    assert top > 0
    at.slider(key="budget_amount").set_value(top).run()  # the budget re-reads the plans: no search
    assert_clean(at)
    plan = next(m.value for m in at.markdown if m.value.startswith("**") and " · cost " in m.value)
    searched = float(re.search(r"· Acceptance ([0-9.]+) % \[", plan).group(1))
    for name in cxsim.load_scenario("aravind").interventions:  # another intervention world first: nothing switched on
        at.session_state[f"aravind:interventions.{name}.enabled"] = False
    before = metric_value_after(at)
    at.button(key="budget_load").click().run()
    assert_clean(at)
    assert at.session_state["view"] == "Dashboard"
    loaded = metric_value(at, "Acceptance")
    assert loaded == pytest.approx(searched, abs=0.051)  # the comparison computes the plan, same seeds and world
    assert loaded > before + 10  # a plan within the largest budget beats doing nothing on Aravind
    panel = [m.value for m in at.markdown if m.value.startswith("**") and "Free" in m.value]  # the dashboard's best plan, in words
    assert panel and "_" not in panel[0], panel
    said = next(c.value for c in at.caption if c.value.startswith("Budget: "))
    assert re.fullmatch(r"Budget: \d{1,3}(,\d{3})* \w+", said), said  # a whole amount with separators, never 919060.34


def test_the_frontier_is_in_percent_like_the_cards_and_names_plans_in_words(tmp_path, monkeypatch):
    at = budget_app(tmp_path, monkeypatch)
    at.number_input(key="budget_trials").set_value(4).run()
    at.button(key="budget_search").click().run()
    assert_clean(at)
    table = at.dataframe[0].value  # the frontier (table)
    assert table["acceptance_rate"].max() > 1  # % (as the cards), not a 0–1 fraction
    assert not table["plan"].str.contains("_").any(), list(table["plan"])


def metric_value_after(at: AppTest) -> float:
    """Acceptance of the intervention world before a plan is loaded (computed in the comparison tab)."""
    at.session_state["view"] = "Dashboard"
    at.run()
    value = metric_value(at, "Acceptance")
    at.session_state["view"] = "Best plan for a budget"
    at.run()
    return value


def test_budget_search_is_cached_and_continues_with_more_trials(tmp_path, monkeypatch):
    at = budget_app(tmp_path, monkeypatch)
    at.number_input(key="budget_trials").set_value(3).run()
    at.button(key="budget_search").click().run()
    assert any(c.value.startswith("3 plans evaluated") for c in at.caption)
    at.session_state["view"] = "Journey funnel"
    at.run()
    at.session_state["view"] = "Best plan for a budget"
    at.run()  # back on the tab: the search is shown without a click
    assert any(c.value.startswith("3 plans evaluated") for c in at.caption)
    at.number_input(key="budget_trials").set_value(5).run()
    at.button(key="budget_search").click().run()  # the same study, two plans more
    assert_clean(at)
    assert any(c.value.startswith("5 plans evaluated") for c in at.caption)
    assert len(list(tmp_path.iterdir())) == 1


def test_a_stopped_budget_search_keeps_its_finished_plans(tmp_path, monkeypatch):
    at = budget_app(tmp_path, monkeypatch)
    press_stop_after(monkeypatch, "budget", "optimise", 2)
    at.number_input(key="budget_trials").set_value(6).run()
    at.button(key="budget_search").click().run()
    assert_clean(at)
    assert any("Stopped after 2 plans" in w.value for w in at.warning)
    assert any(c.value.startswith("2 plans evaluated") for c in at.caption)  # the finished plans are shown
