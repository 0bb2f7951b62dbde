"""The files an optimisation writes: frontier.parquet, plans.csv, fresh.csv, frontier.png and report.md."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..readouts.measures import label
from . import analysis

if TYPE_CHECKING:
    from . import Optimisation


def _quantity_columns(res: "Optimisation", p: analysis.Plan) -> dict[str, float]:
    row = {}
    for name in res.spec.quantities:
        mean, lo, hi = p.evaluation.interval(name)
        row.update({name: mean, f"{name}_low": lo, f"{name}_high": hi})
    if res.spec.draws:  # over a posterior: each objective's worst case beside its expected value
        for o in res.spec.objectives:
            row[f"{o.name}_worst10"] = p.evaluation.worst(o.name, o.maximise)
    row["uncertainty"] = "posterior" if res.spec.draws else "seeds"
    return row


def _lever_columns(res: "Optimisation", p: analysis.Plan) -> dict[str, object]:
    row: dict[str, object] = {}
    for lv in res.spec.levers:
        on = bool(p.overrides.get(f"interventions.{lv.name}.enabled"))
        row[f"{lv.name}.enabled"] = on
        for d in lv.dimensions:
            row[d.name] = p.overrides.get(f"interventions.{d.name}", math.nan) if on else math.nan
    return row


def plans_table(res: "Optimisation") -> pd.DataFrame:
    """Every evaluated trial: plan, levers, means and 95% intervals over the search seeds, constraints, status."""
    first: dict[str, int] = {}
    on_frontier = {p.key for p in res.frontier}
    ranked = {p.key: i + 1 for i, p in enumerate(res.recommendation.ranked)}
    ties = {p.key for p, _ in res.recommendation.ties}
    best = res.best.key if res.best else None
    rows = []
    for p in res.plans:
        first.setdefault(p.key, p.trial)
        row = {"trial": p.trial, "plan": p.text, "plan_key": p.key, "repeat_of": first[p.key] if first[p.key] != p.trial else None}
        row.update(_lever_columns(res, p))
        row.update(_quantity_columns(res, p))
        for c, v in zip(res.spec.constraints, p.violations):
            row[f"violation: {c.text}"] = v
        row.update(feasible=p.feasible, on_frontier=p.key in on_frontier, budget_rank=ranked.get(p.key),
                   recommended=p.key == best, indistinguishable_from_best=p.key in ties,
                   best_in_worst_case=res.robust is not None and p.key == res.robust.key)
        rows.append(row)
    return pd.DataFrame(rows)


def frontier_table(res: "Optimisation") -> pd.DataFrame:
    """The Pareto frontier: objectives and cost with 95% intervals over the search seeds, and the customers' terms."""
    rows = []
    for p in res.frontier:
        terms = analysis.customers_terms(p.evaluation, res.baseline)
        ch = analysis.reason_changes(p.evaluation, res.baseline)
        top = ch.iloc[0] if len(ch) and ch.iloc[0]["change"] <= -0.5 else None
        rows.append({"trial": p.trial, "plan": p.text, **_lever_columns(res, p), **_quantity_columns(res, p), **terms,
                     "main_reason_removed": None if top is None else top["reason"],
                     "non_users_freed": 0.0 if top is None else -float(top["change"]),
                     "within_budget": res.spec.budget is None or p.cost <= res.spec.budget})
    return pd.DataFrame(rows)


