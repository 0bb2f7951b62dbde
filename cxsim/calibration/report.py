"""The calibration report: report.md, fit.png, trials.csv and the calibrated scenario file."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..state.params import CxError

from .tomledit import rewrite, toml_number
from .validation import threshold

if TYPE_CHECKING:
    from . import Calibration


def _f(x, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _pct(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def write_all(cal: "Calibration") -> dict[str, Path]:
    out = cal.out
    files = {"trials": out / "trials.csv", "figure": out / "fit.png", "report": out / "report.md"}
    cal.trials.to_csv(files["trials"], index=False)
    figure(cal, files["figure"])
    calibrated = calibrated_text(cal) if cal.scenario_path is not None else in_memory_calibrated_text(cal)
    if calibrated is not None:
        files["calibrated"] = out / "calibrated.toml"
        files["calibrated"].write_text(calibrated, encoding="utf-8")
    if cal.validation is not None:
        files["predictions"] = out / "predictions.csv"
        cal.validation.predictions.to_csv(files["predictions"], index=False)
        files["sets"] = out / "sets.csv"
        cal.validation.per_set.to_csv(files["sets"], index=False)
        files["reasons"] = out / "reasons.csv"
        cal.validation.reasons.to_csv(files["reasons"], index=False)
        if len(cal.validation.sensitivity):
            files["sensitivity"] = out / "sensitivity.csv"
            cal.validation.sensitivity.to_csv(files["sensitivity"], index=False)
    files["report"].write_text(markdown(cal), encoding="utf-8")
    return files


def calibrated_text(cal: "Calibration") -> str:
    mark = f"calibrated: {cal.command} ({cal.date})"
    fitted = ", ".join(f"{p} = {toml_number(v)}" for p, v in cal.best.items())
    header = [f"Calibrated scenario written by `{cal.command}` on {cal.date}.",
              f"Targets file: {cal.targets_name}; fitted: {fitted}; objective {cal.objective:.3g}.",
              f"Report: {cal.out / 'report.md'}. Every other line is the original {cal.scenario_path.name}.", ""]
    return rewrite(cal.scenario_path.read_text(encoding="utf-8"), cal.best, mark, header)


def written_values(best: dict) -> dict:
    """The fitted numbers as ``calibrated.toml`` writes them (4 significant digits; whole numbers stay whole),
    so that a world given these values runs exactly as the file does."""
    return {p: v if isinstance(v, (bool, int)) else float(toml_number(v)) for p, v in best.items()}


def in_memory_calibrated_text(cal: "Calibration") -> str | None:
    """For a scenario calibrated in memory (e.g. the explorer's world): ``extends = "<built-in>"``, what the world
    changes and the fitted numbers, marked (:func:`cxsim.scenario_file.to_toml`, read back before it is written).
    None when the world is not named after a built-in scenario."""
    from .. import scenario_file
    from ..engine.scenario import list_scenarios

    name = cal.scenario.name
    if name not in list_scenarios():
        return None
    values = written_values(cal.best)
    fitted = cal.scenario.with_overrides(values)
    mark = f"calibrated: {cal.command} ({cal.date})"
    fitted_text = ", ".join(f"{p} = {toml_number(v)}" for p, v in values.items())
    header = [f"Calibrated scenario written by `{cal.command}` on {cal.date}.",
              f"Targets: {cal.targets_name}; fitted: {fitted_text}; objective {cal.objective:.3g}.", ""]
    text = scenario_file.to_toml(fitted, name, title=f"{cal.scenario.title or name}, calibrated")
    out = rewrite(text, values, mark, header)
    if scenario_file.from_text(out, name, "calibrated.toml").model_dump() != fitted.model_dump():  # never expected
        raise CxError("calibrated.toml: the text written does not read back as the fitted world")
    return out


def figure(cal: "Calibration", path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params = list(cal.spec.parameters)
    n = 1 + len(params)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.8), squeeze=False)
    ax = axes[0][0]
    for i, f in enumerate(cal.fits):
        t = f.target
        if t.band is None:
            ax.errorbar(i - 0.12, t.value, yerr=1.96 * t.se, fmt="s", color="black", capsize=3, label="target ± 1.96 se" if i == 0 else None)
        else:
            ax.vlines(i - 0.12, *t.band, color="black", lw=4, alpha=0.5, label="target band" if i == 0 else None)
        low, high = within(f.target.measure, f.low, f.high)
        ax.errorbar(i + 0.12, f.mean, yerr=[[max(f.mean - low, 0)], [max(high - f.mean, 0)]], fmt="o", color="tab:red", capsize=3,
                    label="fitted (95% over seeds)" if i == 0 else None)
    ax.set_xticks(range(len(cal.fits)), [f"T{i + 1}" for i in range(len(cal.fits))])
    ax.set_title("targets and best fit")
    ax.legend(fontsize=7)
    trials = cal.trials
    cut = trials["objective"].min() + threshold(len(params))
    for ax, p in zip(axes[0][1:], params):
        ok = trials["objective"] <= cut
        ax.scatter(trials.loc[~ok, p], trials.loc[~ok, "objective"], s=10, color="0.7", label="trials")
        ax.scatter(trials.loc[ok, p], trials.loc[ok, "objective"], s=14, color="tab:blue", label="within noise of the best")
        ax.axhline(cut, color="tab:blue", lw=0.8, ls="--")
        ax.scatter([cal.best[p]], [cal.objective], marker="*", s=120, color="tab:red", zorder=3, label="best")
        if cal.truth and p in cal.truth:
            ax.axvline(cal.truth[p], color="green", lw=1)
        ax.set_yscale("symlog", linthresh=max(1.0, cut))
        ax.set_xlabel(p)
        ax.set_ylabel("objective")
        if cal.spec.parameters[p].log:
            ax.set_xscale("log")
        ax.set_title(f"profile: {p}")
    axes[0][1].legend(fontsize=7) if n > 1 else None
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(cal: "Calibration") -> str:
    tf = cal.spec.file
    k = len(cal.spec.parameters)
    dof = len(cal.fits) - k
    lines = [f"# Calibration: {tf.title or cal.scenario.name}", ""]
    if tf.description:
        lines += [tf.description.strip(), ""]
    lines += [
        f"Command: `{cal.command}` ({cal.date}). Scenario `{cal.scenario.name}`, targets file `{cal.targets_name}`; "
        f"{cal.scenario.population.customers:,} customers per run; calibration seeds {_seeds(tf.seed_list)} "
        f"(the same for every trial: common random numbers); {len(cal.trials)} trials of multivariate TPE, sampler seed {tf.sampler_seed}.",
        "",
        f"Objective Σ ((simulated − target) / √(se² + se_sim²))² at the best: **{cal.objective:.3g}** "
        f"({len(cal.fits)} targets, {k} free parameters). Within noise of the best: objective ≤ best + χ²₀.₉₅({k}) = "
        f"{cal.objective + threshold(k):.3g} — {len(cal.region)} of {len(cal.trials)} trials.",
        "",
        "## Fitted parameters",
        "",
        "| parameter | prior | was | best | range within noise | pinned by the targets? |",
        "|---|---|---|---|---|---|",
    ]
    for r in cal.ranges.itertuples():
        prior = f"{'log-' if r.log else ''}uniform {_f(r.prior_low)}–{_f(r.prior_high)}"
        pinned = f"no: reaches the prior's {r.reaches_bound} bound" if r.reaches_bound else f"yes: ±{_f((r.high - r.low) / 2, 2)}"
        lines.append(f"| `{r.parameter}` | {prior} | {_f(cal.start[r.parameter])} | **{toml_number(r.best)}** | {_f(r.low)} – {_f(r.high)} | {pinned} |")
    lines += ["", "## Targets at the best fit", "",
              "| # | target | figure | fitted (95% over seeds) | residual (se) | source |", "|---|---|---|---|---|---|"]
    for i, f in enumerate(cal.fits):
        low, high = within(f.target.measure, f.low, f.high)
        lines.append(f"| T{i + 1} | {f.target.label} | {f.target.figure} | {_f(f.mean)} ({_f(low)}–{_f(high)}) | "
                     f"{_f(f.residual, 2)} | {f.target.source or '–'} |")
    worst = max((abs(f.residual) for f in cal.fits), default=0.0)
    lines += ["", f"Largest residual {worst:.2f} se: " + ("every target is reproduced within noise (|residual| ≤ 2)." if worst <= 2 else
              "some targets are not reproduced within noise: the model cannot meet all of them at once with these free parameters."), ""]
    if dof > 0:
        lines += [f"With {dof} more targets than parameters, an objective near {dof} is a fit within noise.", ""]
    lines += ["![fit](fit.png)", "",
              "*Left: each target (black: figure ± 1.96 se, or its band) and the best fit (red: 95% interval over the calibration seeds). "
              "Others: objective of every trial against each parameter; blue = within noise of the best (dashed line).*", ""]
    if cal.validation is not None:
        lines += validation_section(cal)
    lines += ["## Files", "",
              "`trials.csv` (every trial: parameters, objective, simulated targets and residuals), `fit.png`, "
              + ("`predictions.csv`, `sets.csv`, `reasons.csv` and `sensitivity.csv` (the validation tables), " if cal.validation is not None else "")
              + ("`calibrated.toml` (the scenario with the fitted numbers written in and marked `calibrated`), " if cal.scenario_path else "")
              + "`study.db` (the Optuna study: rerun the command with `--resume` and more `--trials` to continue).", ""]
    return "\n".join(lines)


def within(measure: str, low: float, high: float) -> tuple[float, float]:
    """An interval as printed: within the range of its measure (a share in [0, 1], a count ≥ 0: :func:`cxsim.readouts.measures.metric_range`)."""
    from ..readouts.measures import metric_range

    lo, hi = metric_range(measure)
    return min(max(low, lo), hi), max(min(high, hi), lo)


def validation_section(cal: "Calibration") -> list[str]:
    v = cal.validation
    unit = cal.scenario.step_unit
    lines = ["## Validation: predictions never used in fitting", "",
             f"`{v.measure}` at {v.steps} {unit}s, on seeds {_seeds(v.seeds)} (not calibration seeds), at {len(v.sets)} parameter sets "
             "within noise of the best (the best, each parameter's extremes in the region, others spread over it). "
             "*Predicted* is the mean at the best; the interval is the envelope of the 95% intervals over seeds of all those sets "
             "(parameter uncertainty and run-to-run noise).", "",
             "| variant | predicted | interval | means of the sets | observed | note |", "|---|---|---|---|---|---|"]
    rate = v.predictions["predicted"].between(0, 1).all()
    show = _pct if rate else _f
    for r in v.predictions.itertuples():
        observed = "–" if r.observed is None or (isinstance(r.observed, float) and math.isnan(r.observed)) else show(r.observed)
        src = f" ({r.source})" if r.source else ""
        low, high = within(v.measure, r.low, r.high)
        lines.append(f"| `{r.variant}` | **{show(r.predicted)}** | {show(low)} – {show(high)} | {show(r.set_low)} – {show(r.set_high)} | "
                     f"{observed}{src} | {r.note or '–'} |")
    loose = [f"`{r.parameter}`" for r in cal.ranges.itertuples() if r.reaches_bound]
    if loose:
        lines += ["", f"**The targets do not pin {', '.join(loose)}**: their ranges within noise reach the priors' bounds, so the best "
                  "is one point of a ridge of equally good fits and the prediction at the best means little on its own; the interval "
                  "(and the means of the sets) is the prediction. A target that separates these parameters would narrow it."]
    if len(v.per_set):
        params = list(cal.spec.parameters)
        variants = [c for c in v.per_set.columns if c not in params and c != "set"]
        lines += ["", "Each parameter set (the first is the best) and its prediction:", "",
                  "| " + " | ".join(f"`{p}`" for p in params) + " | " + " | ".join(f"`{x}`" for x in variants) + " |",
                  "|" + "---|" * (len(params) + len(variants))]
        for r in v.per_set.to_dict("records"):
            lines.append("| " + " | ".join(_f(float(r[p]), 3) for p in params) + " | " + " | ".join(show(r[x]) for x in variants) + " |")
    for r in v.predictions.itertuples():
        if r.observed is not None and not (isinstance(r.observed, float) and math.isnan(r.observed)):
            inside = r.low <= r.observed <= r.high
            lines += ["", f"`{r.variant}`: the observed {show(r.observed)} is " + ("**inside** the predicted interval." if inside else
                      f"**outside** the predicted interval ({show(r.low)} – {show(r.high)}): the calibrated mechanisms do not reproduce it.")]
    if len(v.reasons):
        lines += ["", "Binding reasons of the non-users, at the best parameters (share of non-users):", "",
                  "| variant | " + " | ".join(sorted(set(v.reasons["reason"]))) + " |",
                  "|---|" + "---|" * len(set(v.reasons["reason"]))]
        wide = v.reasons.pivot(index="variant", columns="reason", values="share").reindex(columns=sorted(set(v.reasons["reason"])))
        for variant, row in wide.iterrows():
            lines.append(f"| `{variant}` | " + " | ".join(_pct(x) if not math.isnan(x) else "–" for x in row) + " |")
    s = v.sensitivity
    if len(s):
        switches = [c for c in s.columns if c not in ("variant", "steps", "predicted", "set_low", "set_high", "low", "high")]
        lines += ["", f"How the prediction depends on the horizon{' and on ' + ', '.join(f'`{c}`' for c in switches) if switches else ''} "
                  "(predicted at the best; interval as above):", "",
                  "| variant | " + " | ".join(switches) + (" | " if switches else "") + f"{unit}s | predicted | interval |",
                  "|---|" + "---|" * (len(switches) + 3)]
        for r in s.sort_values(["variant"] + switches + ["steps"], kind="stable").to_dict("records"):
            lines.append(f"| `{r['variant']}` | " + " | ".join(str(r[c]).lower() for c in switches) + (" | " if switches else "")
                         + f"{r['steps']} | {show(r['predicted'])} | " + " – ".join(show(x) for x in within(v.measure, r['low'], r['high'])) + " |")
    return lines + [""]


def _seeds(seeds: list[int]) -> str:
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))
