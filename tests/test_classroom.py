"""Classroom sessions in SQLite (cxsim.classroom): codes, joining, predictions locked by the reveal, many writers."""

from __future__ import annotations

import math
import multiprocessing
import sqlite3
import statistics
import threading

import time

import pytest

import cxsim
from cxsim import CxError, views
from cxsim.classroom import ALPHABET, CODE_LENGTH, EXPIRY_HOURS, NAME_LENGTH, Classroom, check_code, default_path


def story_steps() -> list[dict]:
    sc = cxsim.load_scenario("aravind").variant("aravind_1980s")
    return views.trainer_steps(sc, sc.enabled_interventions)


@pytest.fixture
def room(tmp_path):
    return Classroom(tmp_path / "classroom.sqlite")


@pytest.fixture
def opened(room):
    return room.open_session("Aravind", story_steps(), {"seeds": [1, 2, 3]})


def test_a_code_is_short_and_unambiguous(room):
    codes = {room.open_session("x", story_steps()).code for _ in range(40)}
    assert len(codes) == 40
    for code in codes:
        assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET)
    assert not set("01OIL") & set(ALPHABET)
    code = next(iter(codes))
    assert check_code(f"  {code.lower()} ") == code  # typed in lower case with spaces: still the code


def test_the_database_is_in_wal_mode(room, opened):
    with sqlite3.connect(room.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_location_is_configurable(monkeypatch, tmp_path):
    monkeypatch.setenv("CXSIM_CLASSROOM_DB", str(tmp_path / "here.sqlite"))
    assert default_path() == tmp_path / "here.sqlite"
    assert Classroom().path == tmp_path / "here.sqlite"
    monkeypatch.delenv("CXSIM_CLASSROOM_DB")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_path() == tmp_path / "cache" / "cxsim" / "classroom.sqlite"


def test_an_unwritable_location_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(CxError, match="classroom database: set .CXSIM_CLASSROOM_DB to a writable file") as err:
        Classroom(tmp_path / "file" / "classroom.sqlite")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("code", ["", "ABC", "ABCDEFG", "ABCD0", "ABCDI", "AB-CD", "ÄBCDE", None, 12345])
def test_a_malformed_code_is_one_line_naming_the_alphabet(room, code):
    with pytest.raises(CxError, match=f"classroom code .*{CODE_LENGTH} characters from {ALPHABET}") as err:
        room.join(code, "Asha")
    assert "\n" not in str(err.value)


def test_an_unknown_or_expired_code_is_one_line(room, monkeypatch):
    import time

    code = room.open_session("x", story_steps()).code
    room.join(code, "Asha")
    later = time.time() + 3600 * (EXPIRY_HOURS + 0.1)
    monkeypatch.setattr("cxsim.classroom.time.time", lambda: later)
    for call in (lambda: room.join(code, "Ben"), lambda: room.room(code), lambda: room.join("ZZZZZ", "Asha")):
        with pytest.raises(CxError, match="no open session with this code") as err:
            call()
        assert "\n" not in str(err.value)
    room.open_session("y", story_steps())  # opening a session deletes the expired ones
    with sqlite3.connect(room.path) as con:
        assert con.execute("SELECT COUNT(*) FROM members").fetchone()[0] == 0


@pytest.mark.parametrize("name", ["", "   ", "x" * (NAME_LENGTH + 1), "bell\a", None, 7])
def test_a_bad_display_name_is_refused(room, opened, name):
    with pytest.raises(CxError, match=f"display name .*1 to {NAME_LENGTH} printable characters"):
        room.join(opened.code, name)


def test_names_are_unique_in_a_session_and_trimmed(room, opened):
    room.join(opened.code, "  Asha   Rao ")
    assert room.members(opened.code) == ["Asha Rao"]
    with pytest.raises(CxError, match="already taken"):
        room.join(opened.code, "asha rao")
    other = room.open_session("y", story_steps())
    room.join(other.code, "Asha Rao")  # another session: free
    room.join(opened.code, "x" * NAME_LENGTH)


@pytest.mark.parametrize("value", [-1, 100.5, math.nan, math.inf, "50", True, None])
def test_a_prediction_outside_0_to_100_is_refused(room, opened, value):
    me = room.join(opened.code, "Asha")
    with pytest.raises(CxError, match=r"prediction .*allowed 0 to 100 \(%\)"):
        room.submit(opened.code, me, 0, value)
    assert room.predictions(opened.code, 0) == {}


def test_one_prediction_per_trainee_and_step_replaced_until_the_reveal(room, opened):
    code, key = opened
    asha, ben = room.join(code, "Asha"), room.join(code, "Ben")
    room.submit(code, asha, 0, 40)
    room.submit(code, asha, 0, 45)  # replaces
    room.submit(code, ben, 0, 0)
    assert room.predictions(code, 0) == {"Asha": 45, "Ben": 0}
    assert room.room(code).predicted == 2
    room.reveal(code, key, 0, 5.1, 4.8, 5.4)
    with pytest.raises(CxError, match="already revealed, predictions are locked"):
        room.submit(code, asha, 0, 10)
    assert room.predictions(code, 0) == {"Asha": 45, "Ben": 0}
    with pytest.raises(CxError, match=r"^classroom step 1: already revealed \(5\.1 %\); a result is revealed once$"):
        room.reveal(code, key, 0, 99.0)  # a second reveal is refused in one line, not silently ignored
    assert room.room(code).revealed[0].mean == 5.1


def test_wrong_codes_are_rate_limited_per_caller_and_per_server(room, opened, monkeypatch):
    """Guessing codes (issue 25: 187 wrong guesses in 5 s) stops after a few per minute, per browser and for everyone."""
    from cxsim import classroom

    code, _ = opened
    wrong = "ZZZZZ" if code != "ZZZZZ" else "YYYYY"
    for _ in range(classroom.WRONG_CODES_PER_CALLER):
        with pytest.raises(CxError, match="no open session"):
            room.join(wrong, "Mallory", who="10.0.0.9")
    with pytest.raises(CxError, match="too many wrong session codes from this browser"):
        room.join(code, "Mallory", who="10.0.0.9")  # even the right code, until the minute has passed
    assert room.join(code, "Asha", who="10.0.0.2")  # another browser is not held up
    for k in range(classroom.WRONG_CODES_PER_SERVER - classroom.WRONG_CODES_PER_CALLER):
        with pytest.raises(CxError):
            room.member(wrong, "token", who=f"10.1.{k}.1")  # many addresses
    with pytest.raises(CxError, match="too many wrong session codes on this server"):
        room.join(code, "Ben", who="10.9.9.9")
    later = time.time() + classroom.WINDOW + 1
    monkeypatch.setattr(classroom.time, "time", lambda: later)
    assert room.join(code, "Ben", who="10.9.9.9")  # a minute later


def test_one_caller_cannot_fill_a_room(room, opened):
    """Issue 25: one caller joined 482 names; now a browser joins a few names, and a room takes joins at a bounded rate."""
    from cxsim import classroom

    code, _ = opened
    for k in range(classroom.JOINS_PER_CALLER):
        room.join(code, f"bot {k}", who="10.0.0.9")
    with pytest.raises(CxError, match="this browser has joined 3 names already"):
        room.join(code, "bot again", who="10.0.0.9")
    for k in range(classroom.JOINS_PER_SESSION - classroom.JOINS_PER_CALLER):
        room.join(code, f"t{k}")
    with pytest.raises(CxError, match=r"joins in the last 60 s"):
        room.join(code, "one too many")
    assert room.room(code).members == classroom.JOINS_PER_SESSION


def test_only_the_current_predicted_step_takes_predictions(room, opened):
    code, key = opened
    me = room.join(code, "Asha")
    with pytest.raises(CxError, match="the trainer is at step 1"):
        room.submit(code, me, 2, 30)
    room.set_step(code, key, 1)  # outside-in: told, not predicted
    with pytest.raises(CxError, match="nothing to predict"):
        room.submit(code, me, 1, 30)
    with pytest.raises(CxError, match="allowed 0 to"):
        room.set_step(code, key, 99)
    with pytest.raises(CxError, match="has not joined"):
        room.submit(code, "not-a-member", 0, 30)


def test_only_the_trainer_steers(room, opened):
    code, key = opened
    with pytest.raises(CxError, match="wrong trainer key"):
        room.set_step(code, "guess", 1)
    with pytest.raises(CxError, match="wrong trainer key"):
        room.reveal(code, "guess", 0, 10.0)
    room.set_step(code, key, 2)
    assert room.room(code).step == 2
    assert room.setup(code, key) == {"seeds": [1, 2, 3]}


def test_summary_is_the_rooms_median_against_each_result(room, opened):
    code, key = opened
    tokens = [room.join(code, f"t{k}") for k in range(5)]
    for tok, v in zip(tokens, (10, 20, 30, 40, 90)):
        room.submit(code, tok, 0, v)
    room.reveal(code, key, 0, 5.0, 4.0, 6.0)
    room.set_step(code, key, 2)
    for tok, v in zip(tokens[:2], (50, 70)):
        room.submit(code, tok, 2, v)
    room.reveal(code, key, 2, 24.0)
    rows = room.summary(code)
    assert [r["step"] for r in rows] == [0, 2]
    assert (rows[0]["n"], rows[0]["median"], rows[0]["low"], rows[0]["high"], rows[0]["off"]) == (5, 30, 10, 90, 25)
    assert (rows[1]["n"], rows[1]["median"], rows[1]["off"]) == (2, 60, 36)
    assert math.isnan(rows[1]["sim_lo"])
    assert room.own(code, tokens[0]) == {0: 10, 2: 50}


def test_a_closed_session_stops_working(room, opened):
    room.close(*opened)
    with pytest.raises(CxError, match="no open session"):
        room.room(opened.code)


N_THREADS = 40


def test_many_threads_join_and_predict_at_once_while_the_trainer_reveals(room, opened):
    """40 trainees (threads) join and submit three times each while the trainer reveals mid-way: nothing is lost,
    nothing is counted after the lock, and each trainee's last accepted prediction is the one counted."""
    code, key = opened
    start = threading.Barrier(N_THREADS + 1)
    accepted: dict[str, float] = {}
    errors: list[str] = []

    def trainee(k: int) -> None:
        name = f"trainee {k}"
        token = room.join(code, name)
        start.wait()
        for round_ in range(3):
            try:
                room.submit(code, token, 0, (k * 7 + round_) % 101)
                accepted[name] = (k * 7 + round_) % 101
            except CxError as err:
                if "locked" not in str(err):
                    errors.append(str(err))

    threads = [threading.Thread(target=trainee, args=(k,)) for k in range(N_THREADS)]
    for t in threads:
        t.start()
    start.wait()
    while room.room(code).predicted < N_THREADS // 2:  # reveal while the others are still writing
        pass
    room.reveal(code, key, 0, 5.0)
    for t in threads:
        t.join()
    assert not errors
    counted = room.predictions(code, 0)
    assert counted == accepted  # every accepted prediction is counted, every refused one is not
    assert len(room.members(code)) == N_THREADS
    assert room.summary(code)[0]["median"] == statistics.median(accepted.values())


def _process_trainee(path: str, code: str, k: int, barrier) -> None:
    room = Classroom(path)
    token = room.join(code, f"process {k}")
    barrier.wait()
    for v in range(10):
        room.submit(code, token, 0, (k + v) % 101)


def test_many_processes_write_to_one_file(room, opened):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(6)
    procs = [ctx.Process(target=_process_trainee, args=(str(room.path), opened.code, k, barrier)) for k in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 6
    assert room.predictions(opened.code, 0) == {f"process {k}": float((k + 9) % 101) for k in range(6)}


def test_the_closing_table_and_lesson_are_computed_in_cxsim():
    """Issue 22 item 7: the closing view's logic lives in cxsim.classroom (the page only shows it)."""
    from cxsim.classroom import lesson, own_table, summary_table

    rows = [{"step": 0, "short": "inside out", "n": 3, "median": 60.0, "low": 40.0, "high": 80.0, "simulated": 20.0, "sim_lo": 18.0,
             "sim_hi": 22.0, "off": 40.0},
            {"step": 2, "short": "free bus", "n": 0, "median": math.nan, "low": math.nan, "high": math.nan, "simulated": 50.0,
             "sim_lo": math.nan, "sim_hi": math.nan, "off": math.nan}]
    table = summary_table(rows)
    assert list(table["simulated (%)"]) == [20.0, 50.0] and list(table["95% interval"]) == ["18.0 to 22.0", ""]
    text = lesson(rows, [{"kind": "inside_out"}, {"kind": "outside_in"}, {"kind": "intervention"}])
    assert "40.0 points" in text and "**60.0 %**" in text and "**20.0 %**" in text
    mine = own_table(rows, {0: 55.0})
    assert mine.loc["inside out", "you (%)"] == "55" and mine.loc["free bus", "you (%)"] == "–"
