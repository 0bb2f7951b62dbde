"""A comparison as one self-contained HTML file: readable offline, numbers as the explorer shows them.

    from cxsim import report
    html = report.comparison_report("aravind", worlds, runs_by_world, seeds)

``worlds`` maps world names to scenarios (the baseline first), ``runs_by_world`` the same names
to :func:`cxsim.views.run_tables` of each seed (as :func:`cxsim.views.worlds_comparison` takes).
The report holds the story, every world's settings (what it changes in the built-in scenario),
seeds and the cxsim version, the cards with their intervals (the text of
:func:`cxsim.views.card_text`, as on the explorer's page), the funnel, why non-users stayed
away and one customer's journey in every world. Charts are :mod:`cxsim.plot` charts drawn by
the Vega libraries written into the file (through vl-convert-python), so nothing is fetched.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import __version__, plot, scenario_file, views
from .engine.scenario import load_scenario
from .readouts import story
from .state.params import CxError

if TYPE_CHECKING:
    import altair as alt

    from .engine.model import CxModel
    from .engine.scenario import Scenario

ARROW = {"up": "▲ ", "down": "▼ ", "off": ""}
COLOUR = {"better": "#1a7f37", "worse": "#cf222e"}  # other readings grey
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; max-width: 1200px; margin: 2em auto; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; }
.meta, .caption { color: #57606a; font-size: 0.9em; }
.cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 0.6em; margin: 0.6em 0 1.2em; }
.card { border: 1px solid #d0d7de; border-radius: 8px; padding: 0.6em 0.8em; }
.card .label { font-weight: 600; } .card .value { font-size: 1.7em; } .card .delta { font-size: 0.95em; } .card .baseline { color: #57606a; font-size: 0.85em; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.6em; text-align: left; border-bottom: 1px solid #eaeef2; vertical-align: top; }
code { background: #f6f8fa; padding: 0 0.2em; } pre { white-space: pre-wrap; background: #f6f8fa; padding: 0.8em; border-radius: 6px; }
.chart { margin: 0.6em 0 1.2em; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text))


# -- the parts --------------------------------------------------------------------------------
def cards(runs_by_world: dict[str, list[dict]], currency: str, first: list[str] | tuple[str, ...] = (), table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The cards of every what-if: world, metric and the texts of :func:`cxsim.views.card_text` (the explorer's choice of metrics).

    ``table``: the differences to show (e.g. :meth:`cxsim.ensemble.Ensemble.differences`); default: paired over the runs' seeds."""
    table = views.worlds_comparison(runs_by_world) if table is None else table
    whatifs = list(dict.fromkeys(table["world"]))
    if not whatifs:
        return pd.DataFrame(columns=["world", "metric", "label", "value", "delta", "baseline", "reading", "arrow"])
    chosen = views.card_metrics(table[table["world"] == whatifs[-1]], first=first)
    rows = []
    for world in whatifs:
        by_metric = table[table["world"] == world].set_index("metric")
        kind = by_metric["uncertainty"].iloc[0] if "uncertainty" in by_metric else "seeds"  # every delta says its kind, as the page's
        rows += [{"world": world, "metric": name, **views.card_text(by_metric.loc[name], name, currency, kind=kind)} for name in chosen]
    return pd.DataFrame(rows)


def settings(builtin: str, worlds: dict[str, "Scenario"]) -> pd.DataFrame:
    """Per world: the interventions on and every other value it changes in the built-in scenario."""
    base = load_scenario(builtin)
    rows = []
    for world, sc in worlds.items():
        on = ", ".join(views.intervention_label(sc, n) for n in sc.enabled_interventions) or "no intervention"
        changed = scenario_file.override_paths(base, sc)
        other = {p: v for p, v in changed.items() if not p.endswith(".enabled")}
        rows.append({"world": world, "interventions": on, "changes": "; ".join(f"{p} = {json.dumps(v)}" for p, v in other.items()) or "none"})
    return pd.DataFrame(rows)


def one_customer(models: dict[str, "CxModel"], index: int) -> list[dict[str, Any]]:
    """Customer ``index`` in every world: segment, fate, story in plain words and their journey table."""
    out = []
    for world, m in models.items():
        agent = m.customer(index)
        reason = f" ({agent.reason})" if agent.reason else ""
        out.append({"world": world, "segment": agent.segment, "fate": f"{agent.stage}{reason}", "story": agent.story(),
                    "journey": views.journey_table(m.events_frame(), index).assign(world=world)})
    return out


def default_customer(model: "CxModel") -> int:
    """The customer the explorer's journey view shows first: the first random loyal one (else anyone)."""
    picked = story.pick_customer(model, "loyal", seed=0)
    return picked if picked is not None else int(story.pick_customer(model, "any", seed=0))


# -- HTML ----------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _vega_bundle() -> str:
    """vega, vega-lite and vega-embed as one script (what altair's ``to_html(inline=True)`` writes in)."""
    try:
        import vl_convert as vlc
        from altair.utils._importers import vl_version_for_vl_convert
    except ImportError:
        raise CxError("a report needs vl-convert-python (pip install vl-convert-python): it writes the chart libraries into the file") from None
    return vlc.javascript_bundle(vl_version=vl_version_for_vl_convert())


def _script_json(obj: Any) -> str:
    return json.dumps(obj).replace("</", "<\\/")


def _chart(chart: "alt.TopLevelMixin", k: int, charts: list[str]) -> str:
    charts.append(f"vegaEmbed('#chart{k}', {_script_json(chart.to_dict())}, {{actions: false}}).catch(e => console.error(e));")
    return f"<div class='chart' id='chart{k}'></div>"


