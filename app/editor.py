"""Your own scenario in the page: start from the sidebar's built-in scenario, edit it in forms
generated from the schema, run it in every world, download it as a scenario file.

Every widget comes from a parameter's declaration (:func:`cxsim.views.parameter_paths`,
:func:`cxsim.views.intervention_specs`, :func:`cxsim.views.widget_spec`): its range and unit
in the label and help, the range enforced by the widget. The draft is checked as a whole on
every change (shares add up to 1, ties below village size, …): an error is one line and
'Run it' waits. 'Run it' makes the draft the scenario every world of the page starts from
(:func:`sidebar.applied_edits`); the download is ``extends = "<built-in>"`` plus what changes.
"""

from __future__ import annotations

import sidebar
import streamlit as st

from cxsim import CxError, load_scenario, scenario_file, views

SECTIONS = {  # tab → path prefixes of the parameters it shows
    "Segments": ("population.",),
    "Costs": ("costs.",),
    "Touchpoints": ("touchpoints.",),
    "Interventions": ("interventions.",),
    "Journey": ("journey.",),
    "Decision": ("decision.",),
    "Everything else": ("emotions.", "loyalty.", "relationship.", "staff.", "referral.", "network.", "value."),
}
COLUMNS = 3


def edit_key(name: str, path: str) -> str:
    return f"edit:{name}:{path}"


def _groups(specs: list[views.WidgetSpec], prefix: str) -> dict[str, list[views.WidgetSpec]]:
    """Widgets grouped by the named entry they belong to (a segment, a touchpoint, an intervention), else one group."""
    named = prefix in ("population.", "touchpoints.", "interventions.")
    out: dict[str, list[views.WidgetSpec]] = {}
    for spec in specs:
        parts = spec.path.split(".")
        if named and len(parts) >= 3:
            group = parts[2] if parts[0] == "population" and len(parts) >= 4 else parts[1]
        else:
            group = ""
        out.setdefault(group, []).append(spec)
    return out


def specs_for(base, prefixes: tuple[str, ...]) -> list[views.WidgetSpec]:
    """The widgets of one tab, from the declarations (interventions' own parameters, switch first)."""
    specs: list[views.WidgetSpec] = []
    if "interventions." in prefixes:
        for iv in base.interventions:
            specs += views.intervention_specs(base, iv)
        return specs
    for path, cls, field, value in views.parameter_paths(base):
        if path.startswith(prefixes):
            spec = views.widget_spec(path, cls, field, value, base)
            if spec is not None:
                specs.append(spec)
    return specs


def _form(name: str, specs: list[views.WidgetSpec], prefix: str) -> dict:
    applied = sidebar.applied_edits(name)  # a draft that was run (or came with a link) shows as it runs
    for spec in specs:
        if spec.path in applied and edit_key(name, spec.path) not in st.session_state:
            st.session_state[edit_key(name, spec.path)] = applied[spec.path]
    values = {}
    for group, items in _groups(specs, prefix).items():
        if group:
            st.markdown(f"**{group}**")
        cols = st.columns(COLUMNS)
        for k, spec in enumerate(items):
            values[spec.path] = sidebar.widget(spec, edit_key(name, spec.path), cols[k % COLUMNS])
    return values


def draft_changes(base, values: dict) -> dict:
    """The values that differ from the built-in scenario."""
    flat = base.model_dump(mode="json")

    def current(path: str):
        node = flat
        for part in path.split("."):
            node = node[part]
        return node

    return {p: v for p, v in values.items() if v != current(p)}


def _apply(name: str, draft: dict) -> None:
    sidebar.applied_edits(name).clear()
    sidebar.applied_edits(name).update(draft)
    sidebar.reset_interventions(name)


def _discard(name: str) -> None:
    sidebar.applied_edits(name).clear()
    for k in [k for k in st.session_state if str(k).startswith(edit_key(name, ""))]:
        del st.session_state[k]
    sidebar.reset_interventions(name)


def view(s: sidebar.Settings, runs_by_world: dict) -> None:
    st.subheader(f"Your own scenario, starting from {s.name}")
    st.caption("Change segments, costs, touchpoints, interventions and journey settings: each widget shows its range and unit "
               "and the whole draft is checked as you change it. **Run it** makes every world of this page use your scenario "
               "(the baseline switches every intervention off; the sidebar's what-ifs start from it); **Download** saves it as a "
               "scenario file that `cxsim run` accepts unchanged.")
    base = load_scenario(s.name)
    values: dict = {}
    for tab, (title, prefixes) in zip(st.tabs(list(SECTIONS)), SECTIONS.items()):
        with tab:
            values.update(_form(s.name, specs_for(base, prefixes), prefixes[0]))
    draft = draft_changes(base, values)
    applied = sidebar.applied_edits(s.name)
    try:
        edited = base.with_overrides(draft)
    except CxError as err:
        st.error(f"**Not valid yet** – {err}")
        edited = None
    if edited is not None:
        state = "the page runs it" if draft == applied else ("not run yet: press Run it" if draft else "the built-in scenario")
        st.success(f"Valid: {len(draft)} change(s) to {s.name} · {state}")
        if draft:
            st.code("\n".join(f"{p} = {v!r}" for p, v in draft.items()), language=None)
    left, mid, right, _ = st.columns([1, 1, 1, 2])
    left.button("Run it", key="editor_run", type="primary", on_click=_apply, args=(s.name, draft),
                disabled=edited is None or draft == applied, help="every world of the page starts from this scenario")
    mid.button("Back to the built-in", key="editor_discard", on_click=_discard, args=(s.name,), disabled=not draft and not applied)
    if edited is not None:
        size = {"population.customers": s.baseline.population.customers, "steps": s.baseline.steps, "seed": s.baseline.seed}
        right.download_button(
            "Download (TOML)", lambda: _toml(edited.with_overrides(size), s.name), f"{s.name}_own.toml", "application/toml",
            key="editor_download", on_click="ignore", help=f'extends = "{s.name}" and your changes, with the page\'s run size',
        )


def _toml(sc, name: str) -> str:
    try:
        return scenario_file.to_toml(sc, name, title=f"Your own scenario, from {name}")
    except CxError as err:
        return f"# not written: {err}\n"
