"""The page's settings in its URL: a link reproduces the view.

Each run writes the settings that differ from their defaults into the query string
(``?scenario=aravind&start=as+written&interventions.free_transport.enabled=true&view=…``);
a new session opened on such a link reads them back into session state before any
widget is drawn. Values are JSON; a setting the page does not know, or a value outside
its declared range, is not applied and is named in one warning line (never a traceback).
"""

from __future__ import annotations

import json

import sidebar
import streamlit as st

from cxsim import CxError, list_scenarios, load_scenario

RESTORED = "url_restored"  # session state: the link has been read (once per session)
DEFAULTS = sidebar.DEFAULTS  # session state: widget key → the value it starts from (see sidebar.widget)
PAGE_KEYS = {"view": "view", "replicates": "replicates", "trainer": "trainer"}  # query name → session key (not per scenario)
SCENARIO_KEYS = {"start": "start", "name": "world_name", "overrides": "overrides"}  # query name → path of sidebar.key
WHATIFS = "whatifs"
MAX_LENGTH = 8000  # characters of query string read from a link


def restore() -> list[str]:
    """Once per session: the link's settings into session state. Returns what was not applied."""
    if st.session_state.get(RESTORED):
        return []
    st.session_state[RESTORED] = True
    params = {k: st.query_params[k] for k in st.query_params}
    if not params or sum(len(k) + len(v) for k, v in params.items()) > MAX_LENGTH:
        return ["the link is too long"] if params else []
    name = params.pop("scenario", sidebar.DEFAULT_SCENARIO)
    if name not in list_scenarios():
        return [f"scenario={name!r} (choose from {', '.join(list_scenarios())})"]
    st.session_state["scenario"] = name
    sc = load_scenario(name)
    skipped = []
    for query, value in params.items():
        try:
            _apply(name, sc, query, value)
        except (CxError, ValueError, TypeError, KeyError) as err:
            skipped.append(f"{query}={value!r} ({err})" if str(err) else f"{query}={value!r}")
    return skipped


def _apply(name: str, sc, query: str, value: str) -> None:
    if query in PAGE_KEYS:
        st.session_state[PAGE_KEYS[query]] = _page_value(query, value)
    elif query == "start":
        if value != sidebar.AS_WRITTEN and value not in sc.variants:
            raise ValueError(f"no variant {value!r}")
        st.session_state[sidebar.key(name, "start")] = value
    elif query in ("name", "overrides"):
        st.session_state[sidebar.key(name, SCENARIO_KEYS[query])] = str(value)[:2000]
    elif query == WHATIFS:
        sidebar.kept_whatifs(name)[:] = _whatifs(sc, json.loads(value))
    else:  # a parameter path of the scenario: checked against its declaration
        v = json.loads(value)
        sc.with_overrides({query: v})  # raises CxError naming the range when it is out of it
        st.session_state[sidebar.key(name, query)] = v
        if query.startswith("interventions.") and not query.endswith(".enabled"):
            sidebar.remember_setting(name, query, v)  # computed even while another intervention's settings are shown


def _page_value(query: str, value: str):
    if query == "replicates":
        n = int(value)
        if not sidebar.REPLICATES["lo"] <= n <= sidebar.REPLICATES["hi"]:
            raise ValueError(f"allowed {sidebar.REPLICATES['lo']}–{sidebar.REPLICATES['hi']}")
        return n
    if query == "trainer":
        return value == "true"
    return value


def _whatifs(sc, items) -> list[dict]:
    """Kept what-ifs from a link, each checked as the sidebar would build it."""
    if not isinstance(items, list) or len(items) > sidebar.MAX_WHATIFS - 1:
        raise ValueError(f"at most {sidebar.MAX_WHATIFS - 1} kept what-ifs")
    out = []
    for item in items:
        start, values = item.get("start", sidebar.AS_WRITTEN), dict(item.get("values", {}))
        if not all(k.startswith("interventions.") for k in values):
            raise ValueError("a what-if sets interventions only")
        sidebar.whatif_scenario(sc, start, values, {})  # validates
        out.append({"name": sidebar.unique_name(item.get("name", ""), [w["name"] for w in out]), "start": start, "values": values})
    return out


def save(s: sidebar.Settings) -> None:
    """The current settings into the URL (only those that differ from where they start)."""
    params = {"scenario": s.name}
    prefix = sidebar.key(s.name, "")
    defaults = st.session_state.get(DEFAULTS, {})
    for k, default in defaults.items():
        if str(k).startswith(prefix) and k in st.session_state and st.session_state[k] != default and ":pick:" not in k:
            params[k[len(prefix):]] = json.dumps(st.session_state[k])
    for path, value in sidebar.remembered_settings(s.name).items():  # settings of interventions not shown now
        params.setdefault(path, json.dumps(value))
    for query, path in SCENARIO_KEYS.items():
        value = st.session_state.get(sidebar.key(s.name, path))
        if value not in (None, "") and not (query == "name" and value == sidebar.EDITED):
            params[query] = str(value)
    kept = sidebar.kept_whatifs(s.name)
    if kept:
        params[WHATIFS] = json.dumps(kept, separators=(",", ":"))
    for query, k in PAGE_KEYS.items():
        value = st.session_state.get(k)
        if value is not None:
            params[query] = json.dumps(value) if isinstance(value, bool) else str(value)
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)
