"""Charts of cxsim results: Altair (Vega-Lite) charts for notebooks, reports and the explorer (no Streamlit).

    import cxsim
    from cxsim import plot
    sc = cxsim.load_scenario("aravind")
    base = [cxsim.run(sc.variant("baseline"), seed=s) for s in (1, 2, 3)]
    freed = [cxsim.run(sc.variant("aravind_1980s"), seed=s) for s in (1, 2, 3)]
    plot.funnel(baseline=base, aravind_1980s=freed)      # customers reaching each milestone
    plot.reasons(baseline=base, aravind_1980s=freed)     # why non-users stay away, by stage
    plot.curves(baseline=base, aravind_1980s=freed)      # metrics over time, 95% band over replicates
    plot.comparison(base, freed)                         # paired differences with 95% intervals, one scale per unit
    plot.journey(base[0], 42)                            # one customer's feelings, peak and end marked
    plot.observed(counts, kind="funnel", baseline=base)  # observed counts (calibration.observed) against the worlds

Results come in any of these shapes:

* a :class:`~cxsim.engine.model.Results` (one run), or a list of them (replicates of one world:
  the same scenario on different seeds);
* worlds side by side, as keywords (``baseline=..., aravind_1980s=...``) or one dict
  ``{world: results}``; run the worlds on the same seeds to compare them (common random numbers);
* :func:`cxsim.views.run_tables` of runs in place of Results (what the explorer caches);
* the table a :mod:`cxsim.views` builder returned (``funnel_table``, ``dropout_table``,
  ``timeseries_table``, ``stage_table``, ``paired_comparison``), or one run's own table
  (``res.funnel``, ``res.dropouts``, ``res.timeseries``), charted as it is.

Every function returns an Altair chart: it shows itself in Jupyter, ``.save("x.html")``
writes it, ``.to_dict()`` is its Vega-Lite specification. These are the explorer's own charts:
the page draws every chart of results through this module.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any, Mapping

import altair as alt
import pandas as pd

from . import views
from .readouts.metrics import FUNNEL, METRIC_BY_NAME, SCALAR_OUTCOMES
from .state.params import CxError

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from .engine.model import CxModel, Results
    from .engine.scenario import Scenario

WIDTH = 560
PALETTE = ["#9aa5b1", "#1668c1", "#f2a541", "#8250df", "#8c564b", "#e377c2", "#0a3069", "#bf8700"]
"""World colours: the baseline always this grey (the first), what-ifs the others in the order given – never red or
green, which mean worse and better (:data:`READING_COLOR`). The page, the HTML report and notebooks share them."""
BASELINE = "baseline"
STAGE_ORDER = ["decision", "access", "loyalty"]
ONE_WORLD = "run"
"""The world name of results passed without one (a single run or a list of replicates)."""


# -- results in any shape → the explorer's run tables, per world ---------------------------------
def _is_results(x: Any) -> bool:
    return hasattr(x, "model") and hasattr(x, "summary") and hasattr(x, "funnel")


def _runs(value: Any, world: str) -> list[dict]:
    """One world's replicates as :func:`cxsim.views.run_tables` (Results, run tables or a list of either)."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise CxError(f"world {world!r}: no results given")
    runs = []
    for item in items:
        if _is_results(item):
            runs.append(views.run_tables(item))
        elif isinstance(item, Mapping) and {"funnel", "dropouts", "timeseries", "outcomes"} <= set(item):
            runs.append(item)
        else:
            raise CxError(f"world {world!r}: expected cxsim.Results, views.run_tables(...) or a list of them, got {type(item).__name__}")
    return runs


def _world_inputs(data: Any, named: dict[str, Any]) -> dict[str, Any]:
    if data is not None and named:
        raise CxError("give results either as one argument or as world=results keywords, not both")
    if named:
        return dict(named)
    if data is None:
        raise CxError("no results given: pass cxsim.Results, a list of them (replicates) or world=results keywords")
    if isinstance(data, Mapping) and not {"funnel", "outcomes"} <= set(data):
        return dict(data)
    return {ONE_WORLD: data}


def worlds(data: Any = None, /, **named: Any) -> dict[str, list[dict]]:
    """Results in any accepted shape as ``{world: [run tables of each replicate]}`` (see the module's help)."""
    return {str(w): _runs(v, str(w)) for w, v in _world_inputs(data, named).items()}


def _first_results(data: Any, named: dict[str, Any]) -> "Results | None":
    """A Results among the inputs, to read the scenario's units and words from (None: only tables)."""
    try:
        inputs = _world_inputs(data, named)
    except CxError:
        return None
    for value in inputs.values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if _is_results(item):
                return item
    return None


def _scenario(data: Any, named: dict[str, Any]) -> "Scenario | None":
    res = _first_results(data, named)
    return None if res is None else res.scenario


