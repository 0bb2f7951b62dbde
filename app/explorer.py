"""cxsim explorer: what-if scenarios in the browser, seen from the outside in.

    cxsim app                      # or: streamlit run app/explorer.py

A thin layer over the library: the sidebar turns widgets into scenario overrides
(:mod:`sidebar`), both worlds run on the same seeds and are cached (:mod:`runs`),
and the tables of :mod:`cxsim.views` become the charts of :mod:`cxsim.plot` (shown with
their downloads by :mod:`charts`). No model logic here.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
import time
from pathlib import Path

import streamlit as st

if str(Path(__file__).parent) not in sys.path:  # sibling modules, however the page is started
    sys.path.insert(0, str(Path(__file__).parent))

STARTED = time.perf_counter()
st.set_page_config(page_title="cxsim explorer", page_icon="🧭", layout="wide")
_first = "cxsim.engine.model" not in sys.modules  # the first page of this server process imports the simulator
with st.spinner("Loading the simulator (once per server)…", show_time=True) if _first else nullcontext():
    import budget  # noqa: E402
    import charts  # noqa: E402
    import classroom  # noqa: E402
    import editor  # noqa: E402
    import links  # noqa: E402
    import owndata  # noqa: E402
    import pandas as pd  # noqa: E402
    import runs  # noqa: E402
    import share  # noqa: E402
    import sidebar  # noqa: E402
    import stories  # noqa: E402
    import trainer  # noqa: E402

    import cxsim  # noqa: E402
    from cxsim import CxError, plot, views  # noqa: E402
    from cxsim.readouts.measures import definition  # noqa: E402
    from cxsim.readouts.metrics import METRIC_BY_NAME, SCALAR_OUTCOMES  # noqa: E402

OUTCOMES = ("any", "declined", "dropped", "loyal", "churned")


def _recipe(s: sidebar.Settings, world: str) -> str:
    sc = s.worlds[world]
    return ", ".join(views.intervention_label(sc, n) for n in sc.enabled_interventions) or "no intervention"


def _still_the_variant(s: sidebar.Settings) -> bool:
    """The edited what-if is still the variant it started from (its switches and settings as the variant has them)."""
    if s.start == sidebar.AS_WRITTEN:
        return False
    return s.alternative.interventions == sidebar.starting_point(s.scenario, s.start).interventions


COMPACT = "<style>.block-container{padding-top:3.6rem;padding-bottom:2rem}</style>"  # the first screen holds question, cards and plan


def header(s: sidebar.Settings) -> None:
    """The question, the scenario's story in one line, and what each world is (plain words; the jargon in tooltips),
    beside the best plan within a budget."""
    st.html(COMPACT)
    story, plan = st.columns([5, 2], gap="medium")
    with story:
        st.markdown(f"### {s.scenario.title or s.name}")
        if s.scenario.story.fact:
            st.markdown(f"**The story:** {views.first_sentence(s.scenario.story.fact)}", help=s.scenario.story.fact)
        variant = f"variant {s.start}: " if _still_the_variant(s) else ""
        whatifs = [w for w in s.worlds if w != "baseline"]
        described = " · ".join(f"**{w}**: {variant if w == s.edited else ''}{_recipe(s, w)}" for w in whatifs)
        pop = s.baseline.population.customers
        runs_text = "once" if len(s.seeds) == 1 else f"{len(s.seeds)} times"
        if len(s.draws) > 1:
            runs_text += f" on each of {len(s.draws)} parameter sets from the posterior"
        st.caption(
            f"**Baseline**: no intervention · {described} · {pop:,} customers over {s.baseline.steps} {s.baseline.step_unit}s, "
            f"each world simulated {runs_text} on the same random draws (seeds {s.seeds[0]}–{s.seeds[-1]})",
            help="Replicates: each world is simulated several times, each time with another random draw (seed) of who the customers are "
                 "and what happens to them; every world uses the same draws (common random numbers), so a difference between worlds "
                 "comes from the interventions, not from luck. The ranges in brackets are 95% intervals over these runs.",
        )
    with plan.container(border=True, key="dashboard_plan"):
        budget.panel(s)
    if s.alternative == s.baseline:
        st.info(f"No intervention is switched on in **{s.edited}**: switch one on in the sidebar (or start from a variant) to compare.")


def _card_key(s: sidebar.Settings, world: str, metric: str) -> str:
    """Container key of a card: ``card_<metric>`` for the edited what-if, ``card_<k>_<metric>`` for kept ones."""
    tail = metric.replace("@", "_at_")
    if world == s.edited:
        return f"card_{tail}"
    return f"card_{list(s.worlds).index(world)}_{tail}"


def compare_view(s: sidebar.Settings, runs_by_world: dict, ens=None) -> None:
    """The cards and the intervals chart over the page's ensemble (``ens``: :func:`cxsim.views.worlds_ensemble`): levels with
    their interval, differences paired within each posterior draw and seed, and which uncertainty they carry, in words."""
    cur = s.scenario.currency
    ens = ens if ens is not None else _ensemble(s, runs_by_world)
    table = ens.differences("baseline")
    levels = ens.levels().set_index(["world", "metric"])
    whatifs = [w for w in s.worlds if w != "baseline"]
    cards = views.card_metrics(table[table["world"] == s.edited], first=s.scenario.story.measures)  # the scenario's own choice first
    if len(whatifs) == 1:
        rows = table.set_index("metric")
        cols = st.columns(4, gap="small")
        for k, name in enumerate(cards):
            with cols[k % 4].container(border=True, key=_card_key(s, s.edited, name)):
                metric_card(rows.loc[name], name, cur, ens, levels.loc[(s.edited, name)])
    else:  # one column of cards per what-if, side by side
        for col, world in zip(st.columns(len(whatifs), gap="small"), whatifs):
            col.markdown(f"#### {world}")
            col.caption(_recipe(s, world))
            rows = table[table["world"] == world].set_index("metric")
            for name in cards:
                with col.container(border=True, key=_card_key(s, world, name)):
                    metric_card(rows.loc[name], name, cur, ens, levels.loc[(world, name)])
    st.caption(f"**Uncertainty:** {ens.caption}.", help="parameters + seeds: each world runs on parameter sets drawn from the "
               "scenario's posterior, each on the same seeds, and a difference is paired within each parameter set; seeds only: "
               "the scenario's own parameters, so the intervals hold chance alone")
    shown = views.display_comparison(table, cur)
    st.subheader("What-if − baseline, with 95% intervals" if len(whatifs) > 1 else f"{s.edited} − baseline, with 95% intervals")
    st.caption(
        f"Each row: the paired difference (point) and its 95% interval ({ens.short}, bar); dashed line: no difference. "
        + ("Green: better, red: worse (by whether more is better for that measure), grey: no clear change or no better direction."
           if len(whatifs) == 1 else "Colour: the what-if; a hollow point: no clear change (the interval spans zero).")
    )
    chart = runs.made_once(ens, ("comparison", tuple(cards), cur), lambda: plot.comparison(table, metrics=cards, currency=cur))
    charts.show(chart, shown, "comparison")
    with st.expander("Every metric (table)"):
        for world in whatifs:
            if len(whatifs) > 1:
                st.markdown(f"**{world}**")
            st.table(views.comparison_text(table[table["world"] == world].rename(columns={"value": "intervention"}), cur).set_index("metric"))


COLOURS = {"better": "green", "worse": "red"}  # any other reading is grey


def _ensemble(s: sidebar.Settings, runs_by_world: dict):
    """The page's runs as an ensemble (:func:`runs.ensemble`): what every interval is computed over."""
    return runs.ensemble(runs_by_world, s.baseline, trainer.uncertainty(s))


