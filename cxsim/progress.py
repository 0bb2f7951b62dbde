"""Progress of a long command: a tqdm bar on a terminal, plain lines in a log.

A bar redraws itself with carriage returns, which a log file, CI or ``nohup`` turns into one unreadable line
written at the end (or nothing at all: tqdm stays silent when stderr is not a terminal). The command line
(:func:`cxsim.cli.main`) sets :data:`LOG_LINES`, so there a calibration, optimisation or sweep whose stderr
is not a terminal prints a line at every tenth of the work and at least once a minute::

    cxsim: calibrating: 40/200 trials (20%), 2m10s, about 8m40s left, best=0.0123

From Python nothing changes: ``progress=None`` shows a bar only on a terminal, ``True`` always, ``False`` never.
"""

from __future__ import annotations

import sys
import time
from typing import Any

LOG_LINES = False
"""Whether ``progress=None`` away from a terminal prints lines (the command line's choice; the API's default is silence)."""
EVERY_SECONDS = 60.0
"""A line at least this often while work goes on, whatever the share done."""


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


class LogLines:
    """The part of tqdm's interface the loops use (``update``, ``set_postfix``, a context manager), as lines."""

    def __init__(self, total: int, initial: int = 0, unit: str = "it", desc: str = "", file: Any = None) -> None:
        self.total, self.n, self.unit, self.desc = max(int(total), 1), int(initial), unit, desc
        self.file = file or sys.stderr
        self.start = self.last = time.monotonic()
        self.first, self.postfix, self.next_tenth = int(initial), "", int(initial) * 10 // self.total + 1
        self.shown = int(initial)

    def __enter__(self) -> "LogLines":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if self.n * 10 // self.total >= self.next_tenth or now - self.last >= EVERY_SECONDS:
            self.next_tenth = self.n * 10 // self.total + 1
            self.say(now)

    def say(self, now: float) -> None:
        elapsed, done_here = now - self.start, self.n - self.first
        left = f", about {_duration(elapsed / done_here * (self.total - self.n))} left" if 0 < done_here and self.n < self.total else ""
        tail = f", {self.postfix}" if self.postfix else ""
        print(f"cxsim: {self.desc}: {self.n}/{self.total} {self.unit}s ({100 * self.n // self.total}%), "
              f"{_duration(elapsed)}{left}{tail}", file=self.file, flush=True)
        self.last, self.shown = now, self.n

    def close(self) -> None:
        if self.n != self.shown:
            self.say(time.monotonic())


def bar(total: int, *, initial: int = 0, unit: str = "it", desc: str = "", progress: bool | None = None) -> Any:
    """A tqdm bar (on a terminal, or ``progress=True``), log lines (``progress=None`` in the command line away
    from a terminal) or a silent tqdm (otherwise)."""
    if progress is None and LOG_LINES and not _is_terminal(sys.stderr):
        return LogLines(total, initial, unit, desc)
    from tqdm import tqdm

    disable = None if progress is None else not progress
    return tqdm(total=total, initial=initial, unit=unit, desc=desc, file=sys.stderr, disable=disable, dynamic_ncols=True)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
