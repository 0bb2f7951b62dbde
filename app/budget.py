"""The tab 'Best plan for a budget': search the scenario's intervention mix (:mod:`cxsim.optimisation`) at the page's size.

Levers are the scenario's interventions (each on or off, set as the scenario writes them);
objectives are picked here, with intervention cost always minimised beside them, so that one
search maps the frontier of objective against cost and the budget slider only re-reads it
(:meth:`Optimisation.recommend`, no runs). Each search lives in a cache folder under the temp
dir keyed by its settings (a repeated click re-reports from ``study.db``); a stopped search keeps
its finished trials and continues from them. 'Load this plan' sets the sidebar's switches of the
intervention world (the supported path: the sidebar's own widget keys), nothing is recomputed here.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import jobs
import pandas as pd
import sidebar
import streamlit as st

from cxsim import plot, views
from cxsim.optimisation import Optimisation, optimise
from cxsim.readouts.metrics import METRIC_BY_NAME
from cxsim.studies import finished_trials

OBJECTIVES = ("acceptance_rate", "nps", "referrals", "value_delivered", "retention")
TRIALS = {"lo": 2, "hi": 200, "default": 40}
CACHE_ENV = "CXSIM_BUDGET_CACHE"  # the cache folder's parent (default: <temp dir>/cxsim-budget)
STOP = "budget_stop"  # session state: the user asked to stop the running search
RESULT = "budget_result"  # session state: the settings whose search finished (shown again without a click)


def _label(name: str) -> str:
    return METRIC_BY_NAME[name].label if name in METRIC_BY_NAME else name


def search_file(s: sidebar.Settings, objectives: list[str], trials: int) -> dict:
    """The optimisation file (as a mapping) for the page's scenario, size and seeds."""
    return {
        "title": f"{s.name}: best plan for a budget (explorer)",
        "seed": s.seeds[0], "seeds": max(2, len(s.seeds)), "fresh_seeds": 2, "top": 2, "trials": trials,
        "population": 10, "startup_trials": 10,  # fixed: a study continued with more trials is the same study
        "levers": {name: {} for name in s.baseline.interventions},
        "objectives": {**{o: "maximise" for o in objectives}, "intervention_cost": "minimise"},
    }


def cache_folder(s: sidebar.Settings, mapping: dict) -> Path:
    """One folder per (world searched, settings but the number of trials): more trials continue the same study."""
    fixed = {**{k: v for k, v in mapping.items() if k != "trials"}, "uncertainty": _kind(s)}
    return jobs.cache_folder(CACHE_ENV, "cxsim-budget", s.baseline, fixed, s.name)


def _kind(s: sidebar.Settings) -> str:
    """The kind of uncertainty the page shows (the search follows it: plans over the posterior's draws, or seeds only)."""
    return s.uncertainty.kind if s.uncertainty is not None else "seeds"


def run_search(s: sidebar.Settings, mapping: dict, out: Path) -> Optimisation | None:
    """The search with a progress bar; the Stop button ends it after the running trial (finished ones are kept)."""
    return jobs.run_stoppable(
        lambda on_trial: optimise(s.baseline, mapping, out, resume=True, on_trial=on_trial, progress=False, report=False, uncertainty=_kind(s)), out,
        flag=STOP, button_key="budget_stop_button", working="searching…", unit="plans evaluated",
        help="stop after the plan being evaluated; the finished plans are kept and a new search continues from them")


def reread(s: sidebar.Settings, mapping: dict, out: Path) -> Optimisation | None:
    """The finished trials of the cache folder, re-reported without new plans (None if there are none); kept per session."""
    return jobs.reread(out, RESULT, lambda done: optimise(s.baseline, {**mapping, "trials": done}, out, resume=True,
                                                          progress=False, report=False, uncertainty=_kind(s)))


def shown_table(s: sidebar.Settings, res: Optimisation, table: pd.DataFrame, primary: str) -> pd.DataFrame:
    """A plans or frontier table as the page shows it (:func:`cxsim.views.plans_shown`)."""
    return views.plans_shown(s.baseline, res, table, primary, s.scenario.currency)


def frontier_chart(s: sidebar.Settings, res: Optimisation, primary: str, budget: float, best_trial: int | None) -> alt.Chart:
    """The frontier of :func:`cxsim.plot.frontier` for the page's scenario."""
    return plot.frontier(shown_table(s, res, res.plans_table, primary), shown_table(s, res, res.frontier_table, primary), primary,
                         budget, best_trial, s.scenario.currency)


