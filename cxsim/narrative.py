"""A scenario's story for trainers, told with the numbers of runs (``cxsim story``).

It runs the scenario's variants on the same seeds (:func:`story_runs`), tabulates
the story's measures with their intervals (:func:`story_table`) and lets one
customer of a baseline run speak (:mod:`cxsim.story`). A front end: it runs the model.
"""

from __future__ import annotations

from .barriers import REASONS
from .story import REASON_WORDS, ledger_sentence, pick_customer


# -- a scenario's story, with the numbers of a run ------------------------------------------------
DEFAULT_MEASURES = (
    "acceptance_rate", "satisfaction", "nps", "mean_loyalty", "retention", "referrals",
    "intervention_cost", "value_delivered",
)
"""What `cxsim story` shows when a scenario's story names no measures."""


def story_measures(scenario) -> list[str]:
    from .measures import check

    names = list(scenario.story.measures) or list(DEFAULT_MEASURES)
    check(names, scenario)
    return names


def story_runs(scenario, seeds=3, *, customers: int | None = None, steps: int | None = None,
               variants: list[str] | None = None, measures: list[str] | None = None):
    """One row per (variant, seed): the story's measures, baseline first, all variants on the same seeds.

    Also returns one baseline run's model (to let a customer speak). ``seeds`` is a count
    (seeds ``scenario.seed, scenario.seed + 1, …``) or a list of seeds.
    """
    import pandas as pd

    from .measures import measure
    from .model import run
    from .params import CxError

    seed_list = [scenario.seed + r for r in range(seeds)] if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise CxError("story: at least one seed is needed")
    names = measures or story_measures(scenario)
    chosen = ["baseline"] + [v for v in (variants if variants is not None else list(scenario.variants)) if v != "baseline"]
    rows, sample = [], None
    for v in chosen:
        sc = scenario.variant(v)
        for seed in seed_list:
            res = run(sc, seed, customers=customers, steps=steps, track=0)
            rows.append({"variant": v, "seed": seed, **{m: measure(res, m) for m in names}})
            if sample is None:
                sample = res.model
    return pd.DataFrame(rows), sample


def story_table(runs, measures: list[str]):
    """Per variant and measure: mean and 95% interval over seeds, and the paired difference from baseline."""
    import pandas as pd

    from .metrics import interval

    base = runs[runs["variant"] == "baseline"].set_index("seed")
    rows = []
    for v, group in runs.groupby("variant", sort=False):
        g = group.set_index("seed")
        for m in measures:
            mean, lo, hi = interval(g[m].tolist())
            diff = (g[m] - base[m].reindex(g.index)).tolist()
            d, dlo, dhi = interval(diff) if v != "baseline" else (0.0, 0.0, 0.0)
            rows.append({"variant": v, "measure": m, "mean": mean, "ci_low": lo, "ci_high": hi,
                         "difference": d, "diff_low": dlo, "diff_high": dhi})
    return pd.DataFrame(rows)


def _number(x: float, unit: str, signed: bool = False) -> str:
    """A compact number in its unit's style (the one format of every human table: :func:`cxsim.formatting.number`)."""
    from .formatting import number

    return number(x, unit, signed)


def _label(name: str, scenario) -> str:
    """A measure's label with its unit when the number does not show it (currency, per step)."""
    from .measures import label, unit
    from .views import unit_text

    u, text = unit(name), label(name).replace(" per step", f" per {scenario.step_unit}")
    return f"{text} ({unit_text(u, scenario)})" if u.startswith("currency") else text


def _paragraph(text: str, width: int = 92, indent: str = "  ") -> str:
    import textwrap

    return textwrap.fill(" ".join(text.split()), width=width, initial_indent=indent, subsequent_indent=indent)


