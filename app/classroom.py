"""Classroom mode: the trainer's story step by step, with the room predicting from their own browsers.

The trainer (sidebar: *Classroom*) opens a session and shows its code; trainees open the
join link (``?join=CODE``) on the same server, give a display name and follow the
trainer's step by polling (a fragment that reruns every :data:`POLL` seconds). Every
simulated number is computed on the trainer's page (the cached runs of :mod:`runs`,
as in :mod:`trainer`) and stored with the session at the reveal: trainees' pages only
read the store (:class:`cxsim.classroom.Classroom`), never compute, and show nothing
simulated before the trainer reveals it.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from types import SimpleNamespace

import charts
import pandas as pd
import stories
import streamlit as st
import trainer

from cxsim import CxError, plot, views
from cxsim.classroom import (ALPHABET, CODE_LENGTH, NAME_LENGTH, PREDICTED, Classroom, Result, Room, check_code, lesson, own_table,
                             spread, summary_table)
from cxsim.engine.scenario import Scenario

POLL = 2.0  # seconds between two looks at the room (trainees' pages and the trainer's counts)
SESSION = "classroom_session"  # trainer's session state: (code, key)
MEMBER = "classroom_member"  # trainee's session state: (code, token, name)
NOTED = "classroom_noted"  # trainer's session state: the last note shared with the room


def store() -> Classroom:
    """The classroom database ($CXSIM_CLASSROOM_DB or the user's cache folder)."""
    return Classroom()


def plain(text: str) -> str:
    """A trainee's display name shown as typed: Markdown's special characters escaped (no links, images or HTML)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:])", r"\\\1", text)


def _pct(x: float) -> str:
    return f"{x:.1f} %"


def _band(r: Result, step: dict) -> str:
    """A revealed result's interval and, in words, the uncertainty it carries (kept with the step when the session opened)."""
    words = step.get(UNCERTAINTY) or "seeds only"
    return f" (95% interval {r.lo:.1f} to {r.hi:.1f}, {words})" if r.lo == r.lo else f" (no interval, {words})"


UNCERTAINTY = "uncertainty"  # a step's key: which uncertainty its revealed interval carries, in words


# -- the trainer ---------------------------------------------------------------------------------
def _setup(s) -> dict:
    """What the session's results are computed from: the worlds and seeds of the sidebar when it opened."""
    unc = trainer.uncertainty(s)
    return {"scenario": s.name, "baseline": s.baseline.model_dump_json(), "alternative": s.alternative.model_dump_json(), "seeds": list(s.seeds),
            "uncertainty": {"kind": unc.kind, "draws": list(unc.draws), "source": unc.source}, "keep": list(getattr(s, "keep", ()))}


def _worlds(setup: dict) -> SimpleNamespace:
    """The setup as the trainer's mode takes it (``baseline``, ``alternative``, ``seeds``, and the uncertainty it opened with;
    a session opened before the page showed it: seeds only)."""
    unc = setup.get("uncertainty")
    page_unc = (views.PageUncertainty(unc["kind"], tuple(unc["draws"]), len(setup["seeds"]), unc["source"]) if unc
                else views.page_uncertainty(setup["scenario"], "seeds", 1, len(setup["seeds"])))
    return SimpleNamespace(name=setup["scenario"], baseline=Scenario.model_validate_json(setup["baseline"]),
                           alternative=Scenario.model_validate_json(setup["alternative"]), seeds=setup["seeds"],
                           uncertainty=page_unc, keep=tuple(setup.get("keep", ())))


PROBLEM = "classroom_problem"  # trainer's session state: what a button's callback could not do (shown once, one line)


def _open(s) -> None:
    words = trainer.uncertainty(s).words[1]
    steps = [{**step, UNCERTAINTY: words} for step in views.trainer_steps(s.alternative, s.alternative.enabled_interventions)]
    try:
        st.session_state[SESSION] = tuple(store().open_session(s.scenario.title or s.name, steps, _setup(s)))
    except CxError as err:
        st.session_state[PROBLEM] = str(err)
    st.session_state.pop(NOTED, None)


def _close() -> None:
    code, key = st.session_state.pop(SESSION)
    try:
        store().close(code, key)
    except CxError:
        pass  # already expired


def _goto(step: int) -> None:
    code, key = st.session_state[SESSION]
    try:
        store().set_step(code, key, step)
    except CxError as err:
        st.session_state[PROBLEM] = str(err)


def _problem() -> None:
    if PROBLEM in st.session_state:
        st.error(st.session_state.pop(PROBLEM))


def join_link(code: str) -> str:
    """The page's own address with ``?join=CODE`` (the address the trainer's browser uses)."""
    url = urllib.parse.urlsplit(st.context.url or "http://localhost:8501/")
    return urllib.parse.urlunsplit((url.scheme, url.netloc, url.path or "/", urllib.parse.urlencode({"join": code}), ""))


def _join_panel(room: Room) -> None:
    left, right = st.columns([1, 2])
    with left.container(key="classroom_code"):
        st.caption("Session code")
        st.markdown(f"<div style='font-size:4.5rem;font-weight:700;letter-spacing:0.25em;line-height:1.1'>{room.code}</div>",
                    unsafe_allow_html=True)
    link = join_link(room.code)
    right.markdown(f"**Trainees join here** (their own browser, same server): [{link}]({link})")
    right.code(link, language=None)
    host = urllib.parse.urlsplit(link).hostname or ""
    ends = time.strftime("%H:%M", time.localtime(room.expires))
    if host in ("localhost", "127.0.0.1", "::1"):
        right.caption("This address reaches this machine only. For a classroom on a LAN, start the explorer with "
                      f"`./cx app --host 0.0.0.0` and open it by this machine's network address; the link follows. The session ends at {ends}.")
    else:
        right.caption(f"Or open the explorer's address with ?join and type the code. The session ends at {ends} "
                      f"(server time, {store().hours:g} hours after it opened).")


@st.fragment(run_every=POLL)
def _live_counts(code: str, predicted: bool) -> None:
    """Who is in, and how many predicted the current step (refreshed every POLL seconds)."""
    try:
        room, names = store().room(code), store().members(code)
    except CxError as err:
        st.warning(str(err))
        return
    with st.container(key="classroom_counts"):
        a, b, _ = st.columns([1, 1, 3])
        a.metric("joined", room.members)
        b.metric("predicted this step", room.predicted if predicted else "–")
        if names:
            st.caption("In the room: " + ", ".join(plain(n) for n in names))


def _reveal(room: Room, key: str) -> Result:
    """Compute this step's simulated acceptance from the session's setup (cached runs) and store it: the room sees it."""
    step = room.current
    mean, lo, hi = trainer.acceptance(_worlds(store().setup(room.code, key)), step)
    store().reveal(room.code, key, room.step, mean, lo, hi)
    return Result(mean, lo, hi)


def _spread_view(room: Room, result: Result) -> None:
    votes = list(store().predictions(room.code, room.step).values())
    sp = spread(votes)
    st.success(f"Simulated acceptance: **{_pct(result.mean)}**{_band(result, room.current)}.")
    if not votes:
        st.info("Nobody predicted this step.")
        return
    with st.container(key="classroom_spread"):
        st.markdown(f"**{sp['n']} predictions** · median **{sp['median']:.1f} %** · range {sp['low']:.0f} to {sp['high']:.0f} % · "
                    f"the room's median is off by **{sp['median'] - result.mean:+.1f} points**")
    table = pd.DataFrame({"prediction": votes})
    charts.show(plot.classroom_reveal(votes, result.mean, result.lo, result.hi), table, f"classroom_step_{room.step + 1}")
    st.caption("Bars: how many trainees predicted each 5-point band; dashed line: the room's median; thin line: the range; "
               "blue line and band: the simulated result and its 95% interval.")


def _predicted_step(room: Room, key: str) -> None:
    _live_counts(room.code, True)
    result = room.revealed.get(room.step)
    if result is None:
        if st.button("Reveal to the room", key="classroom_reveal", type="primary",
                     help="computes this step's simulated result, shows it on every trainee's page and locks their predictions"):
            try:
                result = _reveal(room, key)
            except CxError as err:  # e.g. revealed meanwhile from another tab: once only
                st.error(str(err))
                return
        else:
            st.caption("Trainees predict on their own pages; the result stays hidden everywhere until you reveal it.")
            return
    if room.current.get("after"):
        st.markdown(room.current["after"])
    _spread_view(room, result)


def _outside_in(room: Room, key: str) -> None:
    """The trainer asks a non-user (as in the trainer's mode); what they said is shared with the room."""
    setup = store().setup(room.code, key)
    worlds = {"baseline": setup["baseline"], "intervention": setup["alternative"]}
    draw = stories.ask_button("Ask another non-user", "classroom_ask", "classroom_draw")
    said = stories.nonuser_card(worlds, "baseline", setup["seeds"][0], "declined", draw)
    note = f"##### {said['heading']}\n\n{said['quote']}" if said else ""
    if note and st.session_state.get(NOTED) != (room.code, note):
        store().note(room.code, key, room.step, note)
        st.session_state[NOTED] = (room.code, note)
    _live_counts(room.code, False)


def _closing(room: Room) -> None:
    rows = store().summary(room.code)
    last = room.steps[-1]
    if not rows:
        st.info("No step was revealed in this session.")
    else:
        st.markdown("**How far the room was from the simulation** (this model, the settings the session opened with):")
        st.markdown(lesson(rows, room.steps))
        table = summary_table(rows)
        st.dataframe(table, hide_index=True, key="classroom_summary_table")
        votes = pd.DataFrame([{"step": room.steps[r["step"]].get("short") or room.steps[r["step"]]["title"], "prediction": v}
                              for r in rows for v in store().predictions(room.code, r["step"]).values()], columns=["step", "prediction"])
        results = pd.DataFrame(rows).assign(step=[r["short"] for r in rows])
        charts.show(plot.classroom_summary(votes, results), table, "classroom_summary")
        st.caption("Per step: orange ticks, every prediction; diamond, the room's median; blue, the simulated result and its 95% interval.")
    _reported(last)


def _opening(s) -> None:
    steps = views.trainer_steps(s.alternative, s.alternative.enabled_interventions)
    predicted = sum(step["kind"] in PREDICTED for step in steps)
    st.markdown(
        f"Open a session to tell **{s.scenario.title or s.name}** to a room: {len(steps)} steps, {predicted} of them predicted by "
        "every trainee from their own browser. You get a short code and a join link; you steer the steps, trainees' pages follow, "
        "and at each reveal you see the spread of their predictions against the simulated result."
    )
    st.caption("The session uses the scenario, interventions and run settings of the sidebar as they are now "
               f"({', '.join(views.intervention_label(s.alternative, n) for n in s.alternative.enabled_interventions) or 'no intervention'}; "
               f"{s.baseline.population.customers:,} customers, {len(s.seeds)} replicate(s)).")
    st.button("Open a classroom session", key="classroom_open", type="primary", on_click=_open, args=(s,))
    _resume_form()


def _resume_form() -> None:
    """Take a session over again (after a reload, or from another tab) with its code and trainer key."""
    with st.expander("Resume a session you opened (code and trainer key)"):
        with st.form("classroom_resume", border=False):
            code = st.text_input("Session code", max_chars=CODE_LENGTH + 4, key="classroom_resume_code")
            key = st.text_input("Trainer key", type="password", max_chars=64, key="classroom_resume_key",
                                help="shown under 'Trainer key' on the page of the session")
            if st.form_submit_button("Resume"):
                try:
                    code = check_code(code)
                    store().setup(code, key)  # checks the key
                    st.session_state[SESSION] = (code, key)
                    st.rerun()
                except CxError as err:
                    st.error(str(err))


def _settings_note(s, setup: dict) -> None:
    if (setup.get("scenario"), setup.get("alternative"), setup.get("seeds")) != (s.name, s.alternative.model_dump_json(), list(s.seeds)):
        st.caption("The sidebar has changed since this session opened: the session keeps the settings it opened with "
                   "(end it and open a new one to use the sidebar's).")


def trainer_page(s) -> None:
    """The trainer's classroom: open a session, show its code, steer the story, reveal, close."""
    st.title(f"Classroom: {s.scenario.title or s.name}")
    _problem()
    if SESSION not in st.session_state:
        _opening(s)
        return
    code, key = st.session_state[SESSION]
    try:
        room = store().room(code)
    except CxError as err:
        st.session_state.pop(SESSION)
        st.warning(f"{err}. Open a new session.")
        st.button("Open a classroom session", key="classroom_open", type="primary", on_click=_open, args=(s,))
        return
    _join_panel(room)
    _settings_note(s, store().setup(code, key))
    k, step = room.step, room.current
    st.progress((k + 1) / len(room.steps), text=f"Step {k + 1} of {len(room.steps)}")
    st.subheader(step["title"])
    if step["kind"] != "what_changed":
        st.markdown(step["text"].replace("\n", " "))
    if step["kind"] in PREDICTED:
        _predicted_step(room, key)
    elif step["kind"] == "outside_in":
        _outside_in(room, key)
    else:
        _closing(room)
    back, forward, _, end = st.columns([1, 1, 3, 1])
    back.button("◀ Back", key="classroom_back", on_click=_goto, args=(k - 1,), disabled=k == 0)
    forward.button("Next ▶", key="classroom_next", on_click=_goto, args=(k + 1,), disabled=k == len(room.steps) - 1)
    end.button("End the session", key="classroom_end", on_click=_close, help="the code stops working for everyone")
    with st.expander("Trainer key"):
        st.code(key, language=None)
        st.caption("With the code, this key lets you steer the session again after a reload or from another tab "
                   "(*Resume a session* in Classroom). Keep it to yourself: trainees need only the code.")


# -- trainees ------------------------------------------------------------------------------------
def is_trainee() -> bool:
    """This browser follows a classroom: opened by a join link (``?join=…``) or joined in this session."""
    return "join" in st.query_params or MEMBER in st.session_state


def caller() -> str:
    """Who is asking, for the classroom's rate limits: the browser's address, else this page's session."""
    try:
        address = st.context.ip_address
    except Exception:  # older Streamlit, or no request behind this run
        address = None
    if address:
        return f"ip:{address}"
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return f"session:{ctx.session_id if ctx else ''}"


def _restore_member() -> None:
    """A trainee's credential lives in this page's session only, never in its address: a shared or screen-shown
    link carries the code alone. An old link's ``&me=…`` is dropped unread (rejoin with the rejoin key)."""
    if "me" in st.query_params:
        del st.query_params["me"]


def _join(code: str, name: str) -> None:
    try:
        code = check_code(code)
        token = store().join(code, name, who=caller())
        st.session_state[MEMBER] = (code, token, " ".join(name.split()))
        st.query_params.from_dict({"join": code})
    except CxError as err:
        st.session_state["classroom_join_error"] = str(err)


def _rejoin(code: str, key: str) -> None:
    """After a reload: the same trainee again, by the session code and the rejoin key shown on their page."""
    try:
        code = check_code(code)
        st.session_state[MEMBER] = (code, key.strip(), store().member(code, key.strip(), who=caller()))
        st.query_params.from_dict({"join": code})
    except CxError as err:
        st.session_state["classroom_join_error"] = str(err)


def _join_form() -> None:
    st.title("Join a classroom")
    wanted = st.query_params.get("join", "")
    with st.form("classroom_join", border=True):
        code = st.text_input("Session code", value=wanted, max_chars=CODE_LENGTH + 4, key="classroom_join_code",
                             help=f"{CODE_LENGTH} letters or digits, shown on your trainer's screen")
        name = st.text_input("Your display name", max_chars=NAME_LENGTH, key="classroom_join_name",
                             help=f"1 to {NAME_LENGTH} characters; the room sees it beside your predictions")
        if st.form_submit_button("Join", type="primary"):
            _join(code, name)
            if MEMBER in st.session_state:
                st.rerun()
    with st.expander("Rejoin after a reload (your rejoin key)"):
        with st.form("classroom_rejoin", border=False):
            again = st.text_input("Session code", value=wanted, max_chars=CODE_LENGTH + 4, key="classroom_rejoin_code")
            key = st.text_input("Rejoin key", type="password", max_chars=64, key="classroom_rejoin_key",
                                help="shown under 'Your rejoin key' on your page after you joined")
            if st.form_submit_button("Rejoin"):
                _rejoin(again, key)
                if MEMBER in st.session_state:
                    st.rerun()
    if "classroom_join_error" in st.session_state:
        st.error(st.session_state.pop("classroom_join_error"))
    st.caption(f"Codes use only {ALPHABET}.")


def _leave() -> None:
    st.session_state.pop(MEMBER, None)
    st.query_params.from_dict({"join": ""})  # back to the join form, not the explorer


def _own_prediction(room: Room, token: str, name: str) -> None:
    """The current step: predict (replace until the reveal), then the revealed result beside one's own prediction."""
    k = room.step
    own = store().own(room.code, token).get(k)
    result = room.revealed.get(k)
    if result is not None:
        if room.current.get("after"):
            st.markdown(room.current["after"])
        said = (f"You predicted **{own:g} %**: off by {own - result.mean:+.1f} points." if own is not None
                else "You did not predict this step.")
        with st.container(key="classroom_result"):
            st.success(f"Simulated acceptance: **{_pct(result.mean)}**{_band(result, room.current)}. {said}")
        return
    slider = f"classroom_predict_{room.code}_{k}"
    if slider not in st.session_state:
        st.session_state[slider] = int(round(own)) if own is not None else 50
    with st.form(f"classroom_predict_form_{k}", border=False):
        value = st.slider("Your prediction: what share of those offered will accept? (%)", 0, 100, key=slider)
        if st.form_submit_button("Submit my prediction", type="primary"):  # one label: a changing one would lose the click
            try:
                store().submit(room.code, token, k, value)
                own = float(value)
            except CxError as err:
                st.error(str(err))
    with st.container(key="classroom_own"):
        if own is not None:
            st.info(f"Your prediction: **{own:g} %**. You can change it until your trainer reveals the result.")
        else:
            st.caption("Submit a prediction before your trainer reveals the result.")


def _reported(last: dict) -> None:
    """What the scenario's source reports, labelled as such (it may differ from what was simulated here)."""
    reported = " ".join(x for x in (last["text"], last.get("fact", "")) if x)
    if reported:
        st.markdown("**Reported by the source** (what the scenario was calibrated to reproduce; its conditions may differ from the session's):")
        st.markdown(f"> {' '.join(reported.split())}")
    if last.get("source"):
        st.caption(f"Source: {last['source']}")


def _own_summary(room: Room, token: str) -> None:
    """A trainee's closing view: their predictions and the room's median beside each simulated result."""
    own, rows = store().own(room.code, token), store().summary(room.code)
    if rows:
        st.markdown(lesson(rows, room.steps))
        st.table(own_table(rows, own))
    else:
        st.info("No step was revealed in this session.")
    _reported(room.steps[-1])


def _moment(room: Room) -> tuple:
    """What a trainee's page shows changes only with these: the step, what is revealed, what is shared."""
    return room.step, tuple(sorted(room.revealed)), tuple(sorted(room.notes.items()))


@st.fragment(run_every=POLL)
def _watch(code: str, shown: tuple | None) -> None:
    """Every POLL seconds, a look at the room: the page is drawn again only when the trainer moved on.

    The fragment draws nothing, so an idle room costs each trainee's browser nothing but the look."""
    try:
        now = _moment(store().room(code))
    except CxError:
        now = None
    if now != shown:
        st.rerun()


def _follow(code: str, token: str, name: str) -> None:
    """The trainer's current step (drawn again by :func:`_watch` when the trainer moves)."""
    try:
        room = store().room(code)
    except CxError as err:
        _watch(code, None)
        st.warning(f"{err}.")
        st.button("Join another session", key="classroom_leave_ended", on_click=_leave)
        return
    _watch(code, _moment(room))
    st.caption(f"**{plain(name)}** in session **{room.code}** · {room.title}")
    st.progress((room.step + 1) / len(room.steps), text=f"Step {room.step + 1} of {len(room.steps)}")
    st.subheader(room.current["title"])
    kind = room.current["kind"]
    if kind != "what_changed":
        st.markdown(room.current["text"].replace("\n", " "))
    if kind in PREDICTED:
        _own_prediction(room, token, name)
    elif kind == "outside_in":
        st.markdown(room.notes.get(room.step) or "*Your trainer is asking a non-user: look at the front.*")
    else:
        _own_summary(room, token)


def trainee_page() -> None:
    """A trainee's page: join with a code and a name, then follow the trainer's story."""
    _restore_member()
    if MEMBER not in st.session_state:
        _join_form()
        return
    code, token, name = st.session_state[MEMBER]
    _follow(code, token, name)
    st.button("Leave the session", key="classroom_leave", on_click=_leave)
    with st.expander("Your rejoin key"):
        st.code(token, language=None)
        st.caption("After a reload, rejoin with the session code and this key (*Rejoin after a reload*). "
                   "It is yours alone: the page's address never holds it, so a shared link cannot submit as you.")