def _load(name: str, overrides: dict) -> None:
    """The plan into the sidebar's intervention world: the scenario as written, switches and settings as the plan has them."""
    st.session_state[sidebar.key(name, "start")] = sidebar.AS_WRITTEN
    sidebar.reset_interventions(name)  # every intervention widget as the scenario writes it, as the search's world has them
    for path, value in overrides.items():
        st.session_state[sidebar.key(name, path)] = value
        if not path.endswith(".enabled"):
            sidebar.remember_setting(name, path, value)
    st.session_state["view"] = "Dashboard"


def _ci(ev, name: str, currency: str) -> str:
    """Mean and 95% interval over the search seeds, in the measure's display unit (:func:`cxsim.views.fmt`)."""
    mean, lo, hi = ev.interval(name)
    return f"{views.fmt(mean, name, currency)} [{views.fmt(lo, name, currency, unit=False)}, {views.fmt(hi, name, currency, unit=False)}]"


def budget_top(res: Optimisation) -> float:
    """The budget slider's top: the dearest feasible plan's mean cost, rounded up to a whole amount."""
    import math

    costs = [p.cost for p in res.plans if p.feasible]
    return float(math.ceil(max(costs))) if costs and max(costs) > 0 else 1.0


def budget_slider(res: Optimisation, cur: str, key: str = "budget_amount") -> float:
    """The budget, in whole amounts of the currency, shown compactly (919.1K, not 919060.34)."""
    top = budget_top(res)
    if not 0.0 <= st.session_state.get(key, -1.0) <= top:  # first time, or another search with cheaper plans
        st.session_state[key] = top
    budget = st.slider(f"budget ({cur})" if cur else "budget", 0.0, top, step=float(max(1, round(top / 100))), key=key, format="compact",
                       help="the recommended plan: the best mean objective among the plans searched whose mean cost is within it (no new runs)")
    st.caption(f"Budget: {budget:,.0f} {cur}".rstrip())
    return budget


def show_result(s: sidebar.Settings, res: Optimisation, primary: str) -> None:
    cur = s.scenario.currency
    budget = budget_slider(res, cur)
    rec = res.recommend(budget)
    st.subheader(f"Frontier: {_label(primary)} against cost, with 95% intervals")
    chart = frontier_chart(s, res, primary, budget, rec.best.trial if rec.best else None)
    st.altair_chart(chart, width="stretch", key="budget_frontier")
    st.caption(f"{len(res.plans)} plans evaluated on the same {len(res.spec.search_seeds)} seeds (common random numbers); "
               f"{res.spec.uncertainty or 'seeds only'}. "
               "Grey: every plan; blue: the frontier (no other plan is better on every objective at no more cost), bars: 95% intervals; "
               "orange: recommended; dashed: the budget.")
    with st.expander("The frontier (table)"):
        st.dataframe(shown_table(s, res, res.frontier_table, primary), hide_index=True, key="budget_frontier_table")
    if rec.best is None:
        st.info(f"No plan searched fits a budget of {budget:,.0f} {cur}: raise the budget.")
        return
    st.subheader("Recommended plan within the budget")
    st.markdown(f"**{views.plan_label(s.baseline, rec.best.overrides)}** · {_label(primary)} {_ci(rec.best.evaluation, primary, cur)} · "
                f"cost {_ci(rec.best.evaluation, 'intervention_cost', cur)}")
    st.markdown(res.explain(rec.best))
    st.button("Load this plan", key="budget_load", type="primary", on_click=_load, args=(s.name, rec.best.overrides),
              icon=":material/input:", help="the sidebar's intervention world becomes this plan; the comparison computes it")
    if rec.ties:
        st.markdown("**Runners-up indistinguishable from it** (best − plan, 95% interval spans 0):")
        st.table(pd.DataFrame([{"plan": views.plan_label(s.baseline, p.overrides), "cost": views.fmt(p.cost, "intervention_cost", cur), _label(primary): _ci(p.evaluation, primary, cur),
                                "best − plan": views.fmt(d[0], primary, cur, signed=True) + f" [{views.fmt(d[1], primary, cur, signed=True, unit=False)}, "
                                f"{views.fmt(d[2], primary, cur, signed=True, unit=False)}]"} for p, d in rec.ties]))
    else:
        st.caption("No other plan within the budget is statistically tied with it.")


