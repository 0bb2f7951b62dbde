"""The sidebar: widgets built from the scenario's parameter declarations, turned into overrides.

Every scenario-derived widget has the key ``"<scenario>:<dotted path>"`` and its
value becomes the override ``{path: value}``; nothing here knows what a
parameter means, so a new parameter or intervention needs no code here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import streamlit as st

from cxsim import CxError, Scenario, list_scenarios, load_scenario, views
from cxsim.cli import parse_value
from cxsim.engine.scenario import Population
from cxsim.experiments import seeds_for
from cxsim.state.params import field_info

AS_WRITTEN = "as written"
REMEMBERED = "intervention_settings"
REPLICATES = {"default": 3, "lo": 1, "hi": 30}
DRAWS = {"default": 20, "lo": 3, "hi": 100}  # posterior draws each world runs on (× the runs per world)
KIND_OPTIONS = {"posterior": "parameters + seeds (posterior)", "seeds": "seeds only"}  # the page's 'uncertainty' (cxsim.uncertainty)
DEFAULT_SCENARIO = "aravind"
WHATIFS = "whatifs"  # session state: scenario name → the what-ifs kept for comparison
MAX_WHATIFS = 4  # what-ifs compared with the baseline, the one being edited included
EDITED = "intervention"  # default name of the what-if being edited
DEFAULTS = "widget_defaults"  # session state: widget key → the value it starts from (what a link leaves out)


@dataclass(frozen=True)
class Settings:
    """What the sidebar asks for: two worlds to compare on the same seeds."""

    name: str
    scenario: Scenario  # the scenario file as loaded
    start: str  # the variant the intervention world starts from
    baseline: Scenario  # every intervention off
    alternative: Scenario  # the interventions switched on in the sidebar
    seeds: list[int]
    trainer: bool
    worlds: dict[str, Scenario] = field(default_factory=dict)  # baseline first, kept what-ifs, then the edited one
    edited: str = EDITED  # the name of the what-if the sidebar edits (``alternative``)
    classroom: bool = False  # the trainer's mode for a room: trainees predict from their own browsers
    uncertainty: views.PageUncertainty | None = None  # which uncertainty the numbers carry: posterior draws × seeds, or seeds only
    keep: tuple[str, ...] = ()  # paths the user set (overrides, own edits): posterior draws leave them as set

    @property
    def draws(self) -> tuple[dict, ...]:
        """The parameter sets every world runs on (posterior draws; one empty set for seeds only)."""
        return self.uncertainty.draws if self.uncertainty is not None else ({},)


def key(name: str, path: str) -> str:
    """Widget key of parameter ``path`` of scenario ``name``."""
    return f"{name}:{path}"


def _typed(spec: views.WidgetSpec, value):
    """A value as the widget of ``spec`` holds it."""
    if spec.kind == "toggle":
        return bool(value)
    if spec.kind == "int":
        return int(value)
    if spec.kind in ("slider", "number"):
        return float(value)
    if spec.kind == "multiselect":
        return list(value)
    return value


def widget(spec: views.WidgetSpec, k: str, container=st, **kw):
    """One widget from its spec; returns its value.

    The value lives in session state (set here from the spec the first time, or by
    :func:`_start_from` for a new variant), never in a widget default: what the
    widget shows is what is computed, also after a callback changed it.
    """
    if k not in st.session_state:
        st.session_state[k] = _typed(spec, spec.value)
    st.session_state.setdefault(DEFAULTS, {})[k] = _typed(spec, spec.value)
    kw = dict(key=k, help=spec.help, **kw)
    if spec.kind == "toggle":
        return container.toggle(spec.label, **kw)
    if spec.kind == "slider":
        return container.slider(spec.label, float(spec.lo), float(spec.hi), step=spec.step, **kw)
    if spec.kind == "int":
        return container.number_input(spec.label, spec.lo, spec.hi, step=int(spec.step), **kw)
    if spec.kind == "number":
        return container.number_input(spec.label, float(spec.lo), float(spec.hi), step=spec.step, **kw)
    if spec.kind == "choice":
        return container.selectbox(spec.label, spec.options, **kw)
    if spec.kind == "multiselect":
        return container.multiselect(spec.label, spec.options, **kw)
    raise ValueError(f"unknown widget kind {spec.kind!r}")


def _remembered(name: str) -> dict:
    """Intervention settings changed by the user, kept while other interventions' settings are shown."""
    return st.session_state.setdefault(REMEMBERED, {}).setdefault(name, {})


def _remember(name: str, path: str) -> None:
    _remembered(name)[path] = st.session_state[key(name, path)]


