"""Reports of ready-made experiments: tables (CSV), a figure (PNG) and report.md, in the results folder.

``report`` in the experiment file picks one: ``summary`` (means and intervals per policy and
point), ``waterfall`` (each lever alone, cumulatively and all together), ``bass`` (adoption
curve against the Bass closed form), ``sensitivity`` (Sobol or Morris indices), ``ab``
(A/B effects, their intervals, realised vs planned power).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..outputs import inside
from ..readouts.formatting import metric_number, number
from .analysis import paired_differences, sensitivity, summarize_runs
from .store import load_timeseries


def make_report(result) -> None:
    """Write the experiment's tables, figure and report.md; fill ``result.files`` and ``result.headline``."""
    exp = result.plan.experiment
    if result.runs.empty:
        return
    if exp.ab is None:
        table = summarize_runs(result.runs, exp.outcomes, result.plan.factors)
        _csv(result, "summary", table)
        diffs = paired_differences(result.runs, exp.outcomes)
        if not diffs.empty:
            _csv(result, "differences", diffs)
    kind = "ab" if exp.ab is not None else exp.report
    if kind == "summary" and exp.design.kind in ("sobol", "morris"):
        kind = "sensitivity"
    REPORTS[kind](result)
    _markdown(result)


def _csv(result, name: str, table: pd.DataFrame) -> None:
    path = inside(result.out, f"{name}.csv")
    table.to_csv(path, index=False)
    result.files[name] = path
    result.tables[name] = table


def _figure(nrows: int = 1, ncols: int = 1, size=(7.0, 4.5)):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _save(result, fig, name: str = "figure") -> None:
    path = inside(result.out, f"{name}.png")
    fig.savefig(path, dpi=120)
    result.files[name] = path


def _pct(x: float) -> str:
    return number(x, "share")


def _num(x: float) -> str:
    return number(x)


def _fmt(outcome: str):
    """The format of ``outcome`` in headlines and reports: its metric's unit (:func:`cxsim.readouts.formatting.metric_number`)."""
    return lambda x: metric_number(x, outcome)


# -- summary ----------------------------------------------------------------------------------
def summary_report(result) -> None:
    exp, table = result.plan.experiment, result.tables["summary"]
    outcome, fmt = exp.outcomes[0], _fmt(exp.outcomes[0])
    factors = result.plan.factors
    fig, axes = _figure()
    ax = axes[0, 0]
    if len(result.plan.points) == 1:
        y = np.arange(len(table))
        err = _errors(table, outcome)
        ax.barh(y, table[outcome], xerr=err, color="#4c78a8", capsize=3)
        ax.set_yticks(y, table["policy"])
        ax.invert_yaxis()
        ax.set_xlabel(outcome)
    else:
        x = factors[0]
        for policy, g in table.groupby("policy", sort=False):
            g = g.sort_values(x)
            ax.errorbar(g[x], g[outcome], yerr=_errors(g, outcome), marker="o", ms=3, lw=1 if len(factors) == 1 else 0, label=policy, capsize=2)
        ax.set_xlabel(x)
        ax.set_ylabel(outcome)
        ax.legend(fontsize=8)
    ax.set_title(exp.title or exp.name, fontsize=10)
    _save(result, fig)
    best = table.sort_values(outcome, ascending=False).iloc[0]
    result.headline.append(f"highest {outcome}: {fmt(best[outcome])} ({best['policy']}, point {best['point']}) of {len(table)} policy × point cells")


def _errors(table: pd.DataFrame, outcome: str) -> np.ndarray:
    mid, lo, hi = (table[c].to_numpy(float) for c in (outcome, f"{outcome}_low", f"{outcome}_high"))
    return np.nan_to_num(np.vstack([mid - lo, hi - mid]))