def _voice(model) -> str | None:
    """One customer of the baseline run, in their own words: one who left, or a non-user."""
    c, sc = model.customers, model.pars
    for which in (("churned", "declined") if sc.relationship.active else ("declined", "churned")):
        i = pick_customer(model, which)
        if i is None:
            continue
        segment = sc.segment_names[c.segment[i]]
        if which == "churned":
            had = f"{int(c.encounters[i])} encounters" if c.encounters[i] else "their first experience"
            failed = f", {int(c.failures[i])} moments that failed" if c.failures[i] else ""
            return (
                f"Customer {i} ({segment}) left after {had}{failed}; their satisfaction had fallen to "
                f"{c.satisfaction[i]:.2f}: \"{REASON_WORDS['dissatisfaction']}\"."
            )
        if c.reason[i] >= 0:
            reason = REASONS[c.reason[i]]
            words = f"Customer {i} ({segment}) stayed away: \"{REASON_WORDS[reason]}\"."
            if reason == "cost" and float(c.ledger[i].sum()) >= 0.5:
                words += " " + ledger_sentence(model, i)
            return words
    return None


def scenario_story(scenario, seeds=3, *, customers: int | None = None, steps: int | None = None,
                   variants: list[str] | None = None, width: int = 92) -> str:
    """The trainer's story of a scenario (inside-out, outside-in, what changed) with the numbers of runs.

    Runs the baseline and each variant (or ``variants``) on the same seeds and reports
    the story's measures (``story.measures``, see :mod:`cxsim.measures`): the mean over
    seeds, and each variant's paired difference from the baseline with its 95% interval.
    """
    from .measures import unit

    st = scenario.story
    names = story_measures(scenario)
    runs, sample = story_runs(scenario, seeds, customers=customers, steps=steps, variants=variants, measures=names)
    table = story_table(runs, names)
    n = customers or scenario.population.customers
    horizon = steps or scenario.steps
    seed_list = sorted(int(x) for x in runs["seed"].unique())
    title = scenario.title or scenario.name
    out = [title, "=" * len(title)]
    if st.fact:
        out.append(f"Fact: {' '.join(st.fact.split())}")
    if st.source:
        out.append(f"Source: {' '.join(st.source.split())}")
    for heading, text in (
        ("Inside-out: how the provider saw it", st.inside_out),
        ("Outside-in: how the customers saw it", st.outside_in),
    ):
        if text:
            out += ["", heading, _paragraph(text, width)]
    voice = _voice(sample) if sample is not None else None
    if voice:
        out += ["", "A customer from the simulated baseline", _paragraph(voice, width)]
    if st.what_changed:
        out += ["", "What changed", _paragraph(st.what_changed, width)]
    consecutive = seed_list == list(range(seed_list[0], seed_list[-1] + 1))
    if len(seed_list) == 1:
        seeds_text = f"seed {seed_list[0]}"
    else:
        seeds_text = f"seeds {seed_list[0]}–{seed_list[-1]}" if consecutive else f"seeds {', '.join(map(str, seed_list))}"
    out += ["", f"In the simulation ({n:,} customers, {horizon} {scenario.step_unit}s, {seeds_text}; mean over seeds):"]
    order = list(dict.fromkeys(runs["variant"]))
    cells = {(r.variant, r.measure): r for r in table.itertuples()}
    labels = {m: _label(m, scenario) for m in names}
    lab_w = max(len(x) for x in labels.values()) + 2
    widths = {v: max(len(v), *(len(_number(cells[(v, m)].mean, unit(m))) for m in names)) + 2 for v in order}
    out.append("  " + " " * lab_w + "".join(f"{v:>{widths[v]}}" for v in order))
    for m in names:
        out.append("  " + f"{labels[m]:<{lab_w}}" + "".join(f"{_number(cells[(v, m)].mean, unit(m)):>{widths[v]}}" for v in order))
    if len(order) > 1:
        paired = "paired difference" + (", 95% interval" if len(seed_list) > 1 else "")
        out += ["", f"What changed, against the baseline on the same seeds ({paired}):"]
        for v in order[1:]:
            desc = scenario.variants[v].description if v in scenario.variants else ""
            out.append(f"  {v}" + (f": {desc}" if desc else ""))
            for m in names:
                r, u = cells[(v, m)], unit(m)
                rng = "" if len(seed_list) < 2 else f"  [{_number(r.diff_low, u, True)}, {_number(r.diff_high, u, True)}]"
                out.append(f"    {labels[m]:<{lab_w}}{_number(r.difference, u, True):>12}{rng}")
    return "\n".join(out)