def remember_setting(name: str, path: str, value) -> None:
    """Keep an intervention setting (from a link) as if the user had changed it."""
    _remembered(name)[path] = value


def remembered_settings(name: str) -> dict:
    """Intervention settings the user changed (kept while other interventions' settings are shown)."""
    return dict(_remembered(name))


EDITS = "scenario_edits"  # session state: scenario name → the edits of 'Your own scenario' the page runs


def applied_edits(name: str) -> dict:
    """Changes to built-in scenario ``name`` made in 'Your own scenario' and run (dotted path → value)."""
    return st.session_state.setdefault(EDITS, {}).setdefault(name, {})


def scenario_of(name: str) -> Scenario:
    """Built-in scenario ``name`` with the page's own edits, if any: what every world starts from."""
    sc = load_scenario(name)
    edits = applied_edits(name)
    return sc.with_overrides(edits) if edits else sc


def reset_interventions(name: str) -> None:
    """Every intervention widget back to the starting variant's value (of the scenario as edited)."""
    if key(name, "start") in st.session_state:
        _start_from(name)


def starting_point(sc: Scenario, start: str) -> Scenario:
    """The scenario a 'Start from' choice describes."""
    return sc if start == AS_WRITTEN else sc.variant(start)


def _start_from(name: str) -> None:
    """A new starting variant: every intervention widget takes that variant's value.

    The values are written into session state (not deleted): a deleted key would
    leave the browser showing the old switches while the new ones are computed.
    """
    start = starting_point(scenario_of(name), st.session_state[key(name, "start")])
    for iv_name in start.interventions:
        for spec in views.intervention_specs(start, iv_name):
            st.session_state[key(name, spec.path)] = _typed(spec, spec.value)
    _remembered(name).clear()


def pick_scenario() -> tuple[str, Scenario]:
    names = list_scenarios()
    index = names.index(DEFAULT_SCENARIO) if DEFAULT_SCENARIO in names else 0
    name = st.sidebar.selectbox("Scenario", names, index=index, key="scenario", help="built-in scenarios (cxsim/scenarios/*.toml)")
    sc = scenario_of(name)
    edits = applied_edits(name)
    if edits:
        st.sidebar.caption(f"**your own**: {len(edits)} change(s) (view 'Your own scenario')")
    return name, sc


def pick_start(name: str, sc: Scenario) -> tuple[str, Scenario]:
    options = [AS_WRITTEN, *sc.variants]
    default = 1 if sc.variants and not sc.enabled_interventions else 0
    start = st.sidebar.selectbox(
        "Start from", options, index=default, key=key(name, "start"), on_change=_start_from, args=(name,),
        help="a named variant of the scenario sets the interventions below; 'as written' is the scenario file",
    )
    if start != AS_WRITTEN:
        st.sidebar.caption(sc.variants[start].description)
    return start, starting_point(sc, start)


def intervention_panel(name: str, start: Scenario) -> dict:
    """A switch per intervention; the settings of one at a time: the intervention world's overrides."""
    st.sidebar.subheader("Interventions")
    labels = {n: views.intervention_label(start, n) for n in start.interventions}
    values = {}
    for iv_name in start.interventions:
        switch = views.intervention_specs(start, iv_name)[0]
        shown = replace(switch, label=labels[iv_name], help=views.intervention_help(start, iv_name))
        values[switch.path] = widget(shown, key(name, switch.path), st.sidebar)
    if not labels:
        return values
    first_on = next((k for k, n in enumerate(labels) if values[f"interventions.{n}.enabled"]), 0)
    with st.sidebar.expander("⚙ Intervention settings", expanded=False):
        shown = st.selectbox("settings of", list(labels), index=first_on, format_func=labels.get, key=key(name, "settings_of"))
        remembered = _remembered(name)
        for spec in views.intervention_specs(start, shown)[1:]:
            k = key(name, spec.path)
            if spec.path in remembered and k not in st.session_state:
                st.session_state[k] = remembered[spec.path]
            values[spec.path] = widget(spec, k, st, on_change=_remember, args=(name, spec.path))
    return {**remembered, **values}


