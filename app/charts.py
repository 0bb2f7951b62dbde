"""What the page adds to the charts of :mod:`cxsim.plot`: showing a chart with its downloads, and the charts
only the explorer draws (the trainer's predictions, the classroom's spread of predictions, the journey flow as a
Plotly Sankey).

Every chart of results (comparison, funnel, reasons, journey, curves, stages) is defined once,
in :mod:`cxsim.plot`, so a notebook draws the same chart as the page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import pandas as pd
import streamlit as st

from cxsim.views import FLOW_NODES

if TYPE_CHECKING:
    import plotly.graph_objects as go


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


PREDICTED_COLOUR, SIMULATED_COLOUR = "#f2a541", "#1668c1"  # as in the trainer's chart above


def classroom_reveal(predictions: list[float], mean: float, lo: float, hi: float) -> alt.LayerChart:
    """Classroom, at a reveal: the room's predictions (histogram, 5-point bins), their median and range,
    against the simulated result and its 95% interval (acceptance, %)."""
    votes = pd.DataFrame({"prediction": [float(v) for v in predictions]})
    bars = alt.Chart(votes).mark_bar(color=PREDICTED_COLOUR, opacity=0.85).encode(
        x=alt.X("prediction:Q", bin=alt.Bin(extent=[0, 100], step=5), scale=alt.Scale(domain=[0, 100]), title="acceptance (%)"),
        y=alt.Y("count():Q", title="trainees", axis=alt.Axis(tickMinStep=1)),
        tooltip=[alt.Tooltip("prediction:Q", bin=True, title="predicted (%)"), alt.Tooltip("count():Q", title="trainees")],
    )
    layers = [bars]
    if len(votes):
        marks = pd.DataFrame([{"x": votes["prediction"].median(), "what": "room's median"}])
        layers.append(alt.Chart(marks).mark_rule(color="#a15c00", strokeDash=[6, 3], size=2).encode(
            x="x:Q", tooltip=["what", alt.Tooltip("x:Q", format=".1f", title="%")]))
        span = pd.DataFrame([{"low": votes["prediction"].min(), "high": votes["prediction"].max(), "what": "range of predictions"}])
        layers.append(alt.Chart(span).mark_rule(color="#a15c00", size=3, opacity=0.6).encode(
            x="low:Q", x2="high:Q", y=alt.datum(0), tooltip=["what", alt.Tooltip("low:Q", format=".0f"), alt.Tooltip("high:Q", format=".0f")]))
    if lo == lo and hi == hi:
        band = pd.DataFrame([{"lo": lo, "hi": hi, "what": "simulated, 95% interval"}])
        layers.append(alt.Chart(band).mark_rect(color=SIMULATED_COLOUR, opacity=0.25).encode(
            x="lo:Q", x2="hi:Q", tooltip=["what", alt.Tooltip("lo:Q", format=".1f"), alt.Tooltip("hi:Q", format=".1f")]))
    sim = pd.DataFrame([{"x": mean, "what": "simulated"}])
    layers.append(alt.Chart(sim).mark_rule(color=SIMULATED_COLOUR, size=3).encode(x="x:Q", tooltip=["what", alt.Tooltip("x:Q", format=".1f", title="%")]))
    return alt.layer(*layers).properties(height=220)


def classroom_summary(predictions: pd.DataFrame, results: pd.DataFrame) -> alt.LayerChart:
    """Classroom, closing: per revealed step (rows), every prediction (ticks), the range and median of the room,
    and the simulated result with its 95% interval. ``predictions``: step, prediction; ``results``: step,
    median, low, high, simulated, sim_lo, sim_hi."""
    order = list(results["step"])
    y = alt.Y("step:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    x = dict(scale=alt.Scale(domain=[0, 100]))
    ticks = alt.Chart(predictions).mark_tick(color=PREDICTED_COLOUR, opacity=0.6, thickness=2).encode(
        x=alt.X("prediction:Q", title="acceptance (%)", **x), y=y, tooltip=["step", alt.Tooltip("prediction:Q", title="predicted (%)")])
    span = alt.Chart(results).mark_rule(color="#a15c00", opacity=0.5).encode(x=alt.X("low:Q", **x), x2="high:Q", y=y)
    median = alt.Chart(results).mark_point(shape="diamond", size=140, filled=True, color="#a15c00").encode(
        x=alt.X("median:Q", **x), y=y, tooltip=["step", alt.Tooltip("median:Q", format=".1f", title="room's median (%)")])
    band = alt.Chart(results.dropna(subset=["sim_lo", "sim_hi"])).mark_rule(color=SIMULATED_COLOUR, size=8, opacity=0.35).encode(
        x=alt.X("sim_lo:Q", **x), x2="sim_hi:Q", y=y)
    sim = alt.Chart(results).mark_point(shape="circle", size=120, filled=True, color=SIMULATED_COLOUR).encode(
        x=alt.X("simulated:Q", **x), y=y, tooltip=["step", alt.Tooltip("simulated:Q", format=".1f", title="simulated (%)")])
    return alt.layer(band, span, ticks, median, sim).properties(height=50 + 45 * len(results))


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
    labels = [f"{n}: {totals[n]:,.0f} ({totals[n] / population:.0%})" if totals[n] >= SMALL_NODE * population else "" for n in nodes]
    node_colour = [FLOW_ENDS.get(n, "#1668c1") for n in nodes]
    link_colour = [("rgba(207,34,46,0.35)" if FLOW_ENDS.get(t) == "#cf222e" else "rgba(22,104,193,0.25)") for t in data["target"]]
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node=dict(label=labels, color=node_colour, pad=26, thickness=16, line=dict(width=0),
                  customdata=[f"{n}: {totals[n]:,.0f} ({totals[n] / population:.1%})" for n in nodes], hovertemplate="%{customdata}<extra></extra>"),
        link=dict(source=[index[a] for a in data["source"]], target=[index[b] for b in data["target"]], value=list(data["customers"]),
                  color=link_colour, hovertemplate="%{source.label} → %{target.label}<br>%{value:,.0f} customers<extra></extra>"),
        textfont=dict(size=13, color="#1f2328"),
    ))
    small = [f"{n} {totals[n]:,.0f}" for n in nodes if 0 < totals[n] < SMALL_NODE * population]
    title = world + (f"  ·  under {SMALL_NODE:.0%} each (unlabelled): " + ", ".join(small) if small else "")
    fig.update_layout(title=dict(text=title, font=dict(size=15)), height=460, margin=dict(l=10, r=10, t=40, b=10))
    return fig


SMALL_NODE = 0.02
"""Stages holding fewer than this share of the population are drawn unlabelled (named in the title, and on hover):
their labels would sit on top of their neighbours' ('loyal: 290 (3%)' over 'waiting for service: 2 (0%)')."""


def show_plotly(fig: go.Figure, table: pd.DataFrame, name: str) -> None:
    """A Plotly chart, then its table (CSV) and the chart as one HTML file with plotly.js inside (readable offline)."""
    st.plotly_chart(fig, key=f"plotly_{name}", config={"displaylogo": False})
    left, right, _ = st.columns([1, 1, 3])
    left.download_button("Table (CSV)", lambda: table.to_csv(index=False), f"{name}.csv", "text/csv", key=f"dl_{name}_csv", on_click="ignore")
    right.download_button("Chart (HTML)", lambda: fig.to_html(include_plotlyjs=True, full_html=True), f"{name}.html", "text/html",
                          key=f"dl_{name}_html", on_click="ignore", help="one file that opens offline: plotly.js is inside")
