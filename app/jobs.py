"""A long search run from the page: a progress bar and a Stop button, finished trials kept.

Shared by the tabs 'Best plan for a budget' (:mod:`budget`) and 'Your own data'
(:mod:`owndata`): the job reports each finished trial; after Stop it is ended at the
next report, and its study (``study.db``) keeps what it finished, so the next run
continues from there.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, TypeVar

import streamlit as st

T = TypeVar("T")
OnTrial = Callable[[int, int], None]


def run_stoppable(job: Callable[[OnTrial], T], *, flag: str, button_key: str, working: str, unit: str, help: str) -> T | None:
    """``job(on_trial)`` under a progress bar and a Stop button; its result, or None once stopped.

    ``flag`` is the session-state key the Stop button sets (it stays set, so the caller can
    say the run was stopped); ``on_trial(done, total)`` moves the bar and, once stopped,
    raises ``KeyboardInterrupt`` for the job to end after the trial it finished.
    """
    bar, stop = st.progress(0.0, text=working), st.empty()
    stop.button("Stop", key=button_key, on_click=partial(st.session_state.__setitem__, flag, True), icon=":material/stop:", help=help)
    st.session_state[flag] = False

    def on_trial(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{done} of {total} {unit}")
        if st.session_state.get(flag):
            raise KeyboardInterrupt

    try:
        return job(on_trial)
    except KeyboardInterrupt:  # stopped by the user: the finished trials stay in study.db
        return None
    finally:
        bar.empty()
        stop.empty()
