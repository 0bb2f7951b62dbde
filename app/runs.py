"""Cached simulation runs: keyed on the scenario as JSON and the seed (plain, hashable inputs).

Each (scenario, seed) is run once per server process; moving a widget back to an
earlier setting is a cache hit. Only small tables are cached as data; the model
itself (needed to tell one customer's story) is kept for the few latest runs.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

import streamlit as st

import cxsim
from cxsim import views
from cxsim.engine.scenario import Scenario
from cxsim.readouts import story


def _scenario(scenario_json: str) -> Scenario:
    return Scenario.model_validate_json(scenario_json)


@st.cache_data(max_entries=1024, show_spinner=False)
def run_tables(scenario_json: str, seed: int) -> dict:
    """The small tables of one run (see :func:`cxsim.views.run_tables`)."""
    return views.run_tables(cxsim.run(_scenario(scenario_json), seed))


@st.cache_resource(max_entries=4, show_spinner=False)
def model(scenario_json: str, seed: int):
    """One run's model, to tell a customer's story (the latest few are kept)."""
    return cxsim.run(_scenario(scenario_json), seed).model


RECENT = 8  # pages' worlds × draws × seeds kept as objects: a rerun of the same settings unpickles nothing
_recent: OrderedDict = OrderedDict()
_recent_lock = threading.Lock()


def run_worlds(worlds: dict[str, Scenario], seeds: list[int], draws=({},), keep=()) -> dict[str, list[dict]]:
    """Every world on every posterior draw × seed, common random numbers within each draw (:func:`cxsim.views.run_worlds`),
    each run cached (:func:`run_tables`), with a progress bar. The latest pages' results are kept whole (:data:`RECENT`):
    a rerun with the same settings (a click elsewhere on the page) takes them as they are. Do not change them."""
    key = (tuple((w, sc.model_dump_json()) for w, sc in worlds.items()), tuple(seeds), json.dumps(list(draws), sort_keys=True), tuple(keep))
    with _recent_lock:
        if key in _recent:
            _recent.move_to_end(key)
            return _recent[key]
    bar = st.progress(0.0, text="Simulating…")

    def on_run(k: int, total: int, world: str, seed: int) -> None:
        bar.progress(k / total, text=f"Simulating {world}, seed {seed} ({k + 1} of {total})")

    out = views.run_worlds(worlds, seeds, run=lambda sc, seed: run_tables(sc.model_dump_json(), seed), draws=draws, keep=keep, on_run=on_run)
    bar.empty()
    with _recent_lock:
        _recent[key] = out
        while len(_recent) > RECENT:
            _recent.popitem(last=False)
    return out


_ensembles: dict[int, tuple] = {}


def ensemble(runs_by_world: dict, scenario: Scenario, unc: views.PageUncertainty):
    """The page's runs as an ensemble (:func:`cxsim.views.worlds_ensemble`), kept with the runs it reads: its levels and
    differences are computed once per settings, not at every rerun."""
    key = (id(runs_by_world), unc.kind, unc.source, len(unc.draws), unc.seeds)
    with _recent_lock:
        held = _ensembles.get(key)
        if held is not None and held[0] is runs_by_world:
            return held[1]
    ens = views.worlds_ensemble(runs_by_world, scenario, unc)
    with _recent_lock:
        live = {id(v) for v in _recent.values()}
        for k in [k for k in _ensembles if k[0] not in live]:
            del _ensembles[k]
        _ensembles[key] = (runs_by_world, ens)
    return ens


_made: OrderedDict = OrderedDict()


def made_once(owner, name: tuple, make):
    """``make()`` once per ``owner`` (the page's ensemble) and ``name``, kept with it: a rerun with the same settings
    shows the same object again (a chart built once per settings, not at every click). The latest few are kept."""
    key = (id(owner), name)
    with _recent_lock:
        held = _made.get(key)
        if held is not None and held[0] is owner:
            _made.move_to_end(key)
            return held[1]
    made = make()
    with _recent_lock:
        _made[key] = (owner, made)
        while len(_made) > 4 * RECENT:
            _made.popitem(last=False)
    return made


@st.cache_data(max_entries=256, show_spinner=False)
def pick(scenario_json: str, seed: int, which: str, draw: int) -> int | None:
    """A random customer by outcome (draw ``draw`` of a fixed sequence, tracked customers first)."""
    return story.pick_customer(model(scenario_json, seed), which, seed=draw)


@st.cache_data(max_entries=256, show_spinner=False)
def customer(scenario_json: str, seed: int, index: int) -> dict:
    """One customer: story in plain words, ledger sentence, stage, reason and touchpoints."""
    m = model(scenario_json, seed)
    agent = m.customer(index)
    return {
        "index": index,
        "story": agent.story(),
        "ledger": story.ledger_sentence(m, index),
        "stage": agent.stage,
        "reason": agent.reason,
        "segment": agent.segment,
        "journey": views.journey_table(m.events_frame(), index),
        "tracked": bool(m.tracked[index]),
    }