def size_panel(name: str, sc: Scenario) -> tuple[dict, list[int]]:
    """Population, horizon, seed and replicates."""
    st.sidebar.subheader("Run")
    changes = {}
    for path, cls, field in (("population.customers", Population, "customers"), ("steps", Scenario, "steps"), ("seed", Scenario, "seed")):
        value = sc.population.customers if field == "customers" else getattr(sc, field)
        spec = views.widget_spec(path, cls, field, value, sc)
        changes[path] = widget(spec, key(name, path), st.sidebar)
    n = st.sidebar.slider(
        "runs per world", REPLICATES["lo"], REPLICATES["hi"], REPLICATES["default"], key="replicates",
        help="replicates: each world is simulated this many times, on random draws seed, seed+1, … (the same for every world); "
             "more runs give narrower 95% intervals and take longer",
    )
    return changes, seeds_for(n, changes["seed"])


def uncertainty_panel(name: str, runs: int) -> views.PageUncertainty:
    """Which uncertainty the numbers carry: the posterior's parameter sets × seeds, or seeds only; and how many draws."""
    kind = st.sidebar.radio(
        "uncertainty shown", list(KIND_OPTIONS), format_func=KIND_OPTIONS.get, key="uncertainty", horizontal=True,
        help="parameters + seeds: every world runs on parameter sets drawn from the scenario's posterior (what the evidence "
             "leaves uncertain), each on the runs per world; seeds only: the scenario's own parameters, chance alone")
    draws = DRAWS["default"]
    if kind == "posterior":
        draws = st.sidebar.slider("parameter sets from the posterior", DRAWS["lo"], DRAWS["hi"], DRAWS["default"], key="draws",
                                  help="posterior draws each world runs on; more give steadier intervals and take longer")
    unc = views.page_uncertainty(name, kind, draws, runs)
    if kind == "posterior" and unc.kind != "posterior":
        st.sidebar.caption(f"Seeds only: {name} has no posterior, so parameter uncertainty is not included.")
    return unc


def _apply_param(name: str, path: str) -> None:
    """Write the picked parameter's value into the overrides box (one line per path)."""
    value = st.session_state[key(name, "pick:" + path)]
    box = key(name, "overrides")
    lines = [ln for ln in st.session_state.get(box, "").splitlines() if ln.split("=")[0].strip() != path]
    st.session_state[box] = "\n".join(lines + [f"{path} = {json.dumps(value)}"])


def overrides_panel(name: str, sc: Scenario) -> dict:
    """Change any other parameter: pick it (widget from its declaration) or type ``path = value``."""
    with st.sidebar.expander("Any other parameter"):
        params = {p[0]: p for p in views.parameter_paths(sc)}
        path = st.selectbox(
            "parameter", list(params), key=key(name, "pick"),
            format_func=lambda p: f"{p} – {field_info(params[p][1], params[p][2])['doc']}".rstrip(" –"),
        )
        spec = views.widget_spec(*params[path], sc)
        if spec is not None:
            widget(spec, key(name, "pick:" + path))
            st.button("Apply", key=key(name, "apply"), on_click=_apply_param, args=(name, path))
        text = st.text_area(
            "overrides (path = value, one a line)", key=key(name, "overrides"), height=100,
            help="applied to both worlds, e.g. decision.w_fear = 1.5 or population.segments.farmers.share = 0.5",
        )
    return parse_overrides(text)


def parse_overrides(text: str) -> dict:
    """'path = value' lines (blank lines and # comments skipped) → overrides; values read as JSON."""
    out = {}
    for line in (ln.strip() for ln in text.splitlines()):
        if line and not line.startswith("#"):
            if "=" not in line:
                raise CxError(f"override {line!r}: expected path = value, e.g. decision.w_fear = 1.5")
            path, value = line.split("=", 1)
            out[path.strip()] = parse_value(value.strip())
    return out


def kept_whatifs(name: str) -> list[dict]:
    """What-ifs kept for scenario ``name``: each ``{"name", "start", "values"}`` (values: intervention overrides)."""
    return st.session_state.setdefault(WHATIFS, {}).setdefault(name, [])


def unique_name(wanted: str, taken: list[str]) -> str:
    """``wanted`` (stripped, or 'what-if'), made different from 'baseline' and every name in ``taken``."""
    base = " ".join(str(wanted).split()) or "what-if"
    label, k = base, 2
    while label in taken or label == "baseline":
        label, k = f"{base} ({k})", k + 1
    return label


def _keep(name: str, start: str, values: dict) -> None:
    kept = kept_whatifs(name)
    taken = [w["name"] for w in kept]
    kept.append({"name": unique_name(st.session_state.get(key(name, "world_name"), EDITED), taken), "start": start, "values": dict(values)})
    st.session_state[key(name, "world_name")] = unique_name(f"what-if {len(kept) + 1}", [w["name"] for w in kept])


def _drop(name: str, k: int) -> None:
    kept = kept_whatifs(name)
    if 0 <= k < len(kept):
        del kept[k]