def _table(data: Any, named: dict[str, Any], builder, part: str, needs: set[str]) -> pd.DataFrame:
    """A views table: built from results, taken as given, or built from one run's own table."""
    if isinstance(data, pd.DataFrame) and not named:
        if "world" not in data.columns:  # one run's own table, e.g. res.funnel
            try:
                return builder({ONE_WORLD: [{part: data}]})
            except KeyError as err:
                raise CxError(f"table for this chart lacks column {err}: pass results, res.{part} or the table cxsim.views builds") from None
        missing = needs - set(data.columns)
        if missing:
            raise CxError(f"table for this chart lacks column(s) {', '.join(sorted(missing))}: pass results or the table cxsim.views builds")
        return data
    runs = worlds(data, **named)
    return _in_order(builder(runs), list(runs))


def _in_order(table: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Rows grouped by world in the order the worlds were given (the views' tables sort them by name)."""
    if table.empty:
        return table
    rank = table["world"].map({w: k for k, w in enumerate(names)})
    return table.iloc[rank.argsort(kind="stable")].reset_index(drop=True)


def world_colours(names: list[str], without_baseline: bool = False) -> list[str]:
    """Each world's colour, the same in every chart: the baseline (the world named 'baseline', else the first one)
    grey, then one colour per what-if in order; what-ifs shown ``without_baseline`` (the differences chart) keep
    the colours they have beside it. Never red or green."""
    base = BASELINE if BASELINE in names else (None if without_baseline else (names[0] if names else None))
    out, k = [], 1
    for name in names:
        if name == base:
            out.append(PALETTE[0])
        else:
            out.append(PALETTE[1 + (k - 1) % (len(PALETTE) - 1)])
            k += 1
    return out


WORLD_LEGEND = dict(orient="bottom", labelLimit=0, labelFontSize=12, labelColor="#1f2328", symbolSize=120)
"""Worlds' legend: under the chart, names whole (``labelLimit=0``: never clipped to 'bus f')."""


def _world_color(names: list[str], without_baseline: bool = False) -> alt.Color:
    return alt.Color("world:N", scale=alt.Scale(domain=names, range=world_colours(names, without_baseline)), sort=names, title=None,
                     legend=alt.Legend(**WORLD_LEGEND))


def _world_facet(names: list[str], wrap: bool = True) -> alt.Facet:
    """One panel per world, in the order given, wrapped at three a row (``wrap=False``: for ``.facet``, given ``columns``)."""
    header = alt.Header(labelFontSize=12)
    if wrap:
        return alt.Facet("world:N", sort=names, title=None, columns=min(len(names), 3), header=header)
    return alt.Facet("world:N", sort=names, title=None, header=header)


def _world_names(table: pd.DataFrame) -> list[str]:
    """The worlds of a table in the order given, the baseline first (the views' tables sort worlds by name)."""
    names = list(dict.fromkeys(table["world"]))
    return ([BASELINE] if BASELINE in names else []) + [n for n in names if n != BASELINE]


# -- the charts ----------------------------------------------------------------------------------
def funnel(data: Any = None, /, **named: Any) -> alt.Chart:
    """Customers reaching each journey milestone (mean over replicates), worlds side by side, labelled with the share."""
    table = _table(data, named, views.funnel_table, "funnel", {"world", "label", "order", "customers", "share_of_population"})
    names = _world_names(table)
    order = list(table.sort_values("order")["label"].drop_duplicates())
    base = alt.Chart(table).encode(
        y=alt.Y("label:N", sort=order, title=None),
        yOffset=alt.YOffset("world:N", sort=names),
        x=alt.X("customers:Q", title="customers (mean over replicates)"),
    )
    tip = ["world:N", "label:N", alt.Tooltip("customers:Q", format=",.0f"), alt.Tooltip("share_of_population:Q", format=".1%")]
    bars = base.mark_bar().encode(color=_world_color(names), tooltip=tip)
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(text=alt.Text("share_of_population:Q", format=".1%"))
    return (bars + text).properties(width=WIDTH, height=max(160, 24 * len(FUNNEL) * len(names)), title="How many customers reach each stage")


def reasons(data: Any = None, /, by: str = "reason", **named: Any) -> alt.Chart:
    """Why non-users stay away, per world: customers per reason coloured by the stage they left at
    (``by="stage"``: per stage, coloured by reason)."""
    if by not in ("reason", "stage"):
        raise CxError(f"by = {by!r}: must be 'reason' or 'stage'")
    table = _table(data, named, views.dropout_table, "dropouts", {"world", "stage", "reason", "customers"})
    if table.empty:
        return alt.Chart(pd.DataFrame({"text": ["Nobody stayed away."]})).mark_text(fontSize=14).encode(text="text:N").properties(width=WIDTH, height=60)
    names = _world_names(table)
    other = "stage" if by == "reason" else "reason"
    colour = alt.Color(f"{other}:N", sort=STAGE_ORDER if other == "stage" else None, title="left at" if other == "stage" else "reason")
    return alt.Chart(table).mark_bar().encode(
        x=alt.X("customers:Q", title="non-users (mean over replicates)"),
        y=alt.Y(f"{by}:N", sort=STAGE_ORDER if by == "stage" else "-x", title=None if by == "reason" else "left at"),
        color=colour,
        row=alt.Row("world:N", sort=names, title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
        tooltip=["world:N", "reason:N", "stage:N", alt.Tooltip("customers:Q", format=",.0f")],
    ).properties(width=WIDTH, height=max(60, 26 * table[by].nunique()), title="Why non-users stay away")


def curves(data: Any = None, /, metrics: list[str] | tuple[str, ...] = views.CURVES, step_unit: str | None = None, **named: Any) -> alt.FacetChart:
    """Metrics over time, one row per metric: the replicate mean and its 95% band, worlds overlaid (seeds only: the subtitle says so)."""
    scenario = _scenario(data, named)
    unknown = [m for m in metrics if m not in METRIC_BY_NAME]
    if unknown:
        raise CxError(f"metric {unknown[0]!r}: choose from {', '.join(SCALAR_OUTCOMES)}")
    table = _table(data, named, lambda r: views.timeseries_table(r, list(metrics)), "timeseries", {"world", "label", "step", "mean", "low", "high"})
    names = _world_names(table)
    unit = step_unit or (scenario.step_unit if scenario is not None else "step")
    x, colour = alt.X("step:Q", title=unit), _world_color(names)
    band = alt.Chart().mark_area(opacity=0.25).encode(x=x, y=alt.Y("low:Q", title=None), y2="high:Q", color=colour)
    tip = ["world:N", "label:N", "step:Q", alt.Tooltip("mean:Q", format=",.3~f"), alt.Tooltip("low:Q", format=",.3~f"), alt.Tooltip("high:Q", format=",.3~f")]
    line = alt.Chart().mark_line().encode(x=x, y="mean:Q", color=colour, tooltip=tip)
    layered = alt.layer(band, line).properties(width=WIDTH + 160, height=150)
    header = alt.Header(labelAngle=0, labelAlign="left")
    labels = [METRIC_BY_NAME[m].label for m in metrics] if "metric" in table.columns else None  # rows in the order asked for
    return layered.facet(row=alt.Row("label:N", sort=labels, title=None, header=header), data=table).resolve_scale(y="independent").properties(
        title=alt.TitleParams("Over time: mean and 95% band over replicates", subtitle=_band_words(table)))


def _band_words(table: pd.DataFrame) -> str:
    return "chance only: seeds of the scenario's own parameters (no posterior draws); no band below 3 replicates"


def stages(data: Any = None, /, step_unit: str | None = None, **named: Any) -> alt.Chart:
    """Customers in each journey stage over time (mean over replicates), one panel per world."""
    scenario = _scenario(data, named)
    table = _table(data, named, views.stage_table, "timeseries", {"world", "step", "stage", "customers"})
    unit = step_unit or (scenario.step_unit if scenario is not None else "step")
    return alt.Chart(table).mark_area().encode(
        x=alt.X("step:Q", title=unit),
        y=alt.Y("customers:Q", stack="zero", title="customers"),
        color=alt.Color("stage:N", sort=None, scale=alt.Scale(scheme="tableau10")),
        facet=_world_facet(_world_names(table)),
        tooltip=["world:N", "step:Q", "stage:N", alt.Tooltip("customers:Q", format=",.0f")],
    ).properties(width=WIDTH // 2 + 40, height=220)


READING_COLOR = alt.Color(
    "reading:N", title=None, legend=alt.Legend(orient="bottom", labelFontSize=12),
    scale=alt.Scale(domain=["better", "worse", "no clear change", "changed", "no change"],
                    range=["#1a7f37", "#cf222e", "#8c959f", "#57606a", "#d0d7de"]),
)
"""A difference coloured by how it reads for its measure (:func:`cxsim.views.verdict`, by the measure's ``better``)."""
AXIS = dict(labelFontSize=12, labelColor="#1f2328", titleFontSize=12, titleColor="#1f2328")


def uncertainty_words(table: pd.DataFrame) -> str:
    """Which uncertainty a table's intervals carry, in words (its ``uncertainty`` column from :mod:`cxsim.ensemble`, else seeds only)."""
    from .uncertainty import POSTERIOR

    kind = table["uncertainty"].iloc[0] if "uncertainty" in table.columns and len(table) else None
    n = int(table["replicates"].max()) if "replicates" in table.columns and len(table) else 0
    if kind == POSTERIOR:
        return f"95% interval over posterior draws × seeds ({n} paired runs): uncertainty of the parameters and of chance"
    if n and n < 3:
        return f"{n} seed(s): too few for an interval; chance only, parameters fixed at the scenario's values"
    return f"95% interval over {n} seeds: chance only, parameters fixed at the scenario's values (no posterior)"


def comparison(baseline: Any, alternative: Any = None, /, metrics: list[str] | None = None, currency: str | None = None,
               uncertainty: str | None = None) -> alt.FacetChart:
    """The comparison cards as a chart: per metric, the paired difference (alternative − baseline) and its 95% interval,
    labelled with both worlds' means.

    ``baseline`` and ``alternative`` are replicates run on the same seeds (Results, run
    tables, or lists of them); or give one ``{baseline_name: ..., other_name: ..., ...}`` dict
    (the first world is the baseline, every other is compared with it); or a table from
    :func:`cxsim.views.paired_comparison`, :func:`cxsim.experiments.compare` or
    :func:`cxsim.views.worlds_comparison` (several what-ifs), or a :class:`cxsim.ensemble.Ensemble` (its
    differences, paired within each posterior draw). ``metrics`` default to the explorer's cards. The subtitle
    says which uncertainty the intervals carry (``uncertainty``: your own words; default: from the results).

    One panel per unit group (percentage points, customers, currency, …): its rows share one
    scale, so their bars compare. One what-if: coloured by the reading (better, worse, no clear
    change, by whether more is better for that measure); several: coloured by what-if, side by
    side in each row, hollow where the interval spans zero.
    """
    if hasattr(baseline, "differences") and hasattr(baseline, "caption"):  # an ensemble
        uncertainty = uncertainty or baseline.caption
        baseline = baseline.differences()
    table, names, scenario = _paired(baseline, alternative)
    uncertainty = uncertainty or uncertainty_words(table)
    cur = currency or (scenario.currency if scenario is not None else "currency")
    first = table[table["world"] == names[1]] if "world" in table else table
    chosen = metrics or views.card_metrics(first, first=views.scenario_measures(scenario) if scenario else ())
    shown = comparison_table(table, chosen, cur)
    whatifs = list(names[1:])
    several = len(whatifs) > 1
    tip = ["world:N", "label:N", "unit:N", "reading:N", "text:N"] + [
        alt.Tooltip(f"{c}:Q", format=",.3~f") for c in ("baseline", "intervention", "difference", "ci_low", "ci_high")]
    y = alt.Y("label:N", sort=list(dict.fromkeys(shown["label"])), title=None, axis=alt.Axis(labelLimit=360, **AXIS))
    color = _world_color(whatifs, without_baseline=True) if several else READING_COLOR
    base = alt.Chart().encode(y=y, yOffset=alt.YOffset("world:N", sort=whatifs)) if several else alt.Chart().encode(y=y)
    rule = base.mark_rule(strokeWidth=4).encode(x=alt.X("ci_low:Q", title=None, axis=alt.Axis(grid=True, format=",.4~g", **AXIS)), x2="ci_high:Q", color=color)
    point = base.mark_point(size=110, opacity=1, strokeWidth=2).encode(
        x="difference:Q", color=color, tooltip=tip, fill=alt.condition("datum.clear", color, alt.value("white")) if several else color)
    text = base.mark_text(align="left", dx=10, fontSize=10 if several else 11, color="#333").encode(x="end:Q", text="text:N")
    zero = alt.Chart().mark_rule(color="#57606a", strokeDash=[4, 4]).encode(x=alt.datum(0))
    layered = alt.layer(zero, rule, point, text).properties(width=WIDTH, height=alt.Step(14 * len(whatifs) + 8 if several else 30))
    header = alt.Header(labelAngle=0, labelAlign="left", labelAnchor="start", labelFontSize=13, labelFontWeight="bold",
                        labelColor="#1f2328", title=None, labelOrient="top")
    what = "what-if" if several else names[1]
    return (
        layered.facet(row=alt.Row("scale:N", sort=list(dict.fromkeys(shown["scale"])), header=header), data=shown)
        .resolve_scale(x="independent", y="independent")
        .properties(title=alt.TitleParams(f"{what} − {names[0]}: paired difference and 95% interval", subtitle=uncertainty))
        .configure_facet(spacing=14)
        .configure_view(stroke=None)
    )


def _paired(baseline: Any, alternative: Any) -> tuple[pd.DataFrame, tuple[str, ...], "Scenario | None"]:
    """The paired-comparison table, the worlds' names (the baseline first) and (when results were given) the scenario."""
    if isinstance(baseline, pd.DataFrame):
        table = baseline.rename(columns={"alternative": "intervention", "value": "intervention"})
        if "world" in table:  # views.worlds_comparison: several what-ifs against one baseline
            return table, ("baseline", *dict.fromkeys(table["world"])), None
        return table, ("baseline", "alternative"), None
    if alternative is None and isinstance(baseline, Mapping) and len(baseline) >= 2:
        given = {str(w): v for w, v in baseline.items()}
        names = tuple(given)
        for world in names[1:]:
            _check_same_seeds(given[names[0]], given[world])
        runs = {w: _runs(v, w) for w, v in given.items()}
        table = views.worlds_comparison(runs, baseline=names[0]).rename(columns={"value": "intervention"})
        if len(names) == 2:
            table = table.drop(columns="world")
        return table, names, _scenario(given[names[0]], {})
    if alternative is None:
        raise CxError("comparison needs two worlds: comparison(baseline, alternative), or a dict of worlds, or a paired_comparison table")
    _check_same_seeds(baseline, alternative)
    table = views.paired_comparison(_runs(baseline, "baseline"), _runs(alternative, "alternative"))
    return table, ("baseline", "alternative"), _scenario(baseline, {})


def comparison_table(table: pd.DataFrame, metrics: list[str], currency: str = "currency") -> pd.DataFrame:
    """Rows of :func:`cxsim.views.paired_comparison` (or :func:`~cxsim.views.worlds_comparison`) for ``metrics``, in
    display units, with each row's reading, unit group (``scale``) and the text of a card:
    'baseline → alternative: difference ±interval'."""
    table = table.rename(columns={"alternative": "intervention", "value": "intervention"})
    unknown = [m for m in metrics if m not in set(table["metric"])]
    if unknown:
        raise CxError(f"metric {unknown[0]!r}: choose from {', '.join(dict.fromkeys(table['metric']))}")
    rank = {m: k for k, m in enumerate(metrics)}
    raw = table[table["metric"].isin(rank)].dropna(subset=["difference"])
    raw = raw.iloc[raw["metric"].map(rank).argsort(kind="stable")].reset_index(drop=True)
    shown = views.display_comparison(raw, currency)
    if "world" not in shown:
        shown.insert(0, "world", "alternative")
    shown["title"] = shown["label"] + " (" + shown["unit"] + ")"
    shown["text"] = [f"{views.fmt(r['baseline'], r['metric'], currency, compact=True)} → {views.fmt(r['intervention'], r['metric'], currency, compact=True)}: "
                     f"{views.fmt_difference(r, currency, compact=True)}" for r in raw.to_dict("records")]
    shown["end"] = shown[["ci_high", "difference"]].max(axis=1)
    shown["clear"] = ~shown["reading"].isin(["no clear change", "no change"])
    return shown


def play(stages: pd.DataFrame, curves: pd.DataFrame, week: int, step_unit: str = "week", steps: int | None = None) -> alt.VConcatChart:
    """One frame of the Play of a computed run (:func:`cxsim.views.play_tables`): customers in each stage at ``week``,
    worlds side by side in their colours, and the cumulative curves up to it on the whole horizon's scale, so the
    bars move and the curves grow from frame to frame."""
    now, grown = views.play_week(stages, curves, week)
    names = _world_names(stages)
    order = list(dict.fromkeys(stages["stage"]))
    top = float(stages["customers"].max() or 1)
    colour = _world_color(names)
    bars = alt.Chart(now).mark_bar().encode(
        y=alt.Y("stage:N", sort=order, title=None, axis=alt.Axis(labelLimit=220, **AXIS)),
        yOffset=alt.YOffset("world:N", sort=names),
        x=alt.X("customers:Q", title=f"customers in {step_unit} {week} (mean over replicates)", scale=alt.Scale(domain=[0, top]),
                axis=alt.Axis(format=",.0f", **AXIS)),
        color=colour, tooltip=["world:N", "stage:N", alt.Tooltip("customers:Q", format=",.0f")],
    )
    text = alt.Chart(now).mark_text(align="left", dx=3, fontSize=11, color="#1f2328").encode(
        y=alt.Y("stage:N", sort=order), yOffset=alt.YOffset("world:N", sort=names), x="customers:Q", text=alt.Text("customers:Q", format=",.0f"))
    strip = (bars + text).properties(width=WIDTH, height=24 * len(order) * max(1, len(names)) // 2 + 40,
                                     title=f"Where the customers are in {step_unit} {week}")
    last = int(steps if steps is not None else stages["step"].max())
    x = alt.X("step:Q", title=step_unit, scale=alt.Scale(domain=[0, max(1, last)]))
    lines = alt.Chart().mark_line(point=False, strokeWidth=2.5).encode(
        x=x, y=alt.Y("value:Q", title=None, axis=alt.Axis(format=",.0f", **AXIS)), color=colour,
        tooltip=["world:N", "what:N", "step:Q", alt.Tooltip("value:Q", format=",.0f")],
    ).properties(width=WIDTH // 2 - 20, height=150)
    grow = lines.facet(column=alt.Column("what:N", title=None, header=alt.Header(labelFontSize=12, labelFontWeight="bold")), data=grown
                       ).resolve_scale(y="independent")
    return alt.vconcat(strip, grow).properties(title=f"{step_unit.capitalize()} {week} of {last}")


# -- the explorer's teaching and planning charts (the page shows them with their downloads) ---------------------------
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
    import plotly.graph_objects as go  # imported here only: it is slow to import (off the explorer's first page)

    from .views import FLOW_NODES

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


def _metric_label(name: str) -> str:
    return METRIC_BY_NAME[name].label if name in METRIC_BY_NAME else name


def frontier(plans: pd.DataFrame, front: pd.DataFrame, primary: str, budget: float, best_trial: int | None,
             currency: str = "") -> alt.LayerChart:
    """Best plan for a budget: every plan (grey), the frontier with 95% intervals of the objective and of cost, the budget
    and the recommended plan (``best_trial``). ``plans``, ``front``: an optimisation's plans and frontier tables as
    :func:`cxsim.views.plans_shown` gives them (plans in words, the objective in its display unit)."""
    _, unit = views.display_unit(primary, currency)
    front = front.assign(recommended=lambda d: d["trial"] == best_trial)
    x = alt.X("intervention_cost:Q", title=f"intervention cost ({currency})" if currency else "intervention cost", axis=alt.Axis(format=",~s"))
    y = alt.Y(f"{primary}:Q", title=f"{_metric_label(primary)} ({unit})" if unit else _metric_label(primary), axis=alt.Axis(format=",.4~g"))
    tip = ["plan", alt.Tooltip(f"{primary}:Q", format=",.1f", title=_metric_label(primary)), alt.Tooltip("intervention_cost:Q", format=",.0f", title="cost")]
    cloud = alt.Chart(plans[plans["feasible"]]).mark_point(color="lightgray").encode(x, y, tooltip=tip)
    base = alt.Chart(front)
    bars = base.mark_rule(color="steelblue").encode(x, alt.Y(f"{primary}_low:Q"), alt.Y2(f"{primary}_high:Q"))
    spans = base.mark_rule(color="steelblue", opacity=0.5).encode(alt.X("intervention_cost_low:Q"), alt.X2("intervention_cost_high:Q"), y)
    points = base.mark_point(filled=True, size=80).encode(
        x, y, color=alt.condition("datum.recommended", alt.value("orange"), alt.value("steelblue")),
        tooltip=tip + [alt.Tooltip(f"{primary}_low:Q", format=",.1f", title="95% low"), alt.Tooltip(f"{primary}_high:Q", format=",.1f", title="95% high"),
                       alt.Tooltip("main_reason_removed:N", title="main reason removed")])
    line = base.mark_line(color="steelblue", opacity=0.4).encode(x, y)
    rule = alt.Chart(pd.DataFrame({"budget": [budget]})).mark_rule(strokeDash=[4, 4], color="gray").encode(x=alt.X("budget:Q"))
    return alt.layer(cloud, line, bars, spans, points, rule).properties(height=380)


OBSERVED_COLOUR = "#1f2328"
OBSERVED_TITLES = {"funnel": "Observed funnel against the simulated worlds: each stage's rate of the stage before",
                   "scores": "Observed scores to recommend (0–10) against the simulated worlds: share of answers",
                   "reasons": "Reasons non-users gave, observed against the simulated worlds: share of non-users"}


def observed(data: Any, /, kind: str | None = None, **named: Any) -> alt.Chart:
    """Observed figures beside the simulated worlds, with 95% intervals (Wilson's for the observed shares,
    over replicates for the simulated ones).

    ``data`` is a table of :mod:`cxsim.calibration.compare` (``funnel_table``, ``scores_table``,
    ``reasons_table``); or observed counts (``cxsim.calibration.observed.read_upload``) with their
    ``kind`` and the worlds as keywords (results in any shape, run on the same seeds).
    """
    if kind is not None:
        from .calibration import compare

        builders = {"funnel": compare.funnel_table, "scores": compare.scores_table, "reasons": compare.reasons_table}
        if kind not in builders:
            raise CxError(f"kind = {kind!r}: choose from {', '.join(builders)}")
        data = builders[kind](data, worlds(**named))
    if not isinstance(data, pd.DataFrame) or not {"figure", "item", "order", "source", "value", "low", "high"} <= set(data.columns):
        raise CxError("observed() needs a table of cxsim.calibration.compare, or observed counts with kind= and the worlds")
    figure = str(data["figure"].iloc[0]) if len(data) else "funnel"
    sources = list(dict.fromkeys(data["source"]))
    names = [s for s in sources if s != "observed"]
    domain = (["observed"] if "observed" in sources else []) + names
    colours = ([OBSERVED_COLOUR] if "observed" in sources else []) + world_colours(names)
    colour = alt.Color("source:N", scale=alt.Scale(domain=domain, range=colours), sort=domain, title=None,
                       legend=alt.Legend(orient="bottom", labelFontSize=12))
    items = list(data.sort_values("order", kind="stable")["item"].drop_duplicates())
    base = alt.Chart(data).encode(
        y=alt.Y("item:N", sort=items, title=None, axis=alt.Axis(labelLimit=320, **AXIS)),
        yOffset=alt.YOffset("source:N", sort=domain),
    )
    x = alt.X("value:Q", title="share (95% interval)", axis=alt.Axis(format="%", grid=True, **AXIS), scale=alt.Scale(domain=[0, 1]))
    tip = ["source:N", "item:N", alt.Tooltip("value:Q", format=".1%"), alt.Tooltip("low:Q", format=".1%"), alt.Tooltip("high:Q", format=".1%")]
    rule = base.mark_rule(strokeWidth=3).encode(x=alt.X("low:Q"), x2="high:Q", color=colour)
    point = base.mark_point(filled=True, size=70, opacity=1).encode(x=x, color=colour, shape=alt.condition(
        "datum.source == 'observed'", alt.value("diamond"), alt.value("circle")), tooltip=tip)
    height = 130 + 20 * len(items) * len(domain)  # the page fits title, axis and legend into the height too (autosize fit)
    return alt.layer(rule, point).properties(width=WIDTH, height=height, title=OBSERVED_TITLES.get(figure, figure))


def fit_residuals(table: pd.DataFrame) -> alt.Chart:
    """A calibration's targets at the best fit (:func:`cxsim.calibration.compare.fit_table`): each residual
    (fitted − figure, in units of the combined standard error), the band ±2 within noise shaded."""
    items = list(table.sort_values("order")["target"])
    y = alt.Y("target:N", sort=items, title=None, axis=alt.Axis(labelLimit=360, **AXIS))
    shown = table.assign(reading=lambda d: d["within_noise"].map({True: "within noise (|residual| ≤ 2)", False: "outside noise"}))
    colour = alt.Color("reading:N", title=None, legend=alt.Legend(orient="bottom", labelFontSize=12),
                       scale=alt.Scale(domain=["within noise (|residual| ≤ 2)", "outside noise"], range=["#1a7f37", "#cf222e"]))
    band = alt.Chart(pd.DataFrame({"low": [-2.0], "high": [2.0]})).mark_rect(color="#eaeef2").encode(x="low:Q", x2="high:Q")
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#8c959f", strokeDash=[4, 4]).encode(x="x:Q")
    tip = ["target:N", alt.Tooltip("observed:Q", format=",.4~g"), alt.Tooltip("fitted:Q", format=",.4~g"),
           alt.Tooltip("fitted_low:Q", format=",.4~g"), alt.Tooltip("fitted_high:Q", format=",.4~g"), alt.Tooltip("residual:Q", format="+.2f")]
    bars = alt.Chart(shown).mark_bar().encode(
        x=alt.X("residual:Q", title="residual: (fitted − figure) / combined se", axis=alt.Axis(grid=True, **AXIS)), y=y, color=colour, tooltip=tip)
    height = 130 + 30 * len(items)  # the page fits title, axis and legend into the height too (autosize fit)
    return alt.layer(band, zero, bars).properties(width=WIDTH, height=height, title="Each target at the best fit")


def _check_same_seeds(baseline: Any, alternative: Any) -> None:
    def seeds(x):
        items = list(x) if isinstance(x, (list, tuple)) else [x]
        return [item.seed for item in items] if all(_is_results(i) for i in items) else None

    b, a = seeds(baseline), seeds(alternative)
    if b is not None and a is not None and b != a:
        raise CxError(f"seeds = {a}: a paired comparison needs the baseline's seeds {b}, in the same order")


def _model(x: Any, world: str) -> "CxModel":
    model = x.model if _is_results(x) else x
    if not hasattr(model, "events_frame"):
        raise CxError(f"world {world!r}: expected a cxsim.Results or a CxModel, got {type(x).__name__}")
    return model


def journey_table(model: Any, customer: int) -> pd.DataFrame:
    """One customer's moments in each world (``model``: Results, CxModel or ``{world: either}``), peak and end marked."""
    models = dict(model) if isinstance(model, Mapping) else {ONE_WORLD: model}
    frames = []
    for world, m in models.items():
        m = _model(m, world)
        n = len(m.tracked)
        if not 0 <= int(customer) < n:
            raise CxError(f"customer = {customer}: must be in 0 to {n - 1}")
        if not m.tracked[customer]:
            some = ", ".join(str(i) for i in m.tracked.nonzero()[0][:5])
            raise CxError(f"customer = {customer}: their touchpoints were not recorded (a random sample is tracked, e.g. {some}; see model.tracked)")
        frames.append(views.journey_table(m.events_frame(), int(customer)).assign(world=str(world)))
    return pd.concat(frames, ignore_index=True)


MARKER_COLOUR = "#1f2328"
"""The peak and the end of a journey: ringed in near-black (red and green mean worse and better)."""


def journey(model: Any, customer: int | None = None) -> alt.FacetChart:
    """One customer's feelings moment by moment through the touchpoints, with their peak and end marked (peak-end rule).

    ``model`` is a Results or a CxModel, or ``{world: either}`` to follow the same person through
    several worlds, or a table from :func:`journey_table` (then ``customer`` may be left out).
    """
    if isinstance(model, pd.DataFrame):  # a journey table already (journey_table, or views.journey_table with a world column)
        table = model if "world" in model.columns else model.assign(world=ONE_WORLD)
        customer = int(table["customer"].iloc[0]) if customer is None and len(table) else customer
    else:
        table = journey_table(model, customer)
    names = _world_names(table)
    table = table.assign(event=table["event"].map(views.readable), stage=table["stage"].map(views.readable), effect=table["moved"].map(
        {True: "moved the feeling", False: "left the feeling as it was"}))  # words, not ids or true/false
    x = alt.X("moment:Q", title="moment (touchpoint or transition, in order)", axis=alt.Axis(tickMinStep=1))
    y = alt.Y("valence:Q", title="feeling (−1 bad … +1 good)", scale=alt.Scale(domain=[-1, 1]))
    tip = ["world:N", "moment:Q", "step:Q", "stage:N", "event:N", "note:N", alt.Tooltip("valence:Q", format="+.2f"),
           alt.Tooltip("feeling_change:Q", format="+.2f"), alt.Tooltip("fear:Q", format=".2f")]
    base = alt.Chart().encode(x=x, y=y)
    line = base.mark_line(color=PALETTE[0])
    dots = base.mark_point(filled=True, size=70).encode(color=alt.Color("stage:N", title="stage"), shape=alt.Shape("effect:N", title=None, sort=["moved the feeling", "left the feeling as it was"]), tooltip=tip)
    marked = base.transform_filter("datum.marker != ''")
    rings = marked.mark_point(size=320, color=MARKER_COLOUR, strokeWidth=2)  # not red: red means worse
    labels = marked.mark_text(dy=-16, color=MARKER_COLOUR, fontWeight="bold").encode(text="marker:N")
    events = base.transform_filter("datum.moved").mark_text(dy=16, fontSize=10, color="#444").encode(text="event:N")
    zero = alt.Chart().mark_rule(color="#ccc").encode(y=alt.datum(0))
    layered = alt.layer(zero, line, dots, rings, labels, events).properties(width=WIDTH if len(names) == 1 else WIDTH // 2 + 40, height=260)
    return layered.facet(facet=_world_facet(names, wrap=False), columns=min(len(names), 3), data=table).properties(title=f"Customer {customer}'s journey: peak and end marked")


# -- rich display of one run ----------------------------------------------------------------------
SUMMARY = ("acceptance_rate", "nps", "mean_loyalty", "referrals", "referral_acceptances", "intervention_cost", "return_on_spend")


def summary_html(res: "Results") -> str:
    """One run as compact HTML: who, size and seed; the headline metrics; the top reasons; the funnel as bars.

    Plain HTML (no scripts), so it shows in any notebook front end, offline and on GitHub.
    """
    s, sc = res.summary, res.scenario
    cur = sc.currency
    on = ", ".join(sc.enabled_interventions) or "none"
    head = (f"<b>cxsim.Results</b> · {html.escape(sc.title or sc.name)} · interventions: {html.escape(on)} · "
            f"{int(s['customers']):,} customers × {int(s['steps'])} {html.escape(sc.step_unit)}s · seed {res.seed}")
    rows = "".join(
        f"<tr><td style='padding:0 0.4em;text-align:left'>{html.escape(views.describe(m)[0])}</td><td style='padding:0 0.4em;text-align:right'>{html.escape(views.fmt(_value(s[m]), m, cur))}</td></tr>"
        for m in SUMMARY if m in s)
    reasons_ = sorted((s.get("dropout_reasons") or {}).items(), key=lambda kv: -kv[1])[:3]
    why = ", ".join(f"{html.escape(str(r))} {n:,}" for r, n in reasons_) or "nobody stayed away"
    rows += f"<tr><td style='padding:0 0.4em;text-align:left'>Non-users' reasons</td><td style='padding:0 0.4em;text-align:right'>{why}</td></tr>"
    bars = "".join(
        f"<tr><td style='padding:0 0.4em;text-align:left'>{html.escape(views.MILESTONE_LABELS.get(r.milestone, r.milestone))}</td>"
        f"<td style='padding:0 0.4em;text-align:left;width:220px'><div style='background:{PALETTE[1]};height:0.9em;width:{max(0.0, min(1.0, r.share_of_population)) * 100:.1f}%'></div></td>"
        f"<td style='padding:0 0.4em;text-align:right'>{int(r.customers):,}</td><td style='padding:0 0.4em;text-align:right'>{r.share_of_population:.1%}</td></tr>"
        for r in res.funnel.itertuples())
    table = "<table style='border-collapse:collapse;margin-right:2em'>{}</table>"
    return (f"<div>{head}<div style='display:flex;flex-wrap:wrap;align-items:flex-start;margin-top:0.4em'>"
            f"{table.format('<tr><th colspan=2>Outcome</th></tr>' + rows)}"
            f"{table.format('<tr><th colspan=4>Journey funnel</th></tr>' + bars)}</div></div>")


def _value(x) -> float:
    return math.nan if x is None else float(x)


def offline_charts(enable: bool = True) -> str:
    """Charts in a notebook that draw with no network: each chart's HTML carries Vega's JavaScript inline
    (bundled by vl-convert, about 0.9 MB per chart) instead of loading it from a CDN, as Altair's default
    renderer does. ``offline_charts(False)`` goes back to Altair's default. Returns the renderer now active.
    """
    if enable:
        alt.renderers.enable("html", template="inline")
    else:
        alt.renderers.enable("default")
    return alt.renderers.active


__all__ = ["worlds", "play", "world_colours", "funnel", "reasons", "curves", "stages", "comparison", "observed", "fit_residuals", "comparison_table", "journey", "journey_table", "summary_html", "offline_charts", "ONE_WORLD"]
