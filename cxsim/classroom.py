"""Classroom sessions: a trainer tells a story step by step, trainees predict from their own browsers.

What NetLogo's HubNet does for a LAN classroom, kept in one SQLite file so that every
Streamlit session of one server (each a thread, 30 or more at once) reads and writes the
same room. No Streamlit here: the explorer's page (``app/classroom.py``) draws it.

    room = Classroom()                                   # $CXSIM_CLASSROOM_DB or the user's cache dir
    opened = room.open_session("Aravind", steps, setup)  # → Opened(code="K7QXM", key=…)
    me = room.join("K7QXM", "Asha")                      # a trainee: a member token
    room.submit("K7QXM", me, step=0, prediction=40)      # one per trainee and step, replaced until…
    room.reveal("K7QXM", opened.key, 0, mean=5.1, lo=4.8, hi=5.4)  # … the reveal locks the step
    room.set_step("K7QXM", opened.key, 1)                # everyone's page follows
    room.summary("K7QXM")                                # the room's median against each result

The database is in WAL mode (readers never wait for the writer) with a busy timeout;
every write is one ``BEGIN IMMEDIATE`` transaction, so a submission and the reveal that
locks its step are serialised: a prediction is either counted in the reveal or refused.
A session expires :data:`EXPIRY_HOURS` after it was opened; expired sessions are deleted
when the next one is opened.

Nobody can hijack a room: a trainee's token (their rejoin key) stays in their page's session and
is never put in a link; wrong codes are counted per caller and for the whole server
(:data:`WRONG_CODES_PER_CALLER`, :data:`WRONG_CODES_PER_SERVER` per :data:`WINDOW`), a caller
joins at most :data:`JOINS_PER_CALLER` names into one session and a session takes at most
:data:`JOINS_PER_SESSION` joins a minute; a step's result is revealed once (a second reveal is
refused in one line).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import sqlite3
import statistics
import threading
import time
import unicodedata
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple

from .state.params import CxError

if TYPE_CHECKING:
    import pandas as pd

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""Letters and digits of a session code: none that read alike (no 0/O, 1/I/L)."""
CODE_LENGTH = 5
NAME_LENGTH = 30
"""Longest display name (characters)."""
EXPIRY_HOURS = 12.0
PREDICTED = ("inside_out", "intervention")
"""Kinds of story step a trainee predicts (the others are told, not predicted)."""
ENV = "CXSIM_CLASSROOM_DB"
BUSY_TIMEOUT = 30.0  # seconds a writer waits for another one
MAX_MEMBERS = 500  # trainees in one session

WINDOW = 60.0
"""Seconds over which guesses and joins are counted."""
WRONG_CODES_PER_CALLER = 5
"""Wrong session codes one caller (a browser address) may try per :data:`WINDOW`; a typo or two is fine."""
WRONG_CODES_PER_SERVER = 30
"""Wrong codes all callers together may try per :data:`WINDOW`: guessing one of 28.6 million codes at this rate
takes years, however many addresses a guesser uses."""
JOINS_PER_CALLER = 3
"""Display names one caller may join into one session (a trainee who rejoins uses their rejoin key, not a new name)."""
JOINS_PER_SESSION = 60
"""Joins into one session per :data:`WINDOW` (a class of 30 joins in a minute or two)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    code TEXT PRIMARY KEY, key TEXT NOT NULL, title TEXT NOT NULL, steps TEXT NOT NULL, setup TEXT NOT NULL,
    step INTEGER NOT NULL DEFAULT 0, opened REAL NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    code TEXT NOT NULL REFERENCES sessions(code) ON DELETE CASCADE, token TEXT NOT NULL, name TEXT NOT NULL,
    folded TEXT NOT NULL, joined REAL NOT NULL, PRIMARY KEY (code, token), UNIQUE (code, folded));
CREATE TABLE IF NOT EXISTS predictions (
    code TEXT NOT NULL REFERENCES sessions(code) ON DELETE CASCADE, step INTEGER NOT NULL, token TEXT NOT NULL,
    value REAL NOT NULL, at REAL NOT NULL, PRIMARY KEY (code, step, token));
CREATE TABLE IF NOT EXISTS results (
    code TEXT NOT NULL REFERENCES sessions(code) ON DELETE CASCADE, step INTEGER NOT NULL,
    mean REAL NOT NULL, lo REAL, hi REAL, at REAL NOT NULL, PRIMARY KEY (code, step));
CREATE TABLE IF NOT EXISTS attempts (
    kind TEXT NOT NULL, who TEXT NOT NULL, code TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_at ON attempts (kind, at);
CREATE TABLE IF NOT EXISTS notes (
    code TEXT NOT NULL REFERENCES sessions(code) ON DELETE CASCADE, step INTEGER NOT NULL, text TEXT NOT NULL,
    PRIMARY KEY (code, step));
"""


