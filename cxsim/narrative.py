"""A scenario's story for trainers, told with the numbers of runs (``cxsim story``).

It runs the scenario's variants on the same seeds (:func:`story_runs`), tabulates
the story's measures with their intervals (:func:`story_table`) and lets one
customer of a baseline run speak (:mod:`cxsim.readouts.story`). A front end: it runs the model.
"""

from __future__ import annotations

from .readouts.story import REASON_WORDS, ledger_sentence, pick_customer
from .rules.barriers import REASONS


# -- a scenario's story, with the numbers of a run ------------------------------------------------
DEFAULT_MEASURES = (
    "acceptance_rate", "satisfaction", "nps", "mean_loyalty", "retention", "referrals",
    "intervention_cost", "value_delivered",
)
"""What `cxsim story` shows when a scenario's story names no measures."""


def story_measures(scenario) -> list[str]:
    from .readouts.measures import check

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

    from .engine.model import run
    from .readouts.measures import measure
    from .state.params import CxError

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

    from .readouts.metrics import interval

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
    """A compact number in its unit's style (the one format of every human table: :func:`cxsim.readouts.formatting.number`)."""
    from .readouts.formatting import number

    return number(x, unit, signed)


def _label(name: str, scenario) -> str:
    """A measure's label with its unit when the number does not show it (currency, per step)."""
    from .readouts.measures import label, unit
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


def ensemble_story_table(ens, measures: list[str]):
    """:func:`story_table`'s columns from an ensemble (:mod:`cxsim.ensemble`): levels and differences paired within each draw."""
    import pandas as pd

    levels = ens.levels().set_index(["world", "metric"])
    diffs = ens.differences("baseline").set_index(["world", "metric"]) if len(ens.worlds) > 1 else None
    rows = []
    for v in ens.worlds:
        for m in measures:
            lv = levels.loc[(v, m)]
            d = (0.0, 0.0, 0.0) if v == "baseline" else tuple(diffs.loc[(v, m), ["difference", "ci_low", "ci_high"]])
            rows.append({"variant": v, "measure": m, "mean": lv["mean"], "ci_low": lv["low"], "ci_high": lv["high"],
                         "difference": d[0], "diff_low": d[1], "diff_high": d[2]})
    return pd.DataFrame(rows)


def scenario_story(scenario, seeds=3, *, customers: int | None = None, steps: int | None = None,
                   variants: list[str] | None = None, width: int = 92, posterior="find", uncertainty: str | None = None,
                   draws: int = 20, workers: int = 1, scheduler=None) -> str:
    """The trainer's story of a scenario (inside-out, outside-in, what changed) with the numbers of runs.

    Runs the baseline and each variant (or ``variants``) on the same seeds and reports
    the story's measures (``story.measures``, see :mod:`cxsim.readouts.measures`): the mean over
    seeds, and each variant's paired difference from the baseline with its 95% interval.
    Where the scenario has a posterior (or ``posterior`` is given; ``uncertainty="seeds"`` to
    leave it out) every world runs over ``draws`` posterior draws × ``seeds`` seeds and the
    intervals hold the parameters' uncertainty (:mod:`cxsim.ensemble`); the text says which.
    """
    from .engine.model import run
    from .ensemble import POSTERIOR, choose_kind, resolve_posterior, run_ensemble, uncertainty_caption
    from .readouts.measures import unit

    st = scenario.story
    names = story_measures(scenario)
    post, source = resolve_posterior(scenario, posterior)
    kind = choose_kind(uncertainty, post, source)
    if kind == POSTERIOR:
        chosen = ["baseline"] + [v for v in (variants if variants is not None else list(scenario.variants)) if v != "baseline"]
        n_seeds = seeds if isinstance(seeds, int) else len(seeds)
        ens = run_ensemble(scenario, chosen, posterior=post, uncertainty=POSTERIOR, draws=draws, seeds=n_seeds, customers=customers,
                           steps=steps, measures=names, workers=workers, scheduler=scheduler)
        ens.source = source
        runs = ens.runs.rename(columns={"world": "variant"})
        table = ensemble_story_table(ens, names)
        sample = run(scenario.variant("baseline"), scenario.seed, customers=customers, steps=steps, track=0).model
        caption = ens.caption
    else:
        runs, sample = story_runs(scenario, seeds, customers=customers, steps=steps, variants=variants, measures=names)
        table = story_table(runs, names)
        n_seeds = runs["seed"].nunique()
        if uncertainty == "seeds" and post is not None:
            source = "parameter uncertainty not included (uncertainty = seeds)"
        caption = uncertainty_caption(kind, 0, n_seeds, source)
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
    over = "mean over draws and seeds" if kind == POSTERIOR else "mean over seeds"
    if kind == POSTERIOR:
        seeds_text = f"{len(ens.draws)} posterior draws × {ens.seeds_per_draw} seeds"
    out += ["", f"In the simulation ({n:,} customers, {horizon} {scenario.step_unit}s, {seeds_text}; {over}):"]
    order = list(dict.fromkeys(runs["variant"]))
    cells = {(r.variant, r.measure): r for r in table.itertuples()}
    labels = {m: _label(m, scenario) for m in names}
    lab_w = max(len(x) for x in labels.values()) + 2
    widths = {v: max(len(v), *(len(_number(cells[(v, m)].mean, unit(m))) for m in names)) + 2 for v in order}
    out.append("  " + " " * lab_w + "".join(f"{v:>{widths[v]}}" for v in order))
    for m in names:
        out.append("  " + f"{labels[m]:<{lab_w}}" + "".join(f"{_number(cells[(v, m)].mean, unit(m)):>{widths[v]}}" for v in order))
    if len(order) > 1:
        paired = "paired difference" + (", 95% interval" if len(seed_list) >= 3 else "")
        within = "within each posterior draw and seed" if kind == POSTERIOR else "on the same seeds"
        out += ["", f"What changed, against the baseline {within} ({paired}):"]
        for v in order[1:]:
            desc = scenario.variants[v].description if v in scenario.variants else ""
            out.append(f"  {v}" + (f": {desc}" if desc else ""))
            for m in names:
                r, u = cells[(v, m)], unit(m)
                rng = "" if r.diff_low != r.diff_low else f"  [{_number(r.diff_low, u, True)}, {_number(r.diff_high, u, True)}]"
                out.append(f"    {labels[m]:<{lab_w}}{_number(r.difference, u, True):>12}{rng}")
    out += ["", f"Uncertainty: {caption}"]
    return "\n".join(out)