# -- waterfall --------------------------------------------------------------------------------
def waterfall_report(result) -> None:
    """Each lever alone and added one by one (cumulatively) to all together, with intervals."""
    exp = result.plan.experiment
    outcome, fmt = exp.outcomes[0], _fmt(exp.outcomes[0])
    table = result.tables["summary"].set_index("policy")
    diffs = result.tables.get("differences", pd.DataFrame(columns=["policy"])).set_index("policy")
    ivs = exp.levers.interventions
    steps = [("baseline", "baseline")] + [("+".join(ivs[:k]), f"+ {ivs[k - 1]}") for k in range(1, len(ivs) + 1)]
    alone = [("baseline", "baseline")] + [(i, i) for i in ivs] + [("+".join(ivs), "all together")]
    rows = []
    for kind, seq in (("alone", alone), ("cumulative", steps)):
        prev = None
        for policy, label in seq:
            if policy not in table.index:
                continue
            r = table.loc[policy]
            d = diffs.loc[policy] if policy in diffs.index else None
            rows.append({
                "view": kind, "policy": policy, "label": label, outcome: r[outcome], "low": r[f"{outcome}_low"], "high": r[f"{outcome}_high"],
                "vs_baseline": 0.0 if d is None else d[f"{outcome}_diff"],
                "vs_baseline_low": math.nan if d is None else d[f"{outcome}_diff_low"],
                "vs_baseline_high": math.nan if d is None else d[f"{outcome}_diff_high"],
                "step": r[outcome] - prev if kind == "cumulative" and prev is not None else math.nan, "runs": r["runs"],
            })
            prev = r[outcome]
    wf = pd.DataFrame(rows)
    _csv(result, "waterfall", wf)
    fig, axes = _figure(1, 2, size=(6.5, 4.5))
    a = wf[wf["view"] == "alone"]
    y = np.arange(len(a))
    axes[0, 0].barh(y, a[outcome], xerr=np.nan_to_num(np.vstack([a[outcome] - a["low"], a["high"] - a[outcome]])), color="#4c78a8", capsize=3)
    axes[0, 0].set_yticks(y, a["label"])
    axes[0, 0].invert_yaxis()
    axes[0, 0].set_title("each hidden cost removed alone, and all together", fontsize=10)
    c = wf[wf["view"] == "cumulative"].reset_index(drop=True)
    bottoms = np.r_[0.0, c[outcome].to_numpy()[:-1]]
    heights = c[outcome].to_numpy() - bottoms
    bottoms[0], heights[0] = 0.0, c[outcome].iloc[0]
    colors = ["#9d9d9d"] + ["#59a14f" if h >= 0 else "#e15759" for h in heights[1:]]
    x = np.arange(len(c))
    axes[0, 1].bar(x, heights, bottom=bottoms, color=colors)
    axes[0, 1].errorbar(x, c[outcome], yerr=np.nan_to_num(np.vstack([c[outcome] - c["low"], c["high"] - c[outcome]])), fmt="none", ecolor="black", capsize=3)
    axes[0, 1].set_xticks(x, c["label"], rotation=30, ha="right", fontsize=8)
    axes[0, 1].set_title("waterfall: removing them one after another", fontsize=10)
    for ax in (axes[0, 0], axes[0, 1]):
        ax.grid(alpha=0.3)
    axes[0, 0].set_xlabel(outcome)
    axes[0, 1].set_ylabel(outcome)
    fig.suptitle(exp.title or exp.name, fontsize=11)
    _save(result, fig)
    base, top = wf[(wf["view"] == "alone")].iloc[0], wf[(wf["view"] == "alone")].iloc[-1]
    result.headline.append(f"{outcome}: baseline {fmt(base[outcome])} [{fmt(base['low'])}, {fmt(base['high'])}] → all together {fmt(top[outcome])} [{fmt(top['low'])}, {fmt(top['high'])}]")
    chain = wf[wf["view"] == "cumulative"]
    result.headline.append("one after another: " + " → ".join(f"{r.label} {fmt(getattr(r, outcome))}" for r in chain.itertuples()))
    for r in wf[(wf["view"] == "alone") & (wf["label"] != "baseline")].itertuples():
        result.headline.append(f"  {r.label:<22} {fmt(getattr(r, outcome))} [{fmt(r.low)}, {fmt(r.high)}], vs baseline {fmt(r.vs_baseline)} [{fmt(r.vs_baseline_low)}, {fmt(r.vs_baseline_high)}]")