VIEW = "Best plan for a budget"  # the page's view of this tab


def _go_to_search() -> None:
    st.session_state["view"] = VIEW


def panel(s: sidebar.Settings) -> None:
    """The dashboard's corner: the best plan within a budget, from the search made with the tab's settings (none: a button
    that makes it); the frontier, the ties and the search's own settings one click away (the tab)."""
    st.markdown("**Best plan within a budget**", help="which interventions to use for the most acceptance (or the objective chosen in "
                "the tab 'Best plan for a budget') at no more than the budget: plans searched on the same random draws, no new runs here")
    if not s.baseline.interventions:
        st.caption("This scenario has no intervention to choose.")
        return
    if st.session_state.get("view") == VIEW:
        st.caption("The search, its frontier and the recommended plan are below.")
        return
    objectives = st.session_state.get("budget_objectives") or ["acceptance_rate"]
    mapping = search_file(s, list(objectives), int(st.session_state.get("budget_trials", TRIALS["default"])))
    out = cache_folder(s, mapping)
    res = reread(s, mapping, out)
    if res is None:
        st.caption(f"Not searched yet for these settings: {mapping['trials']} plans of the scenario's "
                   f"{len(s.baseline.interventions)} interventions, at the page's size.")
        if st.button("Find the best plan", key="dashboard_search", type="primary", icon=":material/search:",
                     help="evaluate plans now (progress bar, Stop keeps what is done)"):
            res = run_search(s, mapping, out)
            if res is not None:
                st.session_state[RESULT] = ((str(out), finished_trials(out)), res)
                st.rerun()
        st.session_state.pop(STOP, False)
        return
    cur, primary = s.scenario.currency, objectives[0]
    budget = budget_slider(res, cur)
    rec = res.recommend(budget)
    if rec.best is None:
        st.caption(f"No plan searched fits {budget:,.0f} {cur}: raise the budget.")
    else:
        st.markdown(f"**{views.plan_label(s.baseline, rec.best.overrides)}**")
        st.caption(f"{_label(primary)} {_ci(rec.best.evaluation, primary, cur)} · cost {_ci(rec.best.evaluation, 'intervention_cost', cur)}")
        st.button("Load this plan", key="dashboard_load", on_click=_load, args=(s.name, rec.best.overrides), icon=":material/input:",
                  help="the sidebar's switches take this plan; the cards compute it")
    st.button("Frontier and ties", key="dashboard_more", on_click=_go_to_search, type="tertiary", icon=":material/arrow_forward:")


def view(s: sidebar.Settings, runs_by_world: dict) -> None:
    st.subheader("Best plan for a budget")
    st.caption(f"Searches which of the scenario's interventions to use ({len(s.baseline.interventions)} levers, on or off) "
               f"at the page's {s.baseline.population.customers:,} customers and {s.baseline.steps} {s.baseline.step_unit}s, "
               "every plan on the same seeds; intervention cost is always minimised beside the objective(s).")
    if not s.baseline.interventions:
        st.info("This scenario has no intervention to search.")
        return
    left, right = st.columns([3, 1])
    objectives = left.multiselect("objective(s) to maximise", OBJECTIVES, default=["acceptance_rate"], key="budget_objectives",
                                  format_func=_label, help="the first is the one the budget maximises")
    trials = right.number_input("plans to evaluate", TRIALS["lo"], TRIALS["hi"], TRIALS["default"], key="budget_trials")
    if not objectives:
        st.info("Pick at least one objective.")
        return
    mapping = search_file(s, objectives, int(trials))
    out = cache_folder(s, mapping)
    res = None
    if st.button("Search", key="budget_search", type="primary", icon=":material/search:",
                 help="evaluate plans up to the number asked (a search already made with these settings is shown at once and continued)"):
        res = run_search(s, mapping, out)
        if res is not None:
            st.session_state[RESULT] = ((str(out), finished_trials(out)), res)
    if st.session_state.pop(STOP, False):  # stopped: by on_trial, or by the rerun the Stop button's click started
        st.warning(f"Stopped after {finished_trials(out)} plans: they are kept, and 'Search' continues from them.")
    if res is None:
        res = reread(s, mapping, out)
    if res is None:
        st.info("Press **Search** to evaluate plans.")
        return
    show_result(s, res, objectives[0])
