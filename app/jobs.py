"""A long search run from the page: a progress bar and a Stop button, finished trials kept.

Shared by the tabs 'Best plan for a budget' (:mod:`budget`) and 'Your own data'
(:mod:`owndata`): the job reports each finished trial; after Stop it is ended at the
next report, and its study (``study.db``) keeps what it finished, so the next run
continues from there.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import partial
from pathlib import Path
from typing import Callable, TypeVar

import streamlit as st

from cxsim.studies import finished_trials, wait_until_free

STOPPED_TRIAL_WAIT = 120.0
"""Seconds a page waits for its own stopped search's last trial (still in the previous run's thread) to let go of its folder."""
RUNNING = "jobs_running"
"""Session-state key: (folder, token) of this session's job while it runs (another session's search is never waited for)."""

T = TypeVar("T")
OnTrial = Callable[[int, int], None]


def cache_folder(env: str, default: str, world, settings: dict, name: str | None = None) -> Path:
    """One folder per (world, settings) for a long search's study: ``<$env or the temp dir's default>/<name>-<hash>``.

    ``world``: the scenario searched (its JSON is hashed with ``settings``); ``name``: the folder's readable part
    (default: the world's name). The same world and settings find the same folder, so a search continues."""
    text = world.model_dump_json() + json.dumps(settings, sort_keys=True)
    root = Path(os.environ.get(env) or Path(tempfile.gettempdir()) / default)
    return root / f"{name or world.name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def run_stoppable(job: Callable[[OnTrial], T], folder: Path, *, flag: str, button_key: str, working: str, unit: str,
                  help: str) -> T | None:
    """``job(on_trial)``, writing ``folder``, under a progress bar and a Stop button; its result, or None once stopped.

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

    token = object()
    try:
        wait_for_own_job(folder)
        st.session_state[RUNNING] = (str(folder), token)
        return job(on_trial)
    except KeyboardInterrupt:  # stopped by the user: the finished trials stay in study.db
        return None
    finally:
        if st.session_state.get(RUNNING, (None, None))[1] is token:
            del st.session_state[RUNNING]
        bar.empty()
        stop.empty()


def wait_for_own_job(folder: Path) -> None:
    """After Stop, the page's next run may start while this session's job still finishes its trial in the previous
    run's thread, holding the folder's lock: wait for it (only for this session's own job on this folder)."""
    running = st.session_state.get(RUNNING)
    if running is not None and running[0] == str(folder):
        wait_until_free(folder, STOPPED_TRIAL_WAIT)


def reread(out: Path, key: str, report: Callable[[int], T]) -> T | None:
    """What the study in ``out`` finished, re-reported by ``report(trials)`` without new trials (None when there are none).

    Kept in session state under ``key`` with the folder and its count of trials, so a
    rerun of the page does not re-report an unchanged study.
    """
    wait_for_own_job(out)
    done = finished_trials(out)
    if not done:
        return None
    kept = st.session_state.get(key)
    if kept is not None and kept[0] == (str(out), done):
        return kept[1]
    result = report(done)
    st.session_state[key] = ((str(out), done), result)
    return result