# -- Bass ---------------------------------------------------------------------------------------
def bass_curve(t: np.ndarray, p: float, q: float) -> np.ndarray:
    """The Bass (1969) cumulative adoption F(t) = (1 − e^{−(p+q)t}) / (1 + (q/p) e^{−(p+q)t})."""
    e = np.exp(-(p + q) * np.asarray(t, float))
    return (1 - e) / (1 + (q / p) * e)


def bass_discrete(steps: int, p_step: float, q_step: float) -> np.ndarray:
    """The same process in discrete time, as cxsim steps it: 1 − F_t = (1 − F_{t−1}) e^{−(p + q F_{t−1})}."""
    f = np.zeros(steps + 1)
    for t in range(1, steps + 1):
        f[t] = 1 - (1 - f[t - 1]) * math.exp(-(p_step + q_step * f[t - 1]))
    return f


def bass_report(result) -> None:
    """Mean adoption curve per policy vs the Bass closed form and the discrete-time recursion."""
    exp, plan = result.plan.experiment, result.plan
    periods = float(exp.options.get("periods", plan.base.steps))
    ts = load_timeseries(result.out)
    ts = ts[ts["metric"] == "accepted"].merge(result.runs[["run", "policy"]], on="run")
    n = plan.base.population.customers
    rows, curves = [], []
    for policy, g in ts.groupby("policy", sort=False):
        ov = plan.policies[policy]
        steps = int(ov.get("steps", plan.base.steps))
        k = steps / periods
        p_step = float(ov.get("journey.outreach", plan.base.journey.outreach))
        q_step = float(ov.get("journey.word_of_mouth", plan.base.journey.word_of_mouth))
        sim = g.groupby("step")["value"].agg(["mean", "std", "count"]) / [n, n, 1]
        t = sim.index.to_numpy() / k
        closed = bass_curve(t, p_step * k, q_step * k)
        discrete = bass_discrete(steps, p_step, q_step)[sim.index.to_numpy()]
        gap, gap_d = sim["mean"].to_numpy() - closed, sim["mean"].to_numpy() - discrete
        i, j = int(np.argmax(np.abs(gap))), int(np.argmax(np.abs(gap_d)))
        rows.append({"policy": policy, "steps_per_period": k, "p": p_step * k, "q": q_step * k, "replicates": int(sim["count"].iloc[0]),
                     "largest_gap_closed_form": gap[i], "at_period": t[i], "largest_gap_discrete": gap_d[j], "at_period_discrete": t[j],
                     "largest_run_sd": float(sim["std"].max())})
        curves.append((policy, t, sim["mean"].to_numpy(), closed, discrete))
    table = pd.DataFrame(rows)
    _csv(result, "bass", table)
    fig, axes = _figure(1, 2, size=(6.0, 4.5))
    for policy, t, sim, _, _ in curves:
        axes[0, 0].plot(t, sim, lw=1.5, label=f"cxsim, {policy}")
    tt = np.linspace(0, curves[0][1].max(), 400)
    axes[0, 0].plot(tt, bass_curve(tt, table["p"].iloc[0], table["q"].iloc[0]), "k--", lw=1.5, label="Bass closed form")
    axes[0, 0].set_xlabel("period")
    axes[0, 0].set_ylabel("share adopted F(t)")
    axes[0, 0].legend(fontsize=8)
    for policy, t, sim, closed, _ in curves:
        axes[0, 1].plot(t, sim - closed, lw=1.2, label=f"{policy}: − closed form")
    axes[0, 1].plot(curves[-1][1], curves[-1][2] - curves[-1][4], "k:", lw=1.2, label=f"{curves[-1][0]}: − discrete recursion")
    axes[0, 1].axhline(0, color="grey", lw=0.8)
    axes[0, 1].set_xlabel("period")
    axes[0, 1].set_ylabel("gap in F(t)")
    axes[0, 1].legend(fontsize=7)
    fig.suptitle(exp.title or exp.name, fontsize=11)
    _save(result, fig)
    for r in table.itertuples():
        result.headline.append(
            f"{r.policy}: largest gap to the Bass closed form {r.largest_gap_closed_form:+.4f} (period {r.at_period:.1f}); "
            f"to the discrete-time recursion {r.largest_gap_discrete:+.4f}")


