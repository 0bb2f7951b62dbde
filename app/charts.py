"""Charts: altair specs over the tables of :mod:`cxsim.views`, and a helper to show them with downloads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import pandas as pd
import streamlit as st

from cxsim.views import FLOW_NODES, WORLDS

if TYPE_CHECKING:
    import plotly.graph_objects as go

PALETTE = ["#9aa5b1", "#1668c1", "#e8710a", "#12b5cb", "#9334e6"]  # baseline grey, then one colour per what-if


def world_color(worlds: list[str] | tuple[str, ...] = WORLDS, title: str | None = None) -> alt.Color:
    """The same colour for a world in every chart: baseline grey, what-ifs in order."""
    worlds = list(worlds)
    if "baseline" not in worlds:  # what-ifs alone keep the colours they have beside the baseline
        return alt.Color("world:N", scale=alt.Scale(domain=worlds, range=PALETTE[1 : len(worlds) + 1]), title=title)
    return alt.Color("world:N", scale=alt.Scale(domain=worlds, range=PALETTE[: len(worlds)]), title=title)
STAGE_ORDER = ["decision", "access", "loyalty"]
WIDTH = 560


def show(chart: alt.TopLevelMixin, table: pd.DataFrame, name: str) -> None:
    """A chart, then buttons to download its table (CSV) and the chart itself (HTML)."""
    st.altair_chart(chart, width="stretch" if _stretchable(chart) else "content")
    left, right, _ = st.columns([1, 1, 3])
    left.download_button("Table (CSV)", lambda: table.to_csv(index=False), f"{name}.csv", "text/csv", key=f"dl_{name}_csv", on_click="ignore")
    right.download_button("Chart (HTML)", lambda: standalone_html(chart), f"{name}.html", "text/html", key=f"dl_{name}_html", on_click="ignore",
                          help="one file that opens offline: the Vega libraries are inside")


def standalone_html(chart: alt.TopLevelMixin) -> str:
    """The chart as one HTML file with vega, vega-lite and vega-embed inlined (readable offline).

    Altair inlines the libraries through the vl-convert-python package (a dependency);
    made on click only, as a deferred download.
    """
    return chart.to_html(inline=True)


def _stretchable(chart) -> bool:
    return not isinstance(chart, (alt.FacetChart, alt.VConcatChart, alt.HConcatChart))


READING_COLOR = alt.Color(
    "reading:N", title=None, legend=alt.Legend(orient="bottom", labelFontSize=12),
    scale=alt.Scale(domain=["better", "worse", "no clear change", "changed", "no change"],
                    range=["#1a7f37", "#cf222e", "#8c959f", "#57606a", "#8c959f"]),
)
AXIS = dict(labelFontSize=12, labelColor="#1f2328", titleFontSize=12, titleColor="#1f2328")


def differences(table: pd.DataFrame, whatifs: list[str] | None = None) -> alt.FacetChart:
    """What-if − baseline per metric: the point estimate and its 95% interval.

    One panel per unit (percentage points, customers, currency, …): the rows of a panel
    share one scale, so their bars can be compared; the labels are the metrics' own.
    One what-if: coloured by the reading (better, worse, no clear change); several:
    coloured by what-if, side by side in each row, hollow where there is no clear change.
    """
    data = table.dropna(subset=["difference"]).copy()
    whatifs = whatifs or (list(dict.fromkeys(data["world"])) if "world" in data else ["intervention"])
    if "world" not in data:
        data["world"] = whatifs[0]
    value = "value" if "value" in data else "intervention"
    data["clear"] = ~data["reading"].isin(["no clear change", "no change"])
    tip = ["world:N", "label:N", "unit:N", "reading:N", alt.Tooltip("baseline:Q", format=",.3~f"), alt.Tooltip(f"{value}:Q", format=",.3~f"),
           alt.Tooltip("difference:Q", format=",.3~f"), alt.Tooltip("ci_low:Q", format=",.3~f"), alt.Tooltip("ci_high:Q", format=",.3~f")]
    y = alt.Y("label:N", sort=list(data["label"]), title=None, axis=alt.Axis(labelLimit=360, **AXIS))
    x_axis = alt.Axis(grid=True, **AXIS)
    several = len(whatifs) > 1
    color = world_color(whatifs) if several else READING_COLOR
    base = alt.Chart().encode(y=y, yOffset=alt.YOffset("world:N", sort=whatifs)) if several else alt.Chart().encode(y=y)
    rule = base.mark_rule(strokeWidth=4).encode(x=alt.X("ci_low:Q", title=None, axis=x_axis), x2="ci_high:Q", color=color)
    point = base.mark_point(size=110, opacity=1, strokeWidth=2).encode(
        x="difference:Q", color=color, tooltip=tip,
        fill=alt.condition("datum.clear", color, alt.value("white")) if several else color,
    )
    zero = alt.Chart().mark_rule(color="#57606a", strokeDash=[4, 4]).encode(x=alt.datum(0))
    layered = alt.layer(zero, rule, point).properties(width=WIDTH, height=alt.Step(30 if not several else 14 * len(whatifs) + 8))
    header = alt.Header(labelAngle=0, labelAlign="left", labelAnchor="start", labelFontSize=13, labelFontWeight="bold", labelColor="#1f2328", title=None, labelOrient="top")
    return (
        layered.facet(row=alt.Row("scale:N", sort=list(dict.fromkeys(data["scale"])), header=header), data=data)
        .resolve_scale(x="independent", y="independent")
        .configure_facet(spacing=14)
    )


def funnel(table: pd.DataFrame, worlds: list[str] = list(WORLDS)) -> alt.Chart:
    """Customers reaching each journey milestone, every world side by side."""
    order = list(table.sort_values("order")["label"].drop_duplicates())
    base = alt.Chart(table).encode(
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelFontSize=12)),
        yOffset=alt.YOffset("world:N", sort=worlds),
        x=alt.X("customers:Q", title="customers (mean over replicates)"),
    )
    bars = base.mark_bar().encode(color=world_color(worlds), tooltip=["world", "label", alt.Tooltip("customers:Q", format=",.0f"), alt.Tooltip("share_of_population:Q", format=".1%")])
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(text=alt.Text("share_of_population:Q", format=".1%"))
    return (bars + text).properties(height=alt.Step(max(8, 36 // len(worlds))))


def where_they_left(table: pd.DataFrame, worlds: list[str] = list(WORLDS)) -> alt.Chart:
    """Non-users by the stage they left at, coloured by their reason, per world."""
    return alt.Chart(table).mark_bar().encode(
        x=alt.X("customers:Q", title="customers (mean over replicates)"),
        y=alt.Y("stage:N", sort=STAGE_ORDER, title="left at"),
        color=alt.Color("reason:N", title="reason"),
        row=alt.Row("world:N", sort=worlds, title=None, header=alt.Header(labelFontSize=12, labelAngle=0, labelAlign="left")),
        tooltip=["world", "stage", "reason", alt.Tooltip("customers:Q", format=",.0f")],
    ).properties(width=WIDTH, height=110)


def reasons_by_stage(table: pd.DataFrame, worlds: list[str] = list(WORLDS)) -> alt.Chart:
    """Why non-users stayed away: customers per reason, coloured by the stage they left at."""
    return alt.Chart(table).mark_bar().encode(
        x=alt.X("customers:Q", title="customers (mean over replicates)"),
        y=alt.Y("reason:N", sort="-x", title=None),
        color=alt.Color("stage:N", sort=STAGE_ORDER, title="left at"),
        facet=alt.Facet("world:N", sort=worlds, title=None, columns=min(len(worlds), 3), header=alt.Header(labelFontSize=12)),
        tooltip=["world", "reason", "stage", alt.Tooltip("customers:Q", format=",.0f")],
    ).properties(width=WIDTH // 2, height=180)


def feelings(journey: pd.DataFrame, worlds: list[str] = list(WORLDS)) -> alt.Chart:
    """One customer's feelings moment by moment in each world, peak and end marked."""
    x = alt.X("moment:Q", title="moment (touchpoint or transition, in order)", axis=alt.Axis(tickMinStep=1))
    y = alt.Y("valence:Q", title="feeling (−1 bad … +1 good)", scale=alt.Scale(domain=[-1, 1]))
    tip = ["world", "moment", "step", "stage", "event", "note", alt.Tooltip("valence:Q", format="+.2f"), alt.Tooltip("feeling_change:Q", format="+.2f"), alt.Tooltip("fear:Q", format=".2f")]
    base = alt.Chart().encode(x=x, y=y)
    line = base.mark_line(color="#9aa5b1")
    dots = base.mark_point(filled=True, size=70).encode(color=alt.Color("stage:N", title="stage"), shape=alt.Shape("moved:N", title="moved the feeling"), tooltip=tip)
    marks = base.transform_filter("datum.marker != ''").mark_point(size=320, color="#d62728", strokeWidth=2)
    labels = base.transform_filter("datum.marker != ''").mark_text(dy=-16, color="#d62728", fontWeight="bold").encode(text="marker:N")
    events = base.transform_filter("datum.moved").mark_text(dy=16, fontSize=10, color="#444").encode(text="event:N")
    zero = alt.Chart().mark_rule(color="#ccc").encode(y=alt.datum(0))
    layered = alt.layer(zero, line, dots, marks, labels, events).properties(width=WIDTH // 2 + 40, height=260)
    return layered.facet(facet=alt.Facet("world:N", sort=worlds, title=None, header=alt.Header(labelFontSize=12)), columns=min(len(worlds), 3), data=journey)


def curves(table: pd.DataFrame, step_unit: str, worlds: list[str] = list(WORLDS)) -> alt.Chart:
    """Metrics over time: replicate mean and 95% band, every world (one row per metric)."""
    x = alt.X("step:Q", title=step_unit)
    band = alt.Chart().mark_area(opacity=0.2).encode(x=x, y=alt.Y("low:Q", title=None), y2="high:Q", color=world_color(worlds))
    line = alt.Chart().mark_line().encode(x=x, y="mean:Q", color=world_color(worlds), tooltip=["world", "label", "step", alt.Tooltip("mean:Q", format=",.3~f")])
    layered = alt.layer(band, line).properties(width=WIDTH + 160, height=160)
    return layered.facet(row=alt.Row("label:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")), data=table).resolve_scale(y="independent")


