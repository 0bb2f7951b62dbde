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
PAGE_KEYS = {"view": "view", "replicates": "replicates", "trainer": "trainer", "uncertainty": "uncertainty", "draws": "draws"}
"""Query name → session key (not per scenario)."""
UNLESS_DEFAULT = {"uncertainty": "posterior", "draws": sidebar.DRAWS["default"]}  # written into a link only when changed
SCENARIO_KEYS = {"start": "start", "name": "world_name", "overrides": "overrides"}  # query name → path of sidebar.key
WHATIFS = "whatifs"
EDITS = "edits"
MAX_LENGTH = 8000  # characters of query string read from a link


def restore(views: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Once per session: the link's settings into session state. Returns what was not applied, one entry each,
    naming the setting, its value and what is allowed (never Python's wording).

    ``views``: the page's views (``?view=`` must be one of them)."""
    if st.session_state.get(RESTORED):
        return []
    st.session_state[RESTORED] = True
    params = {k: st.query_params[k] for k in st.query_params}
    if not params or sum(len(k) + len(v) for k, v in params.items()) > MAX_LENGTH:
        return [f"the link is too long (at most {MAX_LENGTH:,} characters of settings)"] if params else []
    name = params.pop("scenario", sidebar.DEFAULT_SCENARIO)
    if name not in list_scenarios():
        return [f"scenario={name!r} (choose from {', '.join(list_scenarios())})"]
    st.session_state["scenario"] = name
    sc = load_scenario(name)
    skipped = []
    for query, value in params.items():
        try:
            _apply(name, sc, query, value, views)
        except CxError as err:
            skipped.append(f"{query}={_shown(value)} ({err})")
        except Exception:  # noqa: BLE001 - a link is outside input: never a traceback, never Python's wording
            skipped.append(f"{query}={_shown(value)} (not a setting this page can apply)")
    return skipped


def _shown(value: str) -> str:
    text = str(value)
    return repr(text if len(text) <= 80 else text[:77] + "…")


def _json(query: str, value: str, what: str):
    """The link value read as JSON, or one line naming the setting and what it should be."""
    try:
        return json.loads(value)
    except ValueError:
        raise CxError(f"not {what}") from None


def _apply(name: str, sc, query: str, value: str, views=()) -> None:
    if query == "view":
        if views and value not in views:
            raise CxError(f"no such view; choose from {', '.join(views)}")
        st.session_state["view"] = value
    elif query in PAGE_KEYS:
        st.session_state[PAGE_KEYS[query]] = _page_value(query, value)
    elif query == "start":
        if value != sidebar.AS_WRITTEN and value not in sc.variants:
            raise CxError(f"no such variant; choose from {', '.join([sidebar.AS_WRITTEN, *sc.variants])}")
        st.session_state[sidebar.key(name, "start")] = value
    elif query == "name":
        st.session_state[sidebar.key(name, SCENARIO_KEYS[query])] = str(value)[:40]
    elif query == "overrides":
        text = str(value)[:2000]
        sc.with_overrides(sidebar.parse_overrides(text))  # checked as the sidebar would apply it: a bad line is named, not copied
        st.session_state[sidebar.key(name, SCENARIO_KEYS[query])] = text
    elif query == EDITS:  # 'Your own scenario': checked as a whole against the built-in scenario
        edits = _json(query, value, "a table of path: value, e.g. {\"costs.medicine\": 0}")
        if not isinstance(edits, dict):
            raise CxError("not a table of path: value, e.g. {\"costs.medicine\": 0}")
        sc.with_overrides(edits)
        sidebar.applied_edits(name).update(edits)
    elif query == WHATIFS:
        sidebar.kept_whatifs(name)[:] = _whatifs(sc, _json(query, value, WHATIF_FORM))
    else:  # a parameter path of the scenario: checked against its declaration
        v = _json(query, value, "a value (a number, true or false, or a quoted text)")
        sc.with_overrides({query: v})  # raises CxError naming the range when it is out of it
        st.session_state[sidebar.key(name, query)] = v
        if query.startswith("interventions.") and not query.endswith(".enabled"):
            sidebar.remember_setting(name, query, v)  # computed even while another intervention's settings are shown


WHATIF_FORM = 'a list of what-ifs, each {"name": …, "start": …, "values": {path: value}}'


def _page_value(query: str, value: str):
    if query in ("replicates", "draws"):
        bounds = sidebar.REPLICATES if query == "replicates" else sidebar.DRAWS
        lo, hi = bounds["lo"], bounds["hi"]
        try:
            n = int(value)
        except ValueError:
            raise CxError(f"must be a whole number in {lo}–{hi}") from None
        if not lo <= n <= hi:
            raise CxError(f"must be a whole number in {lo}–{hi}")
        return n
    if query == "uncertainty":
        if value not in sidebar.KIND_OPTIONS:
            raise CxError(f"must be {' or '.join(sidebar.KIND_OPTIONS)}")
        return value
    if query == "trainer":
        if value not in ("true", "false"):
            raise CxError("must be true or false")
        return value == "true"
    return value


def _whatifs(sc, items) -> list[dict]:
    """Kept what-ifs from a link, each checked as the sidebar would build it."""
    most = sidebar.MAX_WHATIFS - 1
    if not isinstance(items, list):
        raise CxError(f"not {WHATIF_FORM}")
    if len(items) > most:
        raise CxError(f"{len(items)} kept what-ifs: at most {most}")
    out = []
    for k, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("values", {}), dict) or not isinstance(item.get("name", ""), str):
            raise CxError(f"what-if {k} is {json.dumps(item)[:60]}: each must be {{\"name\": …, \"start\": …, \"values\": {{path: value}}}}")
        start, values = item.get("start", sidebar.AS_WRITTEN), dict(item.get("values", {}))
        if start != sidebar.AS_WRITTEN and start not in sc.variants:
            raise CxError(f"what-if {k}: start {start!r} is no variant; choose from {', '.join([sidebar.AS_WRITTEN, *sc.variants])}")
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
    edits = sidebar.applied_edits(s.name)
    if edits:
        params[EDITS] = json.dumps(edits, separators=(",", ":"))
    kept = sidebar.kept_whatifs(s.name)
    if kept:
        params[WHATIFS] = json.dumps(kept, separators=(",", ":"))
    for query, k in PAGE_KEYS.items():
        value = st.session_state.get(k)
        if value is not None and not (query in UNLESS_DEFAULT and value == UNLESS_DEFAULT[query]):
            params[query] = json.dumps(value) if isinstance(value, bool) else str(value)
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)
