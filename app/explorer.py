"""cxsim explorer: what-if scenarios in the browser, seen from the outside in.

    cxsim app                      # or: streamlit run app/explorer.py

A thin layer over the library: the sidebar turns widgets into scenario overrides
(:mod:`sidebar`), both worlds run on the same seeds and are cached (:mod:`runs`),
and the tables of :mod:`cxsim.views` become charts (:mod:`charts`). No model logic here.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if str(Path(__file__).parent) not in sys.path:  # sibling modules, however the page is started
    sys.path.insert(0, str(Path(__file__).parent))

import charts  # noqa: E402
import pandas as pd  # noqa: E402
import runs  # noqa: E402
import sidebar  # noqa: E402
import stories  # noqa: E402
import streamlit as st  # noqa: E402
import trainer  # noqa: E402

import cxsim  # noqa: E402
from cxsim import CxError, views  # noqa: E402
from cxsim.measures import definition  # noqa: E402
from cxsim.metrics import METRIC_BY_NAME, SCALAR_OUTCOMES  # noqa: E402

OUTCOMES = ("any", "declined", "dropped", "loyal", "churned")


def header(s: sidebar.Settings) -> None:
    st.title(s.scenario.title or s.name)
    if s.scenario.story.fact:
        st.markdown(f"*{s.scenario.story.fact}*")
    on = [type(s.alternative.interventions[n]).label or n for n in s.alternative.enabled_interventions]
    variant = f"variant {s.start}: " if s.start != sidebar.AS_WRITTEN else ""
    pop = s.baseline.population.customers
    st.caption(
        f"**Baseline**: no intervention · **Intervention**: {variant}{', '.join(on) or 'none switched on'} · "
        f"{pop:,} customers, {s.baseline.steps} {s.baseline.step_unit}s, "
        f"{len(s.seeds)} replicate(s) per world on the same seeds {s.seeds[0]}–{s.seeds[-1]} (common random numbers)"
    )
    if s.alternative == s.baseline:
        st.info("No intervention is switched on: switch one on in the sidebar (or start from a variant) to compare.")


def compare_view(s: sidebar.Settings, runs_by_world: dict) -> None:
    cur = s.scenario.currency
    table = views.paired_comparison(runs_by_world["baseline"], runs_by_world["intervention"])
    rows = table.set_index("metric")
    cols = st.columns(4)
    cards = views.card_metrics(table, first=s.scenario.story.measures)  # the scenario's own choice first
    for k, name in enumerate(cards):
        with cols[k % 4].container(border=True):
            metric_card(rows.loc[name], name, cur, len(s.seeds))
    shown = views.display_comparison(table, cur)
    st.subheader("Intervention − baseline, with 95% intervals")
    st.caption("Each row: the paired difference (point) and its 95% interval over the replicates (bar); dashed line: no difference.")
    charts.show(charts.differences(shown[shown["metric"].isin(cards)]), shown, "comparison")
    with st.expander("Every metric (table)"):
        st.table(views.comparison_text(table, cur).set_index("metric"))


def metric_card(row, name: str, cur: str, replicates: int) -> None:
    """Intervention value, paired difference with its 95% interval, and the baseline beneath."""
    m = definition(name)
    unit = f" ({cur})" if m.unit == "currency" else ""
    st.metric(
        m.label + unit,
        views.fmt(row["intervention"], name, cur, unit=not unit, compact=True),
        delta=views.fmt_difference({**row, "metric": name}, cur, unit=not unit, compact=True),
        delta_color="inverse" if name == "intervention_cost" else "normal",
        help=f"{m.doc}. Large: with the interventions. Delta: paired difference from the baseline, "
        f"95% interval over {replicates} replicate(s) on the same seeds.",
    )
    st.caption(f"baseline {views.fmt(row['baseline'], name, cur, unit=not unit, compact=True)}")


def funnel_view(s: sidebar.Settings, runs_by_world: dict) -> None:
    st.subheader("How many customers reach each stage")
    funnel = views.funnel_table(runs_by_world)
    charts.show(charts.funnel(funnel), funnel, "funnel")
    st.subheader("Where they leave the journey, and why")
    dropouts = views.dropout_table(runs_by_world)
    if dropouts.empty:
        st.info("Nobody left the journey.")
    else:
        charts.show(charts.where_they_left(dropouts), dropouts, "dropouts_by_stage")


def nonuser_view(s: sidebar.Settings, runs_by_world: dict) -> None:
    st.subheader("Why non-users stay away")
    dropouts = views.dropout_table(runs_by_world)
    if not dropouts.empty:
        charts.show(charts.reasons_by_stage(dropouts), dropouts, "dropout_reasons")
    st.subheader("Ask a non-user")
    left, mid, right = st.columns([1, 1, 1])
    which = left.selectbox("who", stories.NON_USERS, key="nonuser_which", format_func=lambda w: f"{w}: {stories.WHERE[w]}")
    world = mid.radio("in the world", views.WORLDS, key="nonuser_world", horizontal=True)
    with right:
        draw = stories.ask_button("Ask a random non-user", "nonuser_ask", "nonuser_draw")
    stories.nonuser_card(_jsons(s), world, s.seeds[0], which, draw)


def _jsons(s: sidebar.Settings) -> dict[str, str]:
    return {"baseline": s.baseline.model_dump_json(), "intervention": s.alternative.model_dump_json()}


def _choose_customer(s: sidebar.Settings, worlds: dict[str, str]) -> int:
    """Outcome, world and a 'random' button set the customer; or type a number."""
    a, b, c, d = st.columns([1, 1, 1, 1])
    which = a.selectbox("outcome", OUTCOMES, index=OUTCOMES.index("loyal"), key="journey_which")
    world = b.radio("in the world", views.WORLDS, index=1, key="journey_world", horizontal=True)
    n = s.baseline.population.customers
    picked = None
    if c.button("Random customer", key="journey_pick", type="primary") or "journey_customer" not in st.session_state:
        st.session_state["journey_draw"] = st.session_state.get("journey_draw", -1) + 1
        picked = runs.pick(worlds[world], s.seeds[0], which, st.session_state["journey_draw"])
        if picked is None:
            st.info(f"Nobody {which} in the {world} world: showing a random customer.")
            picked = runs.pick(worlds[world], s.seeds[0], "any", st.session_state["journey_draw"])
    if picked is not None or st.session_state.get("journey_customer", 0) >= n:
        st.session_state["journey_customer"] = picked if picked is not None else 0
    return int(d.number_input("customer", 0, n - 1, step=1, key="journey_customer"))


def journey_view(s: sidebar.Settings, runs_by_world: dict) -> None:
    st.subheader("One customer's journey, in both worlds")
    worlds = _jsons(s)
    i = _choose_customer(s, worlds)
    people = {w: runs.customer(worlds[w], s.seeds[0], i) for w in views.WORLDS}
    if not people["baseline"]["tracked"]:
        st.info(f"Customer {i}'s touchpoints were not recorded (a random sample of customers is tracked): press 'Random customer'.")
    journey = pd.concat([p["journey"].assign(world=w) for w, p in people.items()], ignore_index=True)
    cols = st.columns(2)
    for col, (w, p) in zip(cols, people.items()):
        col.markdown(f"**{w}**: customer {i} ({p['segment']}) ends **{stories.fate(p)}**")
    if len(journey):
        charts.show(charts.feelings(journey), journey, "customer_journey")
        st.caption("Each point is a moment of the journey; ◆ and labels mark the touchpoints that moved the feeling; red circles mark the peak and the end (peak-end rule).")
    for col, (w, p) in zip(st.columns(2), people.items()):
        with col.expander(f"Story in plain words ({w})"):
            st.text(p["story"])


def time_view(s: sidebar.Settings, runs_by_world: dict) -> None:
    st.subheader("Loyalty and referrals over time")
    names = st.multiselect(
        "metrics", SCALAR_OUTCOMES, default=list(views.CURVES), key="time_metrics",
        format_func=lambda m: METRIC_BY_NAME[m].label,
    )
    if names:
        series = views.timeseries_table(runs_by_world, names)
        charts.show(charts.curves(series, s.baseline.step_unit), series, "over_time")
    st.subheader("Customers in each stage")
    occupancy = views.stage_table(runs_by_world)
    charts.show(charts.stages(occupancy, s.baseline.step_unit), occupancy, "stages_over_time")


VIEWS = {
    "Baseline vs intervention": compare_view,
    "Journey funnel": funnel_view,
    "Ask the non-user": nonuser_view,
    "One customer's journey": journey_view,
    "Loyalty and referrals over time": time_view,
}


def explorer(s: sidebar.Settings) -> None:
    header(s)
    runs_by_world = runs.run_worlds({"baseline": s.baseline, "intervention": s.alternative}, s.seeds)
    tabs = st.tabs(list(VIEWS), key="view", on_change="rerun")
    for tab, view in zip(tabs, VIEWS.values()):
        if tab.open:
            with tab:
                view(s, runs_by_world)


def main() -> None:
    started = time.perf_counter()
    st.set_page_config(page_title="cxsim explorer", page_icon="🧭", layout="wide")
    s = sidebar.safe_render()
    if s is None or not sidebar.confirm_work(s):
        return
    try:
        if s.trainer:
            trainer.render(s)
        else:
            explorer(s)
    except CxError as err:
        st.error(f"**Bad setting** – {err}")
    st.caption(f"cxsim {cxsim.__version__} · page computed in {time.perf_counter() - started:.2f} s (runs are cached: moving back to a setting is instant)", help=None)


main()
