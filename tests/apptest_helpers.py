"""Helpers shared by the explorer's AppTests (imported by name: pytest puts tests/ on the path)."""

from __future__ import annotations

import sys

from streamlit.testing.v1 import AppTest


def assert_clean(at: AppTest) -> None:
    """No exception block and no error message on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def press_stop_after(monkeypatch, page_module: str, job: str, trials: int):
    """Make the page's ``job`` (its optimise or calibrate) see Stop pressed once ``trials`` trials are done.

    Sets the page's ``STOP`` flag as the Stop button's callback does; returns the real
    ``job``, to put back when the test goes on without Stop.
    """
    import streamlit as st

    page = sys.modules[page_module]  # the tab's module, as the page imported it
    real = getattr(page, job)

    def stopped(*args, on_trial=None, **kw):
        def clicked(done, total):
            if done == trials:
                st.session_state[page.STOP] = True  # what the Stop button's callback does
            on_trial(done, total)
        return real(*args, on_trial=clicked if on_trial else None, **kw)

    monkeypatch.setattr(page, job, stopped)
    return real


PYTHON_WORDING = ("invalid literal", "Expecting value", "line 1 column", "object has no attribute", "Traceback", "NoneType",
                  "could not convert", "KeyError", "TypeError", "ValueError", "AttributeError", "is not subscriptable",
                  "unhashable", "argument of type", "object is not")


def assert_plain_words(text: str) -> None:
    """A message a user reads: none of Python's own wording in it."""
    leaked = [w for w in PYTHON_WORDING if w.lower() in text.lower()]
    assert not leaked, (leaked, text)


def interval_shown(delta: str) -> tuple[float, float, float]:
    """Difference and 95% interval as a card's delta writes them, in display units: '+32.1 pp (95% CI +28.0 to +35.5, …)'
    or '+32.1 pp ±2.1 (95%, …)'."""
    import re

    numbers = [float(x.replace("−", "-")) for x in re.findall(r"[-+−]?\d+\.\d+", delta.replace(",", ""))]
    if "±" in delta:
        return numbers[0], numbers[0] - numbers[1], numbers[0] + numbers[1]
    return numbers[0], numbers[1], numbers[2]