def _cards_html(table: pd.DataFrame) -> str:
    out = []
    for world, rows in table.groupby("world", sort=False):
        items = "".join(
            f"<div class='card' data-world='{_e(world)}' data-metric='{_e(r.metric)}' data-reading='{_e(r.reading)}'>"
            f"<div class='label'>{_e(r.label)}</div><div class='value'>{_e(r.value)}</div>"
            f"<div class='delta' style='color:{COLOUR.get(r.reading, '#57606a')}'>{ARROW[r.arrow]}{_e(r.delta)}</div>"
            f"<div class='baseline'>{_e(r.baseline)}</div></div>"
            for r in rows.itertuples())
        out.append(f"<h3>{_e(world)}</h3><div class='cards'>{items}</div>")
    return "".join(out)


def _table_html(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in table.itertuples(index=False))
    return f"<table><tr>{head}</tr>{body}</table>"


def uncertainty_text(builtin: str, seeds: list[int], ensemble=None) -> str:
    """What the report's intervals carry, in words: an ensemble's caption, else seeds only (and whether a posterior exists)."""
    from .uncertainty import SEEDS, resolve_posterior, uncertainty_caption

    if ensemble is not None:
        return ensemble.caption
    post, source = resolve_posterior(builtin)
    if post is not None:
        source = f"the scenario's posterior was not used here ({source})"
    return uncertainty_caption(SEEDS, 0, len(seeds), source)


def comparison_report(builtin: str, worlds: dict[str, "Scenario"], runs_by_world: dict[str, list[dict]], seeds: list[int],
                      customer: int | None = None, models: dict[str, "CxModel"] | None = None, ensemble=None) -> str:
    """The comparison as one HTML page (see the module's help).

    ``models``: each world's model on the first seed, for one customer's story (run here when
    not given); ``customer``: whom to follow (default: :func:`default_customer` of the last world).
    ``ensemble``: a :class:`cxsim.ensemble.Ensemble` of the same worlds (names as in ``worlds``): the cards then
    show its differences, paired within each posterior draw. The page says which uncertainty the intervals carry.
    """
    if list(worlds) != list(runs_by_world) or not worlds:
        raise CxError("worlds and runs_by_world must name the same worlds, the baseline first")
    sc = next(iter(worlds.values()))
    cur, names = sc.currency, list(worlds)
    if models is None:
        from .engine.model import run

        models = {w: run(s, seeds[0]).model for w, s in worlds.items()}
    who = default_customer(models[names[-1]]) if customer is None else int(customer)
    people = one_customer(models, who)
    charts: list[str] = []
    st_ = sc.story
    story_html = "".join(f"<h3>{title}</h3><p>{_e(' '.join(text.split()))}</p>" for title, text in (
        ("Inside out: the provider's view", st_.inside_out), ("Outside in: ask the non-user", st_.outside_in),
        ("What changed", st_.what_changed)) if text)
    size = f"{sc.population.customers:,} customers, {sc.steps} {sc.step_unit}s"
    made = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    dropouts = views.dropout_table(runs_by_world)
    journeys = pd.concat([p["journey"] for p in people], ignore_index=True)
    parts = [
        f"<h1>{_e(sc.title or builtin)}</h1>",
        f"<p><em>{_e(st_.fact)}</em></p>" if st_.fact else "",
        f"<p class='meta' id='meta'>Scenario <code>{_e(builtin)}</code> · {_e(size)} · seeds <span id='seeds'>{_e(', '.join(map(str, seeds)))}</span> "
        f"({len(seeds)} replicate(s) per world, the same seeds in every world: common random numbers) · "
        f"cxsim <span id='version'>{_e(__version__)}</span> · made {made}</p>",
        f"<h2>The story</h2>{story_html}" + (f"<p class='caption'>Source: {_e(st_.source)}</p>" if st_.source else "") if story_html else "",
        "<h2>Worlds compared</h2>", _table_html(settings(builtin, worlds)),
        "<h2>What-if − baseline</h2>",
        f"<p class='caption' id='uncertainty'><b>Uncertainty:</b> {_e(uncertainty_text(builtin, seeds, ensemble))}</p>",
        "<p class='caption'>Large: the what-if's value; beneath: the paired difference from the baseline with its 95% "
        "interval, and the baseline. Green: better, red: worse (by whether more is better for that measure); "
        "grey: no clear change (the interval spans zero) or no better direction.</p>",
        _cards_html(cards(runs_by_world, cur, first=st_.measures, table=None if ensemble is None else ensemble.differences(names[0]))),
        "<h2>How many customers reach each stage</h2>", _chart(plot.funnel(runs_by_world), 0, charts),
        "<h2>Why non-users stay away</h2>",
        _chart(plot.reasons(dropouts), 1, charts) if not dropouts.empty else "<p>Nobody stayed away.</p>",
        f"<h2>One customer's journey: customer {who}</h2>",
        "".join(f"<p><b>{_e(p['world'])}</b>: customer {who} ({_e(p['segment'])}) ends <b>{_e(p['fate'])}</b></p>" for p in people),
        _chart(plot.journey(journeys, who), 2, charts) if len(journeys) else "<p>(their touchpoints were not recorded)</p>",
        "".join(f"<h3>Story in plain words ({_e(p['world'])})</h3><pre>{_e(p['story'])}</pre>" for p in people),
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>cxsim report · {_e(sc.title or builtin)}</title><style>{STYLE}</style>"
        f"<script>{_vega_bundle()}</script></head><body>{''.join(parts)}"
        f"<script>{''.join(charts)}</script></body></html>"
    )


__all__ = ["comparison_report", "cards", "settings", "one_customer", "default_customer"]