def default_path() -> Path:
    """``$CXSIM_CLASSROOM_DB``, else ``classroom.sqlite`` in the user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "cxsim" / "classroom.sqlite"


class Opened(NamedTuple):
    """A new session: the code trainees type, and the key that lets only its trainer steer it."""

    code: str
    key: str


@dataclass(frozen=True)
class Result:
    """A revealed simulated result (%): mean and 95% interval over the replicates (NaN bounds for one replicate)."""

    mean: float
    lo: float
    hi: float


@dataclass(frozen=True)
class Room:
    """What every page of a session shows: the story, the current step, what is revealed, who is in."""

    code: str
    title: str
    steps: list[dict]
    step: int
    revealed: dict[int, Result]
    notes: dict[int, str]
    members: int
    predicted: int  # trainees who predicted the current step
    expires: float

    @property
    def current(self) -> dict:
        return self.steps[self.step]


# -- validation: one line naming the field, the value and what is allowed -------------------------
def check_code(code: Any) -> str:
    """A session code as typed (any case, spaces around) → the code; CxError unless it could be one."""
    text = "".join(str(code).split()).upper() if isinstance(code, str) else ""
    if len(text) != CODE_LENGTH or any(ch not in ALPHABET for ch in text):
        raise CxError(f"classroom code {str(code)[:20]!r}: expected {CODE_LENGTH} characters from {ALPHABET}")
    return text


def check_name(name: Any) -> str:
    """A display name: inner spaces collapsed, 1 to :data:`NAME_LENGTH` printable characters."""
    text = " ".join(str(name).split()) if isinstance(name, str) else ""
    printable = all(unicodedata.category(ch)[0] not in "C" for ch in text)
    if not text or len(text) > NAME_LENGTH or not printable:
        raise CxError(f"display name {str(name)[:40]!r}: 1 to {NAME_LENGTH} printable characters")
    return text


def check_prediction(value: Any) -> float:
    """A prediction: a number of percent, 0 to 100."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= 100
    if not ok:
        raise CxError(f"prediction {value!r}: allowed 0 to 100 (%)")
    return float(value)


