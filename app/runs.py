"""Cached simulation runs: keyed on the scenario as JSON and the seed (plain, hashable inputs).

Each (scenario, seed) is run once per server process; moving a widget back to an
earlier setting is a cache hit. Only small tables are cached as data; the model
itself (needed to tell one customer's story) is kept for the few latest runs.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

import cxsim
from cxsim import story, views
from cxsim.scenario import Scenario


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


@st.cache_resource(show_spinner="Preparing the simulator for this scenario: loading or compiling its kernels (once per server)…")
def warm_up(name: str) -> float:
    """Run scenario ``name`` small once per server process – with no intervention and with the
    variant the page starts from – so that the kernels the first page needs are compiled (or
    loaded from numba's cache) under a spinner that says so, before the page's own runs.
    Returns the seconds it took."""
    started = time.perf_counter()
    sc = cxsim.load_scenario(name)
    worlds = [sc.variant("baseline"), *(sc.variant(v) for v in list(sc.variants)[:1])]
    for world in worlds:
        cxsim.run(world.with_overrides({"population.customers": 200}), 0)
    return time.perf_counter() - started


def run_worlds(worlds: dict[str, Scenario], seeds: list[int]) -> dict[str, list[dict]]:
    """Run every world on the same seeds (common random numbers), with a progress bar."""
    jobs = [(w, sc.model_dump_json(), s) for w, sc in worlds.items() for s in seeds]
    bar = st.progress(0.0, text="Simulating…")
    out: dict[str, list[dict]] = {w: [] for w in worlds}
    for k, (world, sj, seed) in enumerate(jobs):
        bar.progress(k / len(jobs), text=f"Simulating {world}, seed {seed} ({k + 1} of {len(jobs)})")
        out[world].append(run_tables(sj, seed))
    bar.empty()
    return out


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


def tracked_customers(scenario_json: str, seed: int) -> pd.Index:
    """Customers whose touchpoints were recorded in this run."""
    m = model(scenario_json, seed)
    return pd.Index(m.tracked.nonzero()[0])
