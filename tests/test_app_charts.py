"""The explorer's charts of results are cxsim.plot's: one definition of each chart, for the page and for notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cxsim import plot

APP = Path(__file__).resolve().parent.parent / "app"
PLOTTED = ("comparison", "funnel", "reasons", "journey", "curves", "stages", "play")
VIEWS = {  # tab → how many charts of cxsim.plot it shows
    "Dashboard": 1, "Watch it run": 1, "Journey funnel": 2, "Ask the non-user": 1, "One customer's journey": 1, "Loyalty and referrals over time": 2,
}


def test_app_charts_defines_no_chart_of_results():
    source = (APP / "charts.py").read_text()
    for gone in ("def differences", "def funnel", "def where_they_left", "def reasons_by_stage", "def feelings", "def curves", "def stages",
                 "def world_color", "PALETTE"):
        assert gone not in source, gone
    assert "import streamlit" not in (Path(plot.__file__)).read_text()


def _spec(text: str) -> dict:
    """A chart's Vega-Lite spec without what Streamlit moves or renames: its datasets (sent apart, under other names),
    the schema, the config (the page's theme) and the autosize Streamlit sets."""
    spec = json.loads(text)
    for key in ("$schema", "config", "datasets", "autosize"):
        spec.pop(key, None)
    return _unnamed(spec)


def _unnamed(node):
    if isinstance(node, dict):
        return {k: ("dataset" if k == "data" and isinstance(v, dict) and set(v) == {"name"} else _unnamed(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_unnamed(v) for v in node]
    return node


@pytest.mark.parametrize("view", list(VIEWS))
def test_each_chart_the_page_shows_is_the_chart_cxsim_plot_built(view, monkeypatch):
    built: list[dict] = []
    for name in PLOTTED:
        def recorded(*args, _draw=getattr(plot, name), **kwargs):
            chart = _draw(*args, **kwargs)
            built.append(_spec(chart.to_json()))
            return chart
        monkeypatch.setattr(plot, name, recorded)
    at = AppTest.from_file(str(APP / "explorer.py"), default_timeout=60)
    at.session_state["aravind:population.customers"] = 2000
    at.session_state["view"] = view
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [_spec(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(shown) == VIEWS[view] and len(built) >= len(shown)
    for spec in shown:
        assert spec in built, f"a chart on {view!r} was not built by cxsim.plot"


def test_several_what_ifs_are_compared_in_one_chart_coloured_by_world(monkeypatch):
    built: list[dict] = []
    draw = plot.comparison
    monkeypatch.setattr(plot, "comparison", lambda *a, **k: built.append(draw(*a, **k)) or built[-1])
    at = AppTest.from_file(str(APP / "explorer.py"), default_timeout=60)
    at.session_state["aravind:population.customers"] = 2000
    at.run()
    at.text_input(key="aravind:world_name").set_value("1980s").run()
    at.button(key="aravind:keep").click().run()
    at.toggle(key="aravind:interventions.free_transport.enabled").set_value(False).run()
    assert not at.exception, [e.value for e in at.exception]
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    colour = spec["spec"]["layer"][2]["encoding"]["color"]
    assert colour["field"] == "world" and colour["scale"]["domain"][0] == "1980s" and colour["scale"]["range"] == plot.PALETTE[1:3]
    assert _spec(at.get("vega_lite_chart")[0].proto.spec) == _spec(built[-1].to_json())