def whatif_scenario(sc: Scenario, start: str, values: dict, shared: dict) -> Scenario:
    """A what-if: its starting variant, its intervention settings, then the overrides every world shares."""
    return starting_point(sc, start).with_overrides({**values, **shared})


def worlds_panel(name: str, sc: Scenario, start: str, values: dict) -> tuple[str, list[dict]]:
    """Name the what-if being edited, keep it beside others (up to :data:`MAX_WHATIFS` with it), drop kept ones."""
    st.sidebar.subheader("Worlds to compare")
    kept = kept_whatifs(name)
    if key(name, "world_name") not in st.session_state:
        st.session_state[key(name, "world_name")] = unique_name(EDITED, [w["name"] for w in kept])
    edited = st.sidebar.text_input(
        "name of the what-if being edited", key=key(name, "world_name"), max_chars=40,
        help="the switches above set this what-if; 'Keep' freezes it so you can set up another one beside it",
    )
    full = len(kept) >= MAX_WHATIFS - 1
    st.sidebar.button(
        "Keep it and set up another", key=key(name, "keep"), icon=":material/add:", on_click=_keep, args=(name, start, values), disabled=full,
        help=f"compare up to {MAX_WHATIFS} what-ifs with the baseline, all on the same seeds" + (" (full)" if full else ""),
    )
    for k, w in enumerate(kept):
        left, right = st.sidebar.columns([4, 1])
        ivs = starting_point(sc, w["start"]).with_overrides(w["values"]).enabled_interventions
        other = sum(1 for p in w["values"] if not p.startswith("interventions."))
        left.caption(f"**{w['name']}**: " + (", ".join(views.intervention_label(sc, n) for n in ivs) or "no intervention")
                     + (f" + {other} other change(s)" if other else ""))
        right.button("✕", key=key(name, f"drop_{k}"), on_click=_drop, args=(name, k), help=f"stop comparing {w['name']}")
    return unique_name(edited, [w["name"] for w in kept]), kept


def render() -> Settings:
    """Draw the sidebar; returns the settings, or raises CxError for a bad one."""
    name, sc = pick_scenario()
    start_name, start = pick_start(name, sc)
    iv_values = intervention_panel(name, start)
    edited, kept = worlds_panel(name, sc, start_name, iv_values)
    size, seeds = size_panel(name, sc)
    unc = uncertainty_panel(name, len(seeds))
    extra = overrides_panel(name, sc)
    st.sidebar.subheader("Teach with it")
    trainer = st.sidebar.toggle("Trainer's mode", key="trainer", help="tell the scenario's story step by step, predicting before revealing")
    classroom = st.sidebar.toggle("Classroom", key="classroom", help="the trainer's mode for a room: trainees join with a code "
                                  "from their own browsers and predict each step; you reveal the result and see their spread")
    shared = {**size, **extra}
    baseline = sc.with_overrides(shared).with_interventions([], only=True)
    alternative = start.with_overrides({**iv_values, **shared})
    worlds = {"baseline": baseline, **{w["name"]: whatif_scenario(sc, w["start"], w["values"], shared) for w in kept}, edited: alternative}
    keep = tuple(dict.fromkeys([*extra, *applied_edits(name)]))
    return Settings(name, sc, start_name, baseline, alternative, seeds, trainer, worlds, edited, classroom, unc, keep)


def confirm_work(s: Settings) -> bool:
    """Above the explorer's bound, ask in the sidebar before computing (every world × replicates × customers × steps)."""
    from cxsim.workload import needs_confirmation

    work = page_workload(s)
    if not needs_confirmation(work):
        return True
    st.sidebar.warning(f"This page asks for {work.describe()}.")
    if st.sidebar.checkbox("Compute it anyway", key="allow_large", help="pages above 1.5e9 customer-steps wait for this (cxsim.workload)"):
        return True
    st.info(f"Not computed: this page asks for {work.describe()}. Tick **Compute it anyway** in the sidebar, or choose fewer customers, steps or replicates.")
    return False


def page_workload(s: Settings):
    """What the page computes: every world it compares (the baseline, kept what-ifs, the edited one) on every posterior
    draw × seed."""
    from cxsim.workload import Workload

    return Workload(len(s.worlds) * len(s.draws) * len(s.seeds), s.baseline.population.customers, s.baseline.steps)


def safe_render() -> Settings | None:
    """The sidebar, with a bad setting shown as one line in the page."""
    try:
        return render()
    except CxError as err:
        st.error(f"**Bad setting** – {err}")
        return None
