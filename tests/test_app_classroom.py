"""Classroom mode in the explorer, driven headless (AppTest): the trainer's page and trainees' pages on one store."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest
from apptest_helpers import assert_clean
from streamlit.testing.v1 import AppTest

import cxsim
from cxsim.classroom import ALPHABET, CODE_LENGTH, Classroom

APP = str(Path(__file__).resolve().parent.parent / "app" / "explorer.py")
SMALL = 2000


@pytest.fixture(autouse=True)
def classroom_db(tmp_path, monkeypatch):
    monkeypatch.setenv("CXSIM_CLASSROOM_DB", str(tmp_path / "classroom.sqlite"))
    return tmp_path / "classroom.sqlite"


def text(at: AppTest) -> str:
    return "\n".join(e.value for kind in ("markdown", "success", "info", "caption", "warning", "subheader") for e in getattr(at, kind))


def trainer() -> AppTest:
    """The trainer's page at SMALL customers with a classroom session open."""
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["aravind:population.customers"] = SMALL
    at.session_state["uncertainty"] = "seeds"  # the reveal is compared with runs over seeds (over the posterior: test_app_uncertainty)
    at.run()
    at.toggle(key="classroom").set_value(True).run()
    assert_clean(at)
    assert "Open a session" in text(at)
    at.button(key="classroom_open").click().run()
    assert_clean(at)
    return at


def code_of(at: AppTest) -> str:
    shown = next(m.value for m in at.markdown if "font-size:4.5rem" in m.value)
    return re.search(r">([A-Z0-9]+)<", shown).group(1)


def trainee(code: str, name: str | None = None) -> AppTest:
    """A trainee's page opened on the join link, joined as ``name`` (if given)."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["join"] = code
    at.run()
    assert_clean(at)
    if name is not None:
        at.text_input(key="classroom_join_name").input(name)
        at.button[0].click().run()  # the form's Join
        assert_clean(at)
    return at


def predict(at: AppTest, value: int) -> None:
    at.slider[0].set_value(value)
    next(b for b in at.button if "prediction" in b.label).click().run()
    assert_clean(at)


def counts(at: AppTest) -> tuple[str, str]:
    return tuple(next(m.value for m in at.metric if m.label == label) for label in ("joined", "predicted this step"))


def test_trainer_opens_a_session_with_a_short_code_and_a_join_link():
    at = trainer()
    code = code_of(at)
    assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET)
    assert f"?join={code}" in text(at)
    assert "--host 0.0.0.0" in text(at)  # served on localhost: the page says how to reach a LAN
    assert counts(at) == ("0", "0")
    assert not at.success  # nothing simulated shows before the reveal
    assert at.subheader[0].value == "Inside out: the provider's view"


def test_trainees_predict_and_see_the_result_only_after_the_trainer_reveals():
    at = trainer()
    code = code_of(at)
    asha, ben, cleo = trainee(code, "Asha"), trainee(code, "Ben"), trainee(code, "Cleo")
    assert "Asha" in text(asha) and at.subheader[0].value == asha.subheader[0].value
    assert not asha.success and "Simulated" not in text(asha) and "one in twenty" not in text(asha)
    predict(asha, 30)
    predict(asha, 40)  # replaces the first
    predict(ben, 70)
    assert "Your prediction: **40 %**" in text(asha)
    at.run()
    assert counts(at) == ("3", "2")  # Cleo joined and did not predict
    assert "Asha, Ben, Cleo" in text(at)

    at.button(key="classroom_reveal").click().run()
    assert_clean(at)
    mean = 100 * statistics.mean(cxsim.run(cxsim.load_scenario("aravind").variant("baseline").with_overrides(
        {"population.customers": SMALL}), s).summary["acceptance_rate"] for s in (1, 2, 3))
    assert f"Simulated acceptance: **{mean:.1f} %**" in at.success[0].value
    assert "**2 predictions** · median **55.0 %** · range 40 to 70 %" in text(at)
    assert f"off by **{55 - mean:+.1f} points**" in text(at)
    assert at.get("vega_lite_chart")

    for page in (asha, ben, cleo):
        page.run()
        assert_clean(page)
        assert f"Simulated acceptance: **{mean:.1f} %**" in page.success[0].value
        assert "one in twenty" in text(page)  # the story's outcome, told with the reveal
    assert "You predicted **40 %**" in asha.success[0].value
    assert "You did not predict this step" in cleo.success[0].value
    assert not [b for b in asha.button if "prediction" in b.label]  # locked

    at.button(key="classroom_next").click().run()  # outside in: the trainer asks a non-user, the room reads it
    assert_clean(at)
    asha.run()
    assert asha.subheader[0].value == "Outside in: ask the non-user"
    assert "Customer " in text(asha) and "“" in text(asha)

    at.button(key="classroom_next").click().run()
    asha.run()
    predict(asha, 12)
    at.button(key="classroom_reveal").click().run()
    for _ in range(len(cxsim.load_scenario("aravind").variants["aravind_1980s"].interventions)):
        at.button(key="classroom_next").click().run()
        assert_clean(at)
    assert at.subheader[0].value == "What changed"
    closing = text(at)
    assert "How far the room was from the simulation" in closing and "Over 2 revealed step(s)" in closing
    assert "Inside out, with the provider's view only, the room expected **55.0 %**" in closing
    table = at.dataframe[0].value
    assert list(table["predictions"]) == [2, 1] and table["room's median (%)"].iloc[0] == 55.0
    asha.run()
    assert_clean(asha)
    mine = asha.table[0].value
    assert list(mine["you (%)"]) == ["40", "12"] and mine["room's median (%)"].iloc[0] == "55.0"
    assert "Reported by the source" in text(asha)


def test_a_bad_code_or_a_taken_name_is_one_line_and_a_reload_keeps_the_trainee():
    at = trainer()
    code = code_of(at)
    bad = trainee("ABC0E")
    bad.text_input(key="classroom_join_name").input("Asha")
    bad.button[0].click().run()
    assert not bad.exception
    assert len(bad.error) == 1 and "classroom code 'ABC0E'" in bad.error[0].value and "\n" not in bad.error[0].value
    unknown = trainee("ZZZZZ")
    unknown.text_input(key="classroom_join_name").input("Asha")
    unknown.button[0].click().run()
    assert "no open session with this code" in unknown.error[0].value

    asha = trainee(code, "Asha")
    twin = trainee(code)
    twin.text_input(key="classroom_join_name").input("ASHA")
    twin.button[0].click().run()
    assert "already taken" in twin.error[0].value

    assert "me" not in asha.query_params  # the address holds the code only: a shared link cannot act as Asha
    token = asha.session_state["classroom_member"][1]
    assert token in text(asha) or any(token in c.value for c in asha.code)  # shown to Asha herself, as her rejoin key
    stolen = AppTest.from_file(APP, default_timeout=30)
    stolen.query_params.update({"join": code, "me": token})  # an old-style link with a token in it is not a credential
    stolen.run()
    assert_clean(stolen)
    assert "**Asha** in session" not in text(stolen) and "me" not in stolen.query_params
    reloaded = AppTest.from_file(APP, default_timeout=30)
    reloaded.query_params["join"] = code
    reloaded.run()
    reloaded.text_input(key="classroom_rejoin_key").input(token)
    reloaded.button(key="FormSubmitter:classroom_rejoin-Rejoin").click().run()
    assert_clean(reloaded)
    assert "**Asha** in session" in text(reloaded)


def test_the_classroom_toggle_leaves_the_explorer_and_trainers_mode_as_they_were():
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["aravind:population.customers"] = SMALL
    at.run()
    assert not at.toggle(key="classroom").value and at.metric  # the explorer by default
    at.toggle(key="trainer").set_value(True).run()
    assert at.slider(key="trainer_predict_0")  # the single-screen trainer's mode is unchanged
    assert Classroom().path.parent.exists()


def test_the_explorers_server_skips_streamlits_full_gc_after_each_run():
    """30 trainees' pages each look at the room every 2 s: a full GC after each of those runs would starve the server."""
    import argparse

    from cxsim.cli import NO_GC_PER_RUN, streamlit_command

    cmd = streamlit_command(argparse.Namespace(host=None, port=None, headless=None, streamlit_args=[]))
    assert cmd[cmd.index("--runner.postScriptGC") + 1] == "false" and tuple(NO_GC_PER_RUN) == ("--runner.postScriptGC", "false")