def stages(table: pd.DataFrame, step_unit: str, worlds: list[str] = list(WORLDS)) -> alt.Chart:
    """Customers in each journey stage over time, per world."""
    return alt.Chart(table).mark_area().encode(
        x=alt.X("step:Q", title=step_unit),
        y=alt.Y("customers:Q", stack="zero", title="customers"),
        color=alt.Color("stage:N", sort=None, scale=alt.Scale(scheme="tableau10")),
        facet=alt.Facet("world:N", sort=worlds, title=None, columns=min(len(worlds), 3), header=alt.Header(labelFontSize=12)),
        tooltip=["world", "step", "stage", alt.Tooltip("customers:Q", format=",.0f")],
    ).properties(width=WIDTH // 2 + 40, height=220)


def predictions(table: pd.DataFrame) -> alt.Chart:
    """Trainer's mode: predicted vs simulated acceptance at each step of the story."""
    long = table.melt(id_vars=["step"], value_vars=["predicted", "simulated"], var_name="what", value_name="acceptance").dropna()
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("step:N", sort=list(table["step"]), title=None, axis=alt.Axis(labelLimit=320)),
        yOffset="what:N",
        x=alt.X("acceptance:Q", title="acceptance (%)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("what:N", scale=alt.Scale(domain=["predicted", "simulated"], range=["#f2a541", "#1668c1"]), title=None),
        tooltip=["step", "what", alt.Tooltip("acceptance:Q", format=".1f")],
    ).properties(height=60 + 40 * len(table))


FLOW_ENDS = {  # where customers leave or stop, coloured by what it means
    "never aware": "#c9ced6", "not offered": "#c9ced6", "deciding": "#c9ced6", "waiting for service": "#c9ced6", "in follow-up": "#c9ced6",
    "declined": "#cf222e", "dropped": "#cf222e", "churned": "#cf222e", "elsewhere": "#8c959f", "still customers": "#1a7f37",
}


def journey_sankey(flows: pd.DataFrame, world: str, population: float) -> go.Figure:
    """How the customers of one world move between stages and where they leave (a Plotly Sankey)."""
    import plotly.graph_objects as go  # imported on this view only: it is slow to import (off the first page)

    data = flows[flows["world"] == world]
    nodes = [n for n in FLOW_NODES if n in set(data["source"]) | set(data["target"])]
    index = {n: k for k, n in enumerate(nodes)}
    totals = {n: max(data.loc[data["target"] == n, "customers"].sum(), data.loc[data["source"] == n, "customers"].sum()) for n in nodes}
    labels = [f"{n}: {totals[n]:,.0f} ({totals[n] / population:.0%})" for n in nodes]
    node_colour = [FLOW_ENDS.get(n, "#1668c1") for n in nodes]
    link_colour = [("rgba(207,34,46,0.35)" if FLOW_ENDS.get(t) == "#cf222e" else "rgba(22,104,193,0.25)") for t in data["target"]]
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node=dict(label=labels, color=node_colour, pad=18, thickness=16, line=dict(width=0)),
        link=dict(source=[index[a] for a in data["source"]], target=[index[b] for b in data["target"]], value=list(data["customers"]),
                  color=link_colour, hovertemplate="%{source.label} → %{target.label}<br>%{value:,.0f} customers<extra></extra>"),
        textfont=dict(size=13, color="#1f2328"),
    ))
    fig.update_layout(title=dict(text=world, font=dict(size=15)), height=420, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def show_plotly(fig: go.Figure, table: pd.DataFrame, name: str) -> None:
    """A Plotly chart, then its table (CSV) and the chart as one HTML file with plotly.js inside (readable offline)."""
    st.plotly_chart(fig, key=f"plotly_{name}", config={"displaylogo": False})
    left, right, _ = st.columns([1, 1, 3])
    left.download_button("Table (CSV)", lambda: table.to_csv(index=False), f"{name}.csv", "text/csv", key=f"dl_{name}_csv", on_click="ignore")
    right.download_button("Chart (HTML)", lambda: fig.to_html(include_plotlyjs=True, full_html=True), f"{name}.html", "text/html",
                          key=f"dl_{name}_html", on_click="ignore", help="one file that opens offline: plotly.js is inside")