def metric_card(row, name: str, cur: str, ens, level) -> None:
    """Intervention value with its interval, paired difference with its 95% interval, and the baseline beneath
    (:func:`cxsim.views.card_text`); the words name the uncertainty they carry (``ens.short``).

    The colour follows whether the change is good for this measure; zero changes and changes
    whose 95% interval spans zero get no arrow and read 'no clear change'.
    """
    m = definition(name)
    card = views.card_text(row, name, cur, kind=ens.kind)
    st.markdown(f"**{card['label']}**", help=f"{m.doc}. Large: in this what-if. Beneath: the difference from the baseline, with the "
                f"range it lies in 19 times out of 20 (95% interval); {ens.caption}. "
                "pp: percentage points (40 % → 45 % is +5 pp). "
                + ({"higher": "Higher is better.", "lower": "Lower is better."}.get(m.better, "Neither direction is better in itself.")))
    st.metric(
        card["label"], card["value"], delta=card["delta"] or None, delta_color=COLOURS.get(card["reading"], "gray"),
        delta_arrow=card["arrow"], label_visibility="collapsed",
    )
    st.caption(f"{card['baseline']} · level {views.level_text(level['mean'], level['low'], level['high'], name, cur, ens.kind)}")


def funnel_view(s: sidebar.Settings, runs_by_world: dict) -> None:
    st.subheader("How many customers reach each stage")
    funnel = views.funnel_table(runs_by_world)
    charts.show(plot.funnel(runs_by_world), funnel, "funnel")
    st.subheader("Where they leave the journey, and why")
    dropouts = views.dropout_table(runs_by_world)
    if dropouts.empty:
        st.info("Nobody left the journey.")
    else:
        charts.show(plot.reasons(runs_by_world, by="stage"), dropouts, "dropouts_by_stage")