# -- sensitivity ----------------------------------------------------------------------------------
def sensitivity_report(result) -> None:
    exp = result.plan.experiment
    table = sensitivity(result.plan, result.runs)
    _csv(result, "analysis", table)
    groups = list(table.groupby(["policy", "outcome"], sort=False))
    policies, outcomes = list(dict.fromkeys(table["policy"])), list(dict.fromkeys(table["outcome"]))
    fig, axes = _figure(len(outcomes), len(policies), size=(6.0, 0.35 * len(result.plan.factors) + 1.6))
    sobol = exp.design.kind == "sobol"
    for (policy, outcome), g in groups:
        ax = axes[outcomes.index(outcome), policies.index(policy)]
        g = g.sort_values("ST" if sobol else "mu_star")
        y = np.arange(len(g))
        if sobol:
            ax.barh(y + 0.2, g["ST"], 0.4, xerr=g["ST_conf"], label="total (ST)", color="#4c78a8", capsize=2)
            ax.barh(y - 0.2, g["S1"], 0.4, xerr=g["S1_conf"], label="first order (S1)", color="#f58518", capsize=2)
        else:
            ax.barh(y, g["mu_star"], xerr=g["mu_star_conf"], label="μ*", color="#4c78a8", capsize=2)
        ax.set_yticks(y, [p.replace("population.segments.*.", "segments.*.") for p in g["parameter"]], fontsize=8)
        ax.set_title(f"{outcome} — {policy}", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(exp.title or exp.name, fontsize=11)
    _save(result, fig)
    col = "ST" if sobol else "mu_star"
    for (policy, outcome), g in groups:
        top = g.sort_values(col, ascending=False).head(3)
        conf = f"{col}_conf"
        drivers = ", ".join(f"{r['parameter']} {r[col]:.2f}±{r[conf]:.2f}" for _, r in top.iterrows())
        result.headline.append(f"{outcome} ({policy}): top drivers by {col}: {drivers}")


# -- A/B ------------------------------------------------------------------------------------------
def ab_report(result) -> None:
    """Effects per replicate A/B test, their spread, realised vs planned power, and the spillover gap."""
    from ..readouts.metrics import interval
    from .abtest import power, sample_size

    exp, runs = result.plan.experiment, result.runs
    spec, rows = exp.ab, []
    for m in spec.metrics:
        eff = runs[f"{m}_effect"]
        mean, lo, hi = interval(eff.tolist())
        control = float(runs[f"{m}_control"].mean())
        n = int(runs["customers"].iloc[0])
        row: dict[str, Any] = {
            "metric": m, "tests": len(runs), "control": control, "treatment": float(runs[f"{m}_treatment"].mean()),
            "effect": mean, "effect_low": lo, "effect_high": hi,
            "ci_low_first_test": float(runs[f"{m}_ci_low"].iloc[0]), "ci_high_first_test": float(runs[f"{m}_ci_high"].iloc[0]),
            "median_p_value": float(runs[f"{m}_p_value"].median()),
            "share_significant": float((runs[f"{m}_p_value"] < spec.alpha).mean()),
        }
        binary = 0 < control < 1 and 0 < control + mean < 1 and m != "satisfaction"
        n_used = int(runs[f"{m}_n_control"].mean() + runs[f"{m}_n_treatment"].mean())
        row["planned_power"] = power(n_used, control, mean, spec.alpha, spec.share) if binary and mean else math.nan
        row["customers_for_power"] = sample_size(control, mean, spec.alpha, spec.power, spec.share) if binary and mean else math.nan
        if f"{m}_global_effect" in runs:
            row["global_effect"] = float(runs[f"{m}_global_effect"].mean())
        row["customers"] = n
        rows.append(row)
    table = pd.DataFrame(rows)
    _csv(result, "ab", table)
    m = spec.metrics[0]
    fig, axes = _figure()
    ax = axes[0, 0]
    y = np.arange(len(runs))
    eff = runs[f"{m}_effect"].to_numpy()
    ax.errorbar(eff, y, xerr=np.vstack([eff - runs[f"{m}_ci_low"], runs[f"{m}_ci_high"] - eff]), fmt="o", ms=3, capsize=2, label="A/B effect, 95% CI (one test per seed)")
    ax.axvline(0, color="grey", lw=0.8)
    if f"{m}_global_effect" in runs:
        ax.axvline(runs[f"{m}_global_effect"].mean(), color="#e15759", ls="--", label="everyone treated vs no one")
    ax.set_yticks(y, [f"seed {s}" for s in runs["seed"]], fontsize=7)
    ax.set_xlabel(f"effect on {m}")
    ax.legend(fontsize=8)
    ax.set_title(exp.title or exp.name, fontsize=10)
    _save(result, fig)
    for r in table.itertuples():
        u = "0–1" if r.metric == "satisfaction" else "share"
        share, diff = (lambda x: number(x, u)), (lambda x: number(x, u, signed=True))
        extra = f"; everyone-vs-no-one effect {diff(r.global_effect)}" if hasattr(r, "global_effect") else ""
        result.headline.append(
            f"{r.metric}: control {share(r.control)}, treatment {share(r.treatment)}, effect {diff(r.effect)} [{diff(r.effect_low)}, {diff(r.effect_high)}] "
            f"over {r.tests} tests; significant in {100 * r.share_significant:.0f}% (planned power {_pct(r.planned_power)}){extra}")


REPORTS = {"summary": summary_report, "waterfall": waterfall_report, "bass": bass_report, "sensitivity": sensitivity_report, "ab": ab_report}


# -- report.md ------------------------------------------------------------------------------------
def _markdown(result) -> None:
    exp, plan = result.plan.experiment, result.plan
    from .store import provenance

    prov = provenance()
    lines = [f"# {exp.title or exp.name}", ""]
    if exp.description:
        lines += [exp.description.strip(), ""]
    lines += [
        f"- scenario: {plan.base.name}, {plan.base.population.customers:,} customers, {plan.base.steps} {plan.base.step_unit}s",
        f"- design: {exp.design.kind}, {len(plan.points)} point(s) × {len(plan.policies)} policy(ies) × {len(plan.seeds)} replicate(s) = {len(plan.tasks)} runs (meta-seed {exp.seed})",
        f"- cxsim {prov['cxsim_version']}, git {prov['git_hash'] or 'unknown'}",
        "", "## Findings", "",
    ]
    lines += [f"    {h}" for h in result.headline]
    lines += [""] + [f"![{name}]({p.name})" for name, p in result.files.items() if p.suffix == ".png"]
    lines += ["", "Tables: " + ", ".join(f"[{p.name}]({p.name})" for p in result.files.values() if p.suffix == ".csv"), ""]
    path = inside(result.out, "report.md")
    path.write_text("\n".join(lines), encoding="utf-8")
    result.files["report"] = path
