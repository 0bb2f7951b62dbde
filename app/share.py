"""Save and share: a what-if downloads as a scenario file and a scenario file uploads back as a kept what-if.

The file is ``extends = "<built-in>"`` plus what differs (:func:`cxsim.scenario_file.to_toml`),
so ``cxsim run FILE`` reproduces the world. An upload is read from memory
(:func:`cxsim.scenario_file.read_shared`: a size bound, strict validation, ``extends`` a built-in
name only); its run size becomes the page's (so its baseline is computed on the same terms) and
its other changes a kept what-if. A bad file is one line in the sidebar; the page keeps working.
"""

from __future__ import annotations

import re

import sidebar
import streamlit as st

from cxsim import CxError, load_scenario, scenario_file

UPLOAD = "whatif_upload"
MESSAGE = "whatif_upload_message"  # session state: (kind, text) of the latest upload
SIZE_PATHS = ("population.customers", "steps", "seed")  # the run size: the page's, shared by every world


def file_name(scenario: str, world: str) -> str:
    return f"{scenario}_{re.sub(r'[^A-Za-z0-9_-]+', '_', world).strip('_') or 'what-if'}.toml"


def whatif_toml(s: sidebar.Settings, world: str) -> str:
    """The what-if ``world`` as a scenario file (made on click)."""
    try:
        return scenario_file.to_toml(s.worlds[world], s.name, title=f"What-if {world!r} of {s.scenario.title or s.name}")
    except CxError as err:  # never expected: to_toml reads its text back before handing it out
        return f"# not written: {err}\n"


def panel(s: sidebar.Settings) -> None:
    """In the sidebar: download a what-if, upload one."""
    with st.sidebar.expander("💾 Save or load a what-if", expanded=bool(st.session_state.get(MESSAGE))):
        whatifs = [w for w in s.worlds if w != "baseline"]
        if st.session_state.get("share_which") not in whatifs:
            st.session_state["share_which"] = s.edited
        world = st.selectbox("what-if", whatifs, key="share_which")
        st.download_button(
            "Download it as a scenario file", lambda: whatif_toml(s, world), file_name(s.name, world), "application/toml",
            key="share_download", on_click="ignore", icon=":material/download:",
            help=f"a TOML file: extends = \"{s.name}\" and what this what-if changes (run size included); "
                 "`cxsim run FILE` reproduces it, and it loads back here",
        )
        st.file_uploader(
            "Load a what-if (scenario file, .toml)", type=["toml"], key=UPLOAD, on_change=_load, args=(s.name,), max_upload_size=1,
            help=f"a scenario file that extends a built-in scenario (or is complete), at most {scenario_file.MAX_SHARED_BYTES:,} bytes; "
                 "it becomes a kept what-if and its run size the page's",
        )
        kind, text = st.session_state.get(MESSAGE) or ("", "")
        if kind == "error":
            st.error(text)
        elif kind:
            st.success(text)


def _load(page_scenario: str) -> None:
    """The uploaded file into a kept what-if (a callback: before any widget of the next run is drawn)."""
    upload = st.session_state.get(UPLOAD)
    if upload is None:
        st.session_state[MESSAGE] = None
        return
    try:
        st.session_state[MESSAGE] = ("success", _keep_uploaded(upload.getvalue(), upload.name, page_scenario))
    except CxError as err:
        st.session_state[MESSAGE] = ("error", f"**Not loaded** – {err}")


def _keep_uploaded(data: bytes, filename: str, page_scenario: str) -> str:
    uploaded = scenario_file.read_shared(data, filename)
    name = scenario_file.extends_of(data) or page_scenario
    kept = sidebar.kept_whatifs(name)
    if len(kept) >= sidebar.MAX_WHATIFS - 1:
        raise CxError(f"{filename}: {len(kept)} what-ifs are kept already for {name}: drop one (✕) before loading another")
    values = scenario_file.override_paths(load_scenario(name), uploaded)
    for path in SIZE_PATHS:  # the run size is the page's: every world, the baseline included, gets the file's
        values.pop(path, None)
        st.session_state[sidebar.key(name, path)] = _size(uploaded, path)
    st.session_state["scenario"] = name
    world = sidebar.unique_name(scenario_file.shared_name(filename), [w["name"] for w in kept])
    kept.append({"name": world, "start": sidebar.AS_WRITTEN, "values": values})
    return (f"Loaded **{world}** ({len(values)} change(s) to {name}); run size from the file: "
            f"{uploaded.population.customers:,} customers, {uploaded.steps} {uploaded.step_unit}s, seed {uploaded.seed}")


def _size(sc, path: str):
    return sc.population.customers if path == "population.customers" else getattr(sc, path)