def flow_view(s: sidebar.Settings, runs_by_world: dict) -> None:
    st.subheader("How customers move through the journey, and where they leave")
    flows = views.flow_table(runs_by_world)
    worlds = list(s.worlds)
    _forget_unless_all("flow_worlds", worlds)
    shown = st.multiselect("worlds", worlds, default=["baseline", s.edited], key="flow_worlds")
    st.caption("Width: customers (mean over the replicates); red: where they leave (declined, dropped, churned); "
               "grey: still on the way at the end.")
    for world in shown:
        chart = plot.journey_sankey(flows, world, s.baseline.population.customers)
        charts.show_plotly(chart, flows[flows["world"] == world], f"journey_flow_{worlds.index(world)}")


def _forget_unless_all(key: str, options: list[str]) -> None:
    # a remembered choice of several worlds, one of which is no longer compared
    if key in st.session_state and not set(st.session_state[key]) <= set(options):
        del st.session_state[key]


def nonuser_view(s: sidebar.Settings, runs_by_world: dict) -> None:
    st.subheader("Why non-users stay away")
    dropouts = views.dropout_table(runs_by_world)
    if not dropouts.empty:
        charts.show(plot.reasons(runs_by_world), dropouts, "dropout_reasons")
    st.subheader("Ask a non-user")
    left, mid, right = st.columns([1, 1, 1])
    which = left.selectbox("who", stories.NON_USERS, key="nonuser_which", format_func=lambda w: f"{w}: {stories.WHERE[w]}")
    _forget_unless("nonuser_world", list(s.worlds))
    world = mid.radio("in the world", list(s.worlds), key="nonuser_world", horizontal=True)
    with right:
        draw = stories.ask_button("Ask a random non-user", "nonuser_ask", "nonuser_draw")
    stories.nonuser_card(_jsons(s), world, s.seeds[0], which, draw)