# -- the figure ---------------------------------------------------------------------------
def figure(res: "Optimisation", path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    o = res.spec.primary
    uniq = analysis.unique(res.plans)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ok = [p for p in uniq if p.feasible]
    bad = [p for p in uniq if not p.feasible]
    ax.scatter([p.cost for p in ok], [p.mean(o.name) for p in ok], s=12, c="#9db4c8", label="plans evaluated")
    if bad:
        ax.scatter([p.cost for p in bad], [p.mean(o.name) for p in bad], s=10, c="#dddddd", marker="x", label="violate a constraint")
    if res.frontier:
        xs = [p.cost for p in res.frontier]
        ys = [p.mean(o.name) for p in res.frontier]
        lo = [p.mean(o.name) - p.evaluation.interval(o.name)[1] for p in res.frontier]
        hi = [p.evaluation.interval(o.name)[2] - p.mean(o.name) for p in res.frontier]
        ax.errorbar(xs, ys, yerr=[[0 if math.isnan(v) else v for v in lo], [0 if math.isnan(v) else v for v in hi]],
                    fmt="-o", ms=4, c="#1f4e79", capsize=2, label="frontier (95% interval over seeds)")
    b = res.baseline
    ax.scatter([b.mean("intervention_cost")], [b.mean(o.name)], marker="s", c="k", s=30, label="doing nothing", zorder=5)
    for name, ev in res.compared.items():
        ax.scatter([ev.mean("intervention_cost")], [ev.mean(o.name)], marker="D", s=36, facecolors="none", edgecolors="#2ca02c", zorder=6)
        ax.annotate(name, (ev.mean("intervention_cost"), ev.mean(o.name)), fontsize=7, xytext=(4, -10), textcoords="offset points")
    if res.best:
        ax.scatter([res.best.cost], [res.best.mean(o.name)], marker="*", s=220, c="#d62728", label="recommended", zorder=6)
    if res.spec.budget is not None:
        ax.axvline(res.spec.budget, ls="--", c="#d62728", lw=1, label=f"budget {res.spec.budget:,.0f}")
    ax.set_xlabel(f"intervention cost ({res.scenario.currency})")
    ax.set_ylabel(label(o.name))
    ax.set_title(res.spec.file.title or f"{res.scenario.name}: {label(o.name)} against cost")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- report.md ----------------------------------------------------------------------------
def _f(v: float, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def _ci(ev, name: str) -> str:
    mean, lo, hi = ev.interval(name)
    return f"{_f(mean)} [{_f(lo)}, {_f(hi)}]"


def _diff(d: tuple[float, float, float]) -> str:
    return f"{d[0]:+.3g} [{d[1]:+.3g}, {d[2]:+.3g}]" if abs(d[0]) < 100 else f"{d[0]:+,.0f} [{d[1]:+,.0f}, {d[2]:+,.0f}]"


def _levers_text(res: "Optimisation") -> list[str]:
    out = []
    for lv in res.spec.levers:
        fields = ", ".join(f"{d.field} {_f(d.low)}" if d.fixed else f"{d.field} {_f(d.low)}–{_f(d.high)}" + (f" step {_f(d.step)}" if d.step else "") for d in lv.dimensions)
        out.append(f"- `{lv.name}` ({'on or off' if lv.optional else 'always on'}){': ' + fields if fields else ''}")
    return out


def markdown(res: "Optimisation") -> str:
    spec, sc, o = res.spec, res.scenario, res.spec.primary
    f = spec.file
    cu = sc.currency
    rec = res.recommendation
    names = [x.name for x in spec.objectives]
    size = f"{f.customers or sc.population.customers:,} customers, {f.steps or sc.steps} {sc.step_unit}s"
    acquires = res.baseline.mean("accepted") > 0 or any(p.mean("accepted") > 0 for p in res.plans)
    lines = [f"# {f.title or 'Best plan for a budget: ' + sc.name}", ""]
    if f.description:
        lines += [f.description.strip(), ""]
    lines += [
        f"`{res.command}` · {res.date} · scenario `{sc.name}` ({f.variant}), {size}",
        "",
        f"**Search.** {len(res.plans)} trials ({len(analysis.unique(res.plans))} distinct plans) with "
        f"{'NSGA-II' if len(spec.objectives) > 1 else 'TPE'} (sampler seed {f.sampler_seed}); every plan on the same "
        f"{f.seeds} seeds {spec.search_seeds[0]}–{spec.search_seeds[-1]} (common random numbers). Objectives: "
        + ", ".join(f"{label(x.name)} {x.arrow}" for x in spec.objectives)
        + (". Constraints: " + ", ".join(f"`{c.text}`" + (f" (budget {c.bound:,.0f})" if c.uses_budget else "") for c in spec.constraints) if spec.constraints else ". No constraints")
        + f". This invocation: {res.runs:,} runs in {res.seconds:,.0f} s (after --resume: only what ran then).",
        "",
        "Levers:",
        *_levers_text(res),
        "",
        f"**Doing nothing** (every lever off): {label(o.name)} {_ci(res.baseline, o.name)}, intervention cost {_ci(res.baseline, 'intervention_cost')} {cu}.",
        "",
    ]
    budget_text = f"a budget of {spec.budget:,.0f} {cu}" if spec.budget is not None else "no budget limit"
    lines += [f"## Best plan for {budget_text}", ""]
    if rec.best is None:
        lines += ["No evaluated plan meets the constraints within this budget.", ""]
    else:
        b = rec.best
        lines += [f"**{b.text}** (trial {b.trial})", ""]
        lines += ["| measure | plan (95% interval over search seeds) | doing nothing | difference (paired) |", "|---|---|---|---|"]
        for name in dict.fromkeys(names + ["intervention_cost"] + ["accepted"] * acquires):
            d = analysis.paired(b.evaluation, res.baseline, name)
            lines.append(f"| {label(name)} | {_ci(b.evaluation, name)} | {_f(res.baseline.mean(name))} | {_diff(d)} |")
        lines += ["", f"In the customers' terms: {res.explain(b)}", ""]
        if rec.ties:
            lines += [f"**Runners-up statistically indistinguishable from it** ({len(rec.ties)}: best − plan on the same seeds spans 0):", "",
                      f"| plan | {label(o.name)} | cost ({cu}) | best − plan |", "|---|---|---|---|"]
            for p, d in rec.ties[:10]:
                lines.append(f"| {p.text} | {_ci(p.evaluation, o.name)} | {_f(p.cost)} | {_diff(d)} |")
            if len(rec.ties) > 10:
                lines.append(f"| … {len(rec.ties) - 10} more in plans.csv | | | |")
            lines.append("")
        else:
            lines += ["No other plan within the budget is statistically indistinguishable from it on the search seeds.", ""]
    if res.fresh:
        ft = res.fresh_table
        lines += [f"## Stability on fresh seeds", "",
                  f"The top {len(ft)} plans within the budget re-run on {f.fresh_seeds} seeds the search never used "
                  f"({spec.fresh_seed_list[0]}–{spec.fresh_seed_list[-1]}):", "",
                  f"| search rank | plan | {label(o.name)} (search) | {label(o.name)} (fresh, 95%) | cost (fresh) | fresh rank | recommended − plan (fresh) |",
                  "|---|---|---|---|---|---|---|"]
        for r in ft.itertuples(index=False):
            d = (r.recommended_minus_plan, r.difference_low, r.difference_high)
            lines.append(f"| {r.search_rank} | {r.plan} | {_f(getattr(r, o.name + '_search'))} | {_f(getattr(r, o.name))} "
                         f"[{_f(getattr(r, o.name + '_low'))}, {_f(getattr(r, o.name + '_high'))}] | {_f(r.intervention_cost)}"
                         f"{'' if r.within_budget else ' (over budget)'} | {r.fresh_rank} | {'–' if r.search_rank == 1 else _diff(d)} |")
        adv = res.advantage
        lines += [""]
        if adv:
            first = int(ft.iloc[0]["fresh_rank"]) == 1
            better, worse = (adv[1] > 0, adv[2] < 0) if o.maximise else (adv[2] < 0, adv[1] > 0)
            sign = "better than" if better else ("worse than" if worse else "statistically indistinguishable from")
            lines += [f"**Advantage of the recommended plan over the runner-up on fresh seeds:** {_diff(adv)} ({label(o.name)}, "
                      f"{'higher' if o.maximise else 'lower'} is better): the recommended plan is {sign} the runner-up, and {'first' if first else 'not first'} among the top plans on the fresh seeds.", ""]
    if res.compared:
        lines += ["## Named plans against the frontier", "", f"| variant | {label(o.name)} | cost ({cu}) | recommended − variant (paired) | on the frontier? |", "|---|---|---|---|---|"]
        for v, ev in res.compared.items():
            dom = analysis.dominated_by(spec, ev, res.plans)
            verdict = "yes: no evaluated plan is at least as good on every axis and better on one" if dom is None else (
                f"no: {dom.text} (trial {dom.trial}) has {label(o.name)} {_f(dom.mean(o.name))} for {_f(dom.cost)}")
            d = _diff(analysis.paired(rec.best.evaluation, ev, o.name)) if rec.best else "–"
            lines.append(f"| {v}: {sc.variants[v].description} | {_ci(ev, o.name)} | {_ci(ev, 'intervention_cost')} | {d} | {verdict} |")
        lines.append("")
    if res.frontier:
        lines += [f"## Frontier: {', '.join(label(x.name) for x in analysis.criteria(spec))}", "",
                  f"{len(res.frontier)} plans that meet the constraints and that no other such plan beats on every axis (means over search seeds; intervals in frontier.parquet).", "",
                  f"| plan | cost ({cu}) | " + " | ".join(label(n) for n in names if n != "intervention_cost")
                  + (f" | extra accepted | {cu} per extra accepted" if acquires else "") + " | main reason removed (non-users) |",
                  "|---|---|" + "---|" * (len([n for n in names if n != 'intervention_cost']) + 1 + 2 * acquires)]
        ftab = res.frontier_table
        for r in ftab.to_dict("records"):
            vals = " | ".join(_ci_row(r, n) for n in names if n != "intervention_cost")
            reason = f"{r['main_reason_removed']} ({r['non_users_freed']:,.0f})" if isinstance(r["main_reason_removed"], str) else "–"
            extra = f" {_f(r['extra_accepted'])} | {_f(r['cost_per_extra_accepted'])} |" if acquires else ""
            lines.append(f"| {r['plan']} | {_f(r['intervention_cost'])} | {vals} |{extra} {reason} |")
        lines.append("")
    lines += ["## Files", "", "`frontier.parquet` (the frontier with 95% intervals), `plans.csv` (every trial), "
              "`fresh.csv` (top plans on fresh seeds), `frontier.png`, `study.db` (the Optuna study: `--resume` continues it).", ""]
    return "\n".join(lines)


def _ci_row(r: dict, name: str) -> str:
    return f"{_f(r[name])} [{_f(r[name + '_low'])}, {_f(r[name + '_high'])}]"


def write_all(res: "Optimisation") -> dict[str, Path]:
    out = res.out
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    ft = frontier_table(res)
    ft.to_parquet(out / "frontier.parquet", index=False)
    files["frontier"] = out / "frontier.parquet"
    plans_table(res).to_csv(out / "plans.csv", index=False)
    files["plans"] = out / "plans.csv"
    if res.fresh:
        res.fresh_table.to_csv(out / "fresh.csv", index=False)
        files["fresh"] = out / "fresh.csv"
    files["figure"] = figure(res, out / "frontier.png")
    (out / "report.md").write_text(markdown(res), encoding="utf-8")
    files["report"] = out / "report.md"
    return files
