"""What the page adds to the charts of :mod:`cxsim.plot`: showing a chart with its downloads (CSV and offline HTML).

Every chart is defined once, in :mod:`cxsim.plot` (results, the trainer's predictions, the classroom's
spread of predictions, the journey flow as a Plotly Sankey, the budget's frontier), so a notebook draws the
same chart as the page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import pandas as pd
import streamlit as st

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


def show_plotly(fig: go.Figure, table: pd.DataFrame, name: str) -> None:
    """A Plotly chart, then its table (CSV) and the chart as one HTML file with plotly.js inside (readable offline)."""
    st.plotly_chart(fig, key=f"plotly_{name}", config={"displaylogo": False})
    left, right, _ = st.columns([1, 1, 3])
    left.download_button("Table (CSV)", lambda: table.to_csv(index=False), f"{name}.csv", "text/csv", key=f"dl_{name}_csv", on_click="ignore")
    right.download_button("Chart (HTML)", lambda: fig.to_html(include_plotlyjs=True, full_html=True), f"{name}.html", "text/html",
                          key=f"dl_{name}_html", on_click="ignore", help="one file that opens offline: plotly.js is inside")