def _forget_unless(key: str, options: list[str]) -> None:
    """Drop a remembered choice of world that is no longer compared (a what-if was dropped or renamed)."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


def _jsons(s: sidebar.Settings) -> dict[str, str]:
    return {w: sc.model_dump_json() for w, sc in s.worlds.items()}


def _choose_customer(s: sidebar.Settings, worlds: dict[str, str]) -> int:
    """Outcome, world and a 'random' button set the customer; or type a number."""
    a, b, c, d = st.columns([1, 1, 1, 1])
    which = a.selectbox("outcome", OUTCOMES, index=OUTCOMES.index("loyal"), key="journey_which")
    _forget_unless("journey_world", list(worlds))
    world = b.radio("in the world", list(worlds), index=list(worlds).index(s.edited), key="journey_world", horizontal=True)
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
    st.subheader("One customer's journey, in every world")
    worlds = _jsons(s)
    i = _choose_customer(s, worlds)
    people = {w: runs.customer(worlds[w], s.seeds[0], i) for w in worlds}
    if not people["baseline"]["tracked"]:
        st.info(f"Customer {i}'s touchpoints were not recorded (a random sample of customers is tracked): press 'Random customer'.")
    journey = pd.concat([p["journey"].assign(world=w) for w, p in people.items()], ignore_index=True)
    cols = st.columns(len(people))
    for col, (w, p) in zip(cols, people.items()):
        col.markdown(f"**{w}**: customer {i} ({p['segment']}) ends **{stories.fate(p)}**")
    if len(journey):
        charts.show(plot.journey(journey, i), journey, "customer_journey")
        st.caption("Each point is a moment of the journey; ◆ and labels mark the touchpoints that moved the feeling; dark rings mark the peak and the end (peak-end rule).")
    for col, (w, p) in zip(st.columns(len(people)), people.items()):
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
        charts.show(plot.curves(runs_by_world, metrics=names, step_unit=s.baseline.step_unit), series, "over_time")
    st.subheader("Customers in each stage")
    occupancy = views.stage_table(runs_by_world)
    charts.show(plot.stages(runs_by_world, step_unit=s.baseline.step_unit), occupancy, "stages_over_time")


PLAY_SPEED = 0.6  # seconds per week while playing


def _advance(weeks: int) -> None:
    w = st.session_state.get("play_week", 0)
    if w >= weeks:
        st.session_state["play_on"] = False
    else:
        st.session_state["play_week"] = w + 1


def _toggle_play(weeks: int) -> None:
    playing = not st.session_state.get("play_on", False)
    st.session_state["play_on"] = playing
    if playing and st.session_state.get("play_week", 0) >= weeks:
        st.session_state["play_week"] = 0  # from the start again


def play_view(s: sidebar.Settings, runs_by_world: dict) -> None:
    """The computed run, week by week: the baseline and a what-if side by side (no recomputation: the cached tables)."""
    st.subheader("Watch it run, week by week")
    whatifs = [w for w in s.worlds if w != "baseline"]
    _forget_unless("play_world", whatifs)
    unit, weeks = s.baseline.step_unit, s.baseline.steps
    left, mid, right = st.columns([2, 1, 4], vertical_alignment="bottom")
    world = left.selectbox("beside the baseline", whatifs, index=whatifs.index(s.edited), key="play_world")
    playing = st.session_state.get("play_on", False)
    mid.button("Pause" if playing else "Play", key="play_button", type="primary", on_click=_toggle_play, args=(weeks,),
               icon=":material/pause:" if playing else ":material/play_arrow:", help=f"one {unit} every {PLAY_SPEED:g} s")
    stages, curves = views.play_tables({w: runs_by_world[w] for w in ("baseline", world)})
    st.caption(f"Customers moving through the journey and the counts growing, {unit} by {unit}, as the run computed them "
               "(mean over the runs of each world).")

    @st.fragment(run_every=PLAY_SPEED if playing else None)
    def frame() -> None:
        if st.session_state.get("play_on", False):
            _advance(weeks)
        st.session_state.setdefault("play_week", 0)
        st.session_state["play_week"] = min(st.session_state["play_week"], weeks)
        week = right.slider(unit, 0, weeks, key="play_week", help=f"move to any {unit}; Play goes on from here")
        chart = plot.play(stages, curves, week, step_unit=unit, steps=weeks)
        st.altair_chart(chart, key="play_chart")

    frame()
    st.download_button("Table (CSV)", lambda: stages.merge(curves.pivot_table(index=["world", "step"], columns="what", values="value")
                                                           .reset_index(), on=["world", "step"]).to_csv(index=False),
                       "play.csv", "text/csv", key="dl_play_csv", on_click="ignore", help="customers per stage and the counts, every week")


VIEWS = {
    "Dashboard": compare_view,
    "Watch it run": play_view,
    "Journey funnel": funnel_view,
    "Journey flow": flow_view,
    "Ask the non-user": nonuser_view,
    "One customer's journey": journey_view,
    "Loyalty and referrals over time": time_view,
    "Your own scenario": editor.view,
    "Your own data": owndata.view,
    "Best plan for a budget": budget.view,
}


DASHBOARD = "Dashboard"


def report_button(s: sidebar.Settings, runs_by_world: dict, ens=None) -> None:
    """One click: the comparison as a self-contained HTML report (:func:`cxsim.report.comparison_report`, made on click)."""
    customer = st.session_state.get("journey_customer")  # the customer the journey view shows, if it was opened

    def made() -> str:
        from cxsim import report

        return report.comparison_report(s.name, s.worlds, runs_by_world, s.seeds, customer=customer,
                                        ensemble=ens if ens is not None and ens.kind == "posterior" else None)

    st.download_button(
        "Report (HTML)", made, f"cxsim_report_{s.name}.html", "text/html", key="report_download", on_click="ignore", icon=":material/description:",
        help="the comparison as one HTML file that opens offline: the story, every world's settings, seeds, version, the cards with their intervals, "
             "the funnel, why non-users stay away and one customer's journey",
    )


def explorer(s: sidebar.Settings) -> None:
    header(s)
    runs_by_world = runs.run_worlds(s.worlds, s.seeds, s.draws, s.keep)
    ens = _ensemble(s, runs_by_world)
    if st.session_state.get("view") not in VIEWS:
        st.session_state["view"] = DASHBOARD
    view = st.pills("view", list(VIEWS), required=True, key="view", label_visibility="collapsed", width="stretch", wrap=True)
    if view == DASHBOARD:
        compare_view(s, runs_by_world, ens)
    else:
        VIEWS[view](s, runs_by_world)
    report_button(s, runs_by_world, ens)


def explorer_page() -> None:
    skipped = links.restore(list(VIEWS))
    if skipped:
        st.warning("Not applied from this link: " + "; ".join(skipped))
    _forget_unless("view", list(VIEWS))
    s = sidebar.safe_render()
    if s is not None:
        share.panel(s)
    if s is None or not sidebar.confirm_work(s):
        return
    links.save(s)
    try:
        if s.classroom:
            classroom.trainer_page(s)
        elif s.trainer:
            trainer.render(s)
        else:
            explorer(s)
    except CxError as err:
        st.error(f"**Bad setting** – {err}")


def main() -> None:
    if classroom.is_trainee():  # a join link (?join=CODE): the trainer's story, predicted here, computed on the trainer's page
        classroom.trainee_page()
    else:
        explorer_page()
    st.session_state["page_runs"] = st.session_state.get("page_runs", 0) + 1  # shown: lets a test see a run has ended
    st.caption(f"cxsim {cxsim.__version__} · run {st.session_state['page_runs']} · page computed in {time.perf_counter() - STARTED:.2f} s (runs are cached: moving back to a setting is instant)", help=None)


main()
