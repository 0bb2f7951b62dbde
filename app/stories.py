"""Customers in their own words: the "ask the non-user" card (shared by the explorer and trainer's mode)."""

from __future__ import annotations

import runs
import streamlit as st

from cxsim.readouts.story import REASON_WORDS

NON_USERS = ("declined", "dropped", "churned")
WHERE = {"declined": "said no when offered", "dropped": "said yes, then never made it", "churned": "was served, then left"}


def _next_draw(counter: str) -> None:
    st.session_state[counter] = st.session_state.get(counter, 0) + 1


def ask_button(label: str, key: str, counter: str) -> int:
    """A button that draws another customer; returns the current draw number."""
    st.button(label, key=key, on_click=_next_draw, args=(counter,), type="primary")
    return st.session_state.get(counter, 0)


def fate(c: dict) -> str:
    reason = f" ({c['reason']})" if c["reason"] else ""
    return f"{c['stage']}{reason}"


def nonuser_words(worlds_json: dict[str, str], world: str, seed: int, which: str, draw: int) -> dict | None:
    """One random non-user of ``world``: who (``heading``), why in their own words (``quote``, markdown),
    their fate in the other worlds (``elsewhere``) and their whole story; None if there is nobody."""
    index = runs.pick(worlds_json[world], seed, which, draw)
    if index is None:
        return None
    c = runs.customer(worlds_json[world], seed, index)
    words = REASON_WORDS.get(c["reason"] or "", "")
    twins = {w: fate(runs.customer(j, seed, index)) for w, j in worlds_json.items() if w != world}
    return {
        "heading": f"Customer {index} · {c['segment']} · {WHERE.get(c['stage'], c['stage'])}",
        "quote": f"> “{c['ledger']}”" + (f"\n>\n> “I stayed away because {words}.”" if words else ""),
        "elsewhere": "; ".join(f"in {w}: **{f}**" for w, f in twins.items()),
        "story": c["story"],
    }


def nonuser_card(worlds_json: dict[str, str], world: str, seed: int, which: str, draw: int) -> dict | None:
    """One random non-user of ``world`` tells why, in plain words from their ledger; then their fate in the other world.
    Returns what it showed (:func:`nonuser_words`)."""
    said = nonuser_words(worlds_json, world, seed, which, draw)
    if said is None:
        st.info(f"Nobody {which} in the {world} world (seed {seed}).")
        return None
    st.markdown(f"##### {said['heading']}")
    st.markdown(said["quote"])
    st.caption(
        f"The same person elsewhere (same seed, common random numbers): {said['elsewhere']}. "
        "The ledger is what using the service would cost them before any intervention."
    )
    with st.expander("Their whole story"):
        st.text(said["story"])
    return said
