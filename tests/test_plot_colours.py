"""cxsim.plot's colours and texts as drawn (Vega-Lite rendered to SVG by vl-convert): one meaning per colour, text whole.

Issue 24: with several what-ifs the best world was drawn red; the report coloured the baseline orange; two legend
greys were the same; the intervals legend was clipped to 'bus f'; every axis read 0.000000 with no intervention on;
the journey chart showed ids and 'true/false'."""

from __future__ import annotations

import re

import pytest

import cxsim
from cxsim import plot, report, views

vl_convert = pytest.importorskip("vl_convert")
SEEDS = (1, 2)
RED, GREEN = "#cf222e", "#1a7f37"
LONG = ["bus free transport to hospital", "medicine and follow-up visits", "1980s package", "all barriers removed"]


@pytest.fixture(scope="module")
def five(small):
    """The baseline and four what-ifs with long names, as runs on the same seeds."""
    plans = [["free_transport"], ["free_medicine", "free_follow_up"], None, list(small.interventions)]
    out = {"baseline": [cxsim.run(small.variant("baseline"), seed=s) for s in SEEDS]}
    for name, ivs in zip(LONG, plans):
        sc = small.variant("aravind_1980s") if ivs is None else small.with_interventions(ivs, only=True)
        out[name] = [cxsim.run(sc, seed=s) for s in SEEDS]
    return out


def svg(chart) -> str:
    return vl_convert.vegalite_to_svg(chart.to_dict())


def texts(chart) -> list[str]:
    return [re.sub("<[^>]+>", "", t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg(chart))]


def test_world_colours_baseline_grey_what_ifs_never_red_or_green(five):
    names = list(five)
    colours = plot.world_colours(names)
    assert colours[0] == plot.PALETTE[0] and len(set(colours)) == len(colours)
    assert not {RED, GREEN, "#d62728", "#2ca02c"} & set(plot.PALETTE)
    assert plot.world_colours(names[1:], without_baseline=True) == colours[1:]  # what-ifs keep their colours without the baseline
    assert plot.world_colours(list(reversed(names)))[-1] == plot.PALETTE[0]  # the baseline grey wherever it is given
    for chart in (plot.comparison(five, metrics=["acceptance_rate", "nps"]), plot.funnel(five)):
        drawn = set(re.findall(r'(?:fill|stroke)="(#[0-9a-fA-F]{6})"', svg(chart)))
        assert not {RED, GREEN, "#d62728", "#2ca02c"} & {c.lower() for c in drawn}, drawn


def test_report_colours_each_world_as_the_page_does(five):
    """Before: the report's funnel came from a table sorted by name, so '1980s package' took the baseline's grey."""
    runs = plot.worlds(five)
    html = report.comparison_report("aravind", {w: r[0].scenario for w, r in five.items()}, runs, list(SEEDS))
    want = plot.world_colours(list(five))
    domain = re.search(r'"domain": \[("baseline"[^\]]*)\], "range": \[([^\]]*)\]', html)
    assert domain, "the funnel's colour scale is not in the report"
    names = re.findall(r'"([^"]*)"', domain.group(1))
    colours = re.findall(r'"([^"]*)"', domain.group(2))
    assert dict(zip(names, colours)) == dict(zip(five, want))


def test_the_two_greys_of_the_readings_legend_differ():
    scale = plot.READING_COLOR.to_dict()["scale"]
    colour = dict(zip(scale["domain"], scale["range"]))
    assert colour["no clear change"] != colour["no change"]


def test_the_intervals_legend_shows_every_world_name_whole(five):
    shown = texts(plot.comparison(five, metrics=["acceptance_rate", "nps"]))
    for name in LONG:
        assert name in shown, (name, [t for t in shown if t[:3] == name[:3]])


def test_no_axis_reads_0_000000_when_nothing_changes(small):
    base = [cxsim.run(small.variant("baseline"), seed=s) for s in SEEDS]
    same = [cxsim.run(small.variant("baseline"), seed=s) for s in SEEDS]
    shown = texts(plot.comparison(base, same))
    assert not any(re.search(r"\d\.\d{4,}", t) for t in shown), [t for t in shown if re.search(r"\d\.\d{4,}", t)]


def test_the_journey_chart_speaks_in_words(five):
    res = five["1980s package"][0]
    who = int(res.model.tracked.nonzero()[0][0])
    shown = " ".join(texts(plot.journey(res, who)))
    assert "camp_screening" not in shown and "_" not in shown.replace("—", "")
    assert "true" not in shown.split() and "false" not in shown.split()
    assert "moved the feeling" in shown