def _fold(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold()


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def spread(values: list[float]) -> dict[str, float]:
    """Count, median, lowest and highest of a room's predictions (NaN when nobody predicted)."""
    if not values:
        return {"n": 0, "median": math.nan, "low": math.nan, "high": math.nan}
    return {"n": len(values), "median": float(statistics.median(values)), "low": float(min(values)), "high": float(max(values))}


_created: set[Path] = set()
_create_lock = threading.Lock()


class Classroom:
    """The sessions of one SQLite file (see the module doc). Safe to use from many threads and processes:
    every call opens its own short connection."""

    def __init__(self, path: str | os.PathLike | None = None, hours: float = EXPIRY_HOURS):
        self.path = Path(path).expanduser() if path is not None else default_path()
        if not (0 < hours <= 24 * 7):
            raise CxError(f"classroom expiry {hours!r} hours: allowed more than 0, up to {24 * 7}")
        self.hours = hours
        self._create()

    # -- connections ---------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA synchronous = NORMAL")
        return con

    def _create(self) -> None:
        with _create_lock:
            if self.path in _created and self.path.exists():
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with closing(self._connect()) as con:
                    con.execute("PRAGMA journal_mode = WAL")
                    con.executescript(SCHEMA)
            except (OSError, sqlite3.Error) as err:
                why = getattr(err, "strerror", None) or err
                raise CxError(f"classroom database: set ${ENV} to a writable file ({why}: {str(self.path)!r})") from None
            _created.add(self.path)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE: writers queue on the busy timeout)."""
        with closing(self._connect()) as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot (a read transaction in WAL mode never waits for a writer)."""
        with closing(self._connect()) as con:
            con.execute("BEGIN")
            try:
                yield con
            finally:
                con.execute("COMMIT")

    def _session(self, con: sqlite3.Connection, code: Any, columns: str = "code") -> tuple:
        code = check_code(code)
        row = con.execute(f"SELECT {columns} FROM sessions WHERE code = ? AND expires > ?", (code, time.time())).fetchone()
        if row is None:
            raise CxError(f"classroom code {code!r}: no open session with this code (sessions end {self.hours:g} hours after they open)")
        return row

    def _steered(self, con: sqlite3.Connection, code: Any, key: str) -> tuple[str, list[dict], int]:
        code_, stored, steps, step = self._session(con, code, "code, key, steps, step")
        if not secrets.compare_digest(str(key), stored):
            raise CxError(f"classroom {code_}: only the trainer who opened it can steer it (wrong trainer key)")
        return code_, json.loads(steps), step

    # -- the trainer ---------------------------------------------------------------------------
    def open_session(self, title: str, steps: list[dict], setup: dict | None = None) -> Opened:
        """A new session at step 0 of ``steps`` (each a dict with at least ``kind`` and ``title``).

        ``setup`` is kept for the trainer's page (e.g. the scenarios and seeds its results are
        computed from); trainees' pages never read it.
        """
        if not steps or any(not isinstance(s, dict) or "kind" not in s or "title" not in s for s in steps):
            raise CxError("classroom steps: a non-empty list of steps, each with a kind and a title")
        now = time.time()
        key = secrets.token_urlsafe(16)
        with self._write() as con:
            con.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            taken = {c for (c,) in con.execute("SELECT code FROM sessions")}
            code = next(c for c in iter(_new_code, None) if c not in taken)
            con.execute("INSERT INTO sessions (code, key, title, steps, setup, step, opened, expires) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                        (code, key, str(title)[:200], json.dumps(steps), json.dumps(setup or {}), now, now + 3600 * self.hours))
        return Opened(code, key)

    def setup(self, code: str, key: str) -> dict:
        """What the trainer stored when opening the session (trainer's key needed)."""
        with self._read() as con:
            self._steered(con, code, key)
            return json.loads(con.execute("SELECT setup FROM sessions WHERE code = ?", (check_code(code),)).fetchone()[0])

    def set_step(self, code: str, key: str, step: int) -> None:
        """Move the room to ``step`` (0-based); every page follows."""
        with self._write() as con:
            code, steps, _ = self._steered(con, code, key)
            if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < len(steps):
                raise CxError(f"classroom step {step!r}: allowed 0 to {len(steps) - 1}")
            con.execute("UPDATE sessions SET step = ? WHERE code = ?", (step, code))

    def reveal(self, code: str, key: str, step: int, mean: float, lo: float = math.nan, hi: float = math.nan) -> None:
        """Reveal the simulated result (%) of a predicted step: its predictions are locked from now on."""
        with self._write() as con:
            code, steps, _ = self._steered(con, code, key)
            self._predicted_step(steps, step)
            if not (isinstance(mean, (int, float)) and math.isfinite(mean)):
                raise CxError(f"classroom result {mean!r}: a finite number of percent")
            bounds = [None if (b is None or not math.isfinite(b)) else float(b) for b in (lo, hi)]
            shown = con.execute("SELECT mean FROM results WHERE code = ? AND step = ?", (code, step)).fetchone()
            if shown is not None:  # the room has seen it: a second value would contradict what every page shows
                raise CxError(f"classroom step {step + 1}: already revealed ({shown[0]:.1f} %); a result is revealed once")
            con.execute("INSERT INTO results (code, step, mean, lo, hi, at) VALUES (?, ?, ?, ?, ?, ?)",
                        (code, step, float(mean), *bounds, time.time()))

    def note(self, code: str, key: str, step: int, text: str) -> None:
        """Share a text with the room at ``step`` (e.g. the non-user the trainer asked), replacing the last one."""
        with self._write() as con:
            code, steps, _ = self._steered(con, code, key)
            if not 0 <= step < len(steps):
                raise CxError(f"classroom step {step!r}: allowed 0 to {len(steps) - 1}")
            con.execute("INSERT OR REPLACE INTO notes (code, step, text) VALUES (?, ?, ?)", (code, step, str(text)[:5000]))

    def close(self, code: str, key: str) -> None:
        """End a session now (its code stops working)."""
        with self._write() as con:
            code, _, _ = self._steered(con, code, key)
            con.execute("DELETE FROM sessions WHERE code = ?", (code,))

    # -- trainees ------------------------------------------------------------------------------
    def _throttle(self, who: str) -> None:
        """Refuse a caller who guessed too many wrong codes lately (or the whole server, when everyone did)."""
        since = time.time() - WINDOW
        with self._read() as con:
            mine, everyone = con.execute(
                "SELECT COALESCE(SUM(who = ?), 0), COUNT(*) FROM attempts WHERE kind = 'wrong' AND at > ?", (who, since)).fetchone()
        if mine >= WRONG_CODES_PER_CALLER or everyone >= WRONG_CODES_PER_SERVER:
            raise CxError(f"classroom: too many wrong session codes {'from this browser' if mine >= WRONG_CODES_PER_CALLER else 'on this server'}"
                          f" in the last {WINDOW:g} s: wait a minute, then check the code on your trainer's screen")

    def _record(self, kind: str, who: str, code: str) -> None:
        with self._write() as con:
            now = time.time()
            con.execute("DELETE FROM attempts WHERE at <= ?", (now - 24 * 3600,))
            con.execute("INSERT INTO attempts (kind, who, code, at) VALUES (?, ?, ?, ?)", (kind, who, code, now))

    def _known(self, code: Any, who: str) -> str:
        """``code`` if it opens a session, else a recorded wrong guess (and CxError); throttled callers are refused first."""
        self._throttle(who)
        try:
            with self._read() as con:
                return self._session(con, code)[0]
        except CxError:
            self._record("wrong", who, str(code)[:CODE_LENGTH + 4])
            raise

    def join(self, code: str, name: str, who: str = "") -> str:
        """A trainee joins under a display name unique in the session (ignoring case); returns their member token.

        ``who`` names the caller (the page gives the browser's address): wrong codes and names joined are
        counted per caller and per server (:data:`WRONG_CODES_PER_CALLER`, :data:`JOINS_PER_CALLER`, …)."""
        name = check_name(name)
        who = str(who)[:100]
        code = self._known(code, who)
        token = secrets.token_urlsafe(16)
        with self._write() as con:
            (code,) = self._session(con, code)
            since = time.time() - WINDOW
            mine = con.execute("SELECT COUNT(*) FROM attempts WHERE kind = 'join' AND code = ? AND who = ?", (code, who)).fetchone()[0]
            if who and mine >= JOINS_PER_CALLER:
                raise CxError(f"classroom {code}: this browser has joined {mine} names already; rejoin with your rejoin key")
            recent = con.execute("SELECT COUNT(*) FROM attempts WHERE kind = 'join' AND code = ? AND at > ?", (code, since)).fetchone()[0]
            if recent >= JOINS_PER_SESSION:
                raise CxError(f"classroom {code}: {recent} joins in the last {WINDOW:g} s; wait a moment and join again")
            if con.execute("SELECT 1 FROM members WHERE code = ? AND folded = ?", (code, _fold(name))).fetchone():
                raise CxError(f"display name {name!r}: already taken in session {code}, choose another")
            if con.execute("SELECT COUNT(*) FROM members WHERE code = ?", (code,)).fetchone()[0] >= MAX_MEMBERS:
                raise CxError(f"classroom {code}: full ({MAX_MEMBERS} trainees)")
            con.execute("INSERT INTO members (code, token, name, folded, joined) VALUES (?, ?, ?, ?, ?)",
                        (code, token, name, _fold(name), time.time()))
            con.execute("INSERT INTO attempts (kind, who, code, at) VALUES ('join', ?, ?, ?)", (who, code, time.time()))
        return token

    def member(self, code: str, token: str, who: str = "") -> str:
        """The display name of a member token (a trainee's rejoin key) of session ``code``; wrong codes count as guesses."""
        code = self._known(code, str(who)[:100])
        with self._read() as con:
            (code,) = self._session(con, code)
            row = con.execute("SELECT name FROM members WHERE code = ? AND token = ?", (code, str(token))).fetchone()
        if row is None:
            raise CxError(f"classroom {code}: this browser has not joined it (join with a display name)")
        return row[0]

    def submit(self, code: str, token: str, step: int, prediction: float) -> None:
        """A trainee's prediction (%) for the current step; a second one replaces the first until the reveal."""
        value = check_prediction(prediction)
        with self._write() as con:
            code, steps, current = self._session(con, code, "code, steps, step")
            self._predicted_step(json.loads(steps), step)
            if not con.execute("SELECT 1 FROM members WHERE code = ? AND token = ?", (code, str(token))).fetchone():
                raise CxError(f"classroom {code}: this browser has not joined it (join with a display name)")
            if step != current:
                raise CxError(f"classroom step {step + 1}: the trainer is at step {current + 1}, predict that one")
            if con.execute("SELECT 1 FROM results WHERE code = ? AND step = ?", (code, step)).fetchone():
                raise CxError(f"classroom step {step + 1}: already revealed, predictions are locked")
            con.execute("INSERT OR REPLACE INTO predictions (code, step, token, value, at) VALUES (?, ?, ?, ?, ?)",
                        (code, step, str(token), value, time.time()))

    @staticmethod
    def _predicted_step(steps: list[dict], step: Any) -> None:
        if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < len(steps):
            raise CxError(f"classroom step {step!r}: allowed 0 to {len(steps) - 1}")
        if steps[step]["kind"] not in PREDICTED:
            raise CxError(f"classroom step {step + 1} ({steps[step]['title']}): nothing to predict at this step")

    # -- what the pages read -------------------------------------------------------------------
    def room(self, code: str) -> Room:
        """The session as every page shows it (one snapshot; no member's prediction in it)."""
        with self._read() as con:
            code, title, steps, step, expires = self._session(con, code, "code, title, steps, step, expires")
            revealed = {s: Result(m, math.nan if lo is None else lo, math.nan if hi is None else hi)
                        for s, m, lo, hi in con.execute("SELECT step, mean, lo, hi FROM results WHERE code = ?", (code,))}
            notes = dict(con.execute("SELECT step, text FROM notes WHERE code = ?", (code,)).fetchall())
            members = con.execute("SELECT COUNT(*) FROM members WHERE code = ?", (code,)).fetchone()[0]
            predicted = con.execute("SELECT COUNT(*) FROM predictions WHERE code = ? AND step = ?", (code, step)).fetchone()[0]
        return Room(code, title, json.loads(steps), step, revealed, notes, members, predicted, expires)

    def members(self, code: str) -> list[str]:
        """Display names of the session's trainees, in the order they joined."""
        with self._read() as con:
            (code,) = self._session(con, code)
            return [n for (n,) in con.execute("SELECT name FROM members WHERE code = ? ORDER BY joined, name", (code,))]

    def predictions(self, code: str, step: int) -> dict[str, float]:
        """Display name → prediction (%) at ``step``."""
        with self._read() as con:
            (code,) = self._session(con, code)
            rows = con.execute("SELECT m.name, p.value FROM predictions p JOIN members m ON m.code = p.code AND m.token = p.token "
                               "WHERE p.code = ? AND p.step = ? ORDER BY m.joined, m.name", (code, step))
            return dict(rows.fetchall())

    def own(self, code: str, token: str) -> dict[int, float]:
        """One trainee's predictions: step → value."""
        with self._read() as con:
            (code,) = self._session(con, code)
            return dict(con.execute("SELECT step, value FROM predictions WHERE code = ? AND token = ?", (code, str(token))).fetchall())

    def summary(self, code: str) -> list[dict]:
        """Every revealed step: the room's spread against the simulated result (``off``: median − result, points)."""
        room = self.room(code)
        rows = []
        for step in sorted(room.revealed):
            r, s = room.revealed[step], spread(list(self.predictions(code, step).values()))
            rows.append({"step": step, "short": room.steps[step].get("short") or room.steps[step]["title"], **s,
                         "simulated": r.mean, "sim_lo": r.lo, "sim_hi": r.hi, "off": s["median"] - r.mean})
        return rows



# -- the closing view: the room against the simulation --------------------------------------------------
def summary_table(rows: list[dict]) -> "pd.DataFrame":
    """The closing table: the room's spread against each simulated result."""
    import pandas as pd

    return pd.DataFrame([{
        "step": r["short"], "predictions": r["n"],
        "room's median (%)": round(r["median"], 1) if r["n"] else None,
        "range (%)": f"{r['low']:.0f} to {r['high']:.0f}" if r["n"] else "",
        "simulated (%)": round(r["simulated"], 1),
        "95% interval": f"{r['sim_lo']:.1f} to {r['sim_hi']:.1f}" if r["sim_lo"] == r["sim_lo"] else "",
        "median − simulated (points)": round(r["off"], 1) if r["n"] else None,
    } for r in rows])


def lesson(rows: list[dict], steps: list[dict]) -> str:
    """The outside-in lesson in numbers: how far the room's median was from the simulated results."""
    guessed = [r for r in rows if r["n"]]
    if not guessed:
        return ""
    worst = max(guessed, key=lambda r: abs(r["off"]))
    text = (f"Over {len(guessed)} revealed step(s) the room's median was on average **{sum(abs(r['off']) for r in guessed) / len(guessed):.1f} points** "
            f"from the simulated result; furthest at *{worst['short']}* ({worst['off']:+.1f} points).")
    first = next((r for r in guessed if steps[r["step"]]["kind"] == "inside_out"), None)
    if first is not None:
        text += (f" Inside out, with the provider's view only, the room expected **{first['median']:.1f} %** to accept; "
                 f"the simulated customers, with their own costs and fears, gave **{first['simulated']:.1f} %**.")
    return text


def own_table(rows: list[dict], own: dict[int, float]) -> "pd.DataFrame":
    """A trainee's closing table: their own prediction (``own``: step → %) and the room's median beside each simulated result."""
    import pandas as pd

    return pd.DataFrame([{"step": r["short"], "you (%)": f"{own[r['step']]:g}" if r["step"] in own else "–",
                          "room's median (%)": f"{r['median']:.1f}" if r["n"] else "–", "simulated (%)": f"{r['simulated']:.1f}"}
                         for r in rows]).set_index("step")


__all__ = ["Classroom", "Opened", "WINDOW", "WRONG_CODES_PER_CALLER", "WRONG_CODES_PER_SERVER", "JOINS_PER_CALLER", "JOINS_PER_SESSION", "Result", "Room", "ALPHABET", "CODE_LENGTH", "NAME_LENGTH", "EXPIRY_HOURS", "PREDICTED",
           "check_code", "check_name", "check_prediction", "default_path", "spread", "summary_table", "lesson", "own_table"]