def test_a_trainer_resumes_a_session_with_its_key_and_a_wrong_key_is_one_line():
    at = trainer()
    code, key = at.session_state["classroom_session"]
    other = AppTest.from_file(APP, default_timeout=90)
    other.session_state["aravind:population.customers"] = SMALL
    other.run()
    other.toggle(key="classroom").set_value(True).run()
    other.text_input(key="classroom_resume_code").input(code.lower())
    other.text_input(key="classroom_resume_key").input("not the key")
    next(b for b in other.button if b.label == "Resume").click().run()
    assert len(other.error) == 1 and "wrong trainer key" in other.error[0].value
    other.text_input(key="classroom_resume_key").input(key)
    next(b for b in other.button if b.label == "Resume").click().run()
    assert_clean(other)
    assert code_of(other) == code
    other.button(key="classroom_next").click().run()
    at.run()
    assert at.subheader[0].value == "Outside in: ask the non-user"  # one session, steered from either page
    at.number_input(key="aravind:population.customers").set_value(SMALL + 1000).run()
    assert "The sidebar has changed since this session opened" in text(at)


def test_a_display_name_is_shown_as_typed_never_as_markdown():
    at = trainer()
    trainee(code_of(at), "![x](http://e.co/a.png) **Bo**")
    at.run()
    shown = next(c.value for c in at.caption if c.value.startswith("In the room:"))
    assert r"\!\[x\]\(http\://e\.co/a\.png\) \*\*Bo\*\*" in shown  # escaped: no image is fetched, no bold


def test_a_session_that_ended_under_the_trainer_is_one_line_not_a_traceback():
    at = trainer()
    code, key = at.session_state["classroom_session"]
    asha = trainee(code, "Asha")
    Classroom().close(code, key)  # as if it expired
    at.button(key="classroom_next").click().run()
    assert not at.exception
    assert "no open session with this code" in at.error[0].value + " ".join(w.value for w in at.warning)
    asha.run()
    assert not asha.exception and "no open session with this code" in text(asha)
