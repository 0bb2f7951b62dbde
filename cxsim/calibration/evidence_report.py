"""The report of a calibration against evidence: report.md and posterior.png (see :mod:`.bayesian`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .bayesian import Inference


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def coverage_table(cov: pd.DataFrame, goal: tuple[float, float] = (0.80, 0.98), nominal: float = 0.90) -> pd.DataFrame:
    """The coverage check as a reader takes it: held of truths, the coverage with its 90% interval, contraction, verdict."""
    def verdict(row) -> str:
        if goal[0] <= row.coverage <= goal[1]:
            return "in the goal"
        if row.coverage_q05 <= nominal <= row.coverage_q95:
            return "outside the goal, consistent with 90%"
        return "below 90% beyond chance: its intervals are too narrow" if row.coverage < nominal else "above 90% beyond chance: too wide"

    return pd.DataFrame({
        "parameter": cov.parameter,
        "held / truths": [f"{h} / {n}" for h, n in zip(cov.held, cov.truths)],
        "coverage (90% interval)": [f"{_pct(c)} ({100 * lo:.0f}–{100 * hi:.0f}%)" for c, lo, hi in zip(cov.coverage, cov.coverage_q05, cov.coverage_q95)],
        "mean contraction": cov.mean_contraction.map(lambda x: f"{x:.2f}"),
        "verdict": [verdict(row) for row in cov.itertuples()],
    })


def _table(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(df.columns) + " |"
    rule = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def markdown(r: "Inference") -> str:
    ev, f = r.evidence, r.evidence.file
    parts = [f"# {f.title or f.scenario}: posterior from evidence", "",
             f"Made by `{r.command}` on {r.date} (sampler seed {r.posterior.meta.get('seed', 0)}); rerunning it reproduces "
             "every number here (the design runs are kept in `design/` and reused).", "",
             *([f"**Registered:** {f.registered}.", ""] if f.registered else []),
             *(["**Changed after registration:** " + "; ".join(f.changes), ""] if f.changes else []),
             "## Method", "",
             _what_is_fitted(ev)
             + f"The simulator is emulated by a Gaussian process per quantity, trained on {len(r.design)} parameter sets "
             f"× {len({o.output.world for o in ev.observations})} worlds at {f.customers:,} customers; the posterior is sampled "
             f"by emcee ({f.walkers} walkers × {f.mcmc_steps} steps, the first half burn-in): "
             f"**{r.chain.effective_size:,.0f} effective samples** (acceptance {r.chain.acceptance:.2f}, "
             f"autocorrelation time {np.nanmax(r.chain.tau):.0f} steps). The posterior is `posterior.parquet` "
             f"({len(r.posterior)} equally weighted parameter sets).", "",
             "## How much the evidence narrowed each parameter", "",
             "Contraction = 1 − posterior variance / prior variance (0: the data say nothing; 1: pinned)."
             + (" `discrepancy_sd` is the inference's own: how far, on the logit scale, a study world's assumed settings put "
                "its shares off (one shift per world, shared by its figures)." if f.discrepancy is not None else ""), "",
             *_warnings(r.parameters), *_ridges(r.posterior), _table(_parameters(r.parameters)), "",
             "## Every figure beside its posterior predictive", "",
             "The share the study would report under the posterior (parameter uncertainty and the study's binomial noise at "
             "its n), with the observed share. *held out* figures were not fitted.", "",
             _table(_figures(r.figures)), "",
             *_predictions_section(r),
             "## Emulator accuracy", "",
             "Root-mean-square error of the emulated share on design runs held out from its fit (10%), against the runs "
             "themselves (which carry their own seed noise).", "",
             _table(r.emulator_error.assign(rmse=lambda d: d.rmse.map(lambda x: f"{x:.4f}"),
                                            max_error=lambda d: d.max_error.map(lambda x: f"{x:.4f}"))), ""]
    if len(r.value_of_information):
        parts += ["## What to measure next (value of information)", "",
                  f"Expected 90% width of the first prediction ({ev.predictions[0][0].label}) after each observation not yet "
                  "made, averaged over its possible outcomes under the posterior (preposterior analysis).", "",
                  _table(r.value_of_information.assign(width_now=lambda d: d.width_now.map(_pct),
                                                       expected_width=lambda d: d.expected_width.map(_pct))
                         [["candidate", "n", "width_now", "expected_width"]]), ""]
    registered = r.out / "registered" / "report.md"
    if f.changes and registered.is_file():
        parts += ["## The registered run", "",
                  "The first run, with the evidence, priors and likelihood as registered, is kept unchanged in "
                  "[registered/report.md](registered/report.md); what changed since and why is under *Changed after "
                  "registration* above.", ""]
    if r.coverage is not None:
        parts += ["## Coverage of the whole pipeline", "",
                  "Truths drawn from the prior; data of the evidence's shape and sample sizes simulated at each truth by the real "
                  "simulator; the posterior inferred again; how often each 90% credible interval held its truth.", "",
                  "Goal: 80–98% per parameter. With few truths a coverage is itself uncertain: the 90% interval beside it "
                  "says which coverages these truths cannot tell apart, so a parameter below the goal whose interval holds "
                  "90% is consistent with a calibrated pipeline, one whose interval ends below 90% is not.", "",
                  _table(coverage_table(r.coverage)), ""]
    return "\n".join(parts)


def _what_is_fitted(ev) -> str:
    """The method's first sentence: published figures in their studies' worlds, or a user's counts in the scenario."""
    if len(ev.worlds) == 1 and ev.file.discrepancy is None:
        return (f"{len(ev.fitted)} observed figures are fitted ({len(ev.held_out)} more held out), each a count of n people "
                f"compared with the scenario `{ev.file.scenario}` through a binomial likelihood; the {len(ev.parameters)} "
                "parameters below have uniform priors over the targets file's ranges. ")
    return (f"{len(ev.fitted)} published figures are fitted ({len(ev.held_out)} more held out), each a count of n people in its "
            "study's own world (`worlds/`), compared through a binomial likelihood; the "
            f"{len(ev.parameters)} behavioural parameters below are shared by every world, with uniform priors. ")


def _warnings(params: pd.DataFrame) -> list[str]:
    """A line per parameter the data did not pin: its median is not a fitted value."""
    loose = [p for p in params.itertuples() if p.contraction < 0.5 or "bound" in p.verdict]
    if not loose:
        return []
    return [f"**Not pinned by these data:** {', '.join(f'`{p.parameter}` ({p.verdict})' for p in loose)}. "
            "Their medians are not fitted values: read their intervals, or add data that move them.", ""]


RIDGE = 0.8
"""Posterior correlation from which two parameters are said to trade off (the data pin a combination of them)."""


def ridges(post) -> list[tuple[str, str, float]]:
    """Pairs of scenario parameters whose posterior correlation is at least :data:`RIDGE` in size."""
    names = post.parameters
    if len(names) < 2:
        return []
    x = np.array([post.samples[p] for p in names])
    c = np.cov(x, aweights=post.weights)
    sd = np.sqrt(np.diag(c))
    corr = c / np.outer(sd, sd)
    return [(names[i], names[j], float(corr[i, j])) for i in range(len(names)) for j in range(i + 1, len(names))
            if abs(corr[i, j]) >= RIDGE]


def _ridges(post) -> list[str]:
    pairs = ridges(post)
    if not pairs:
        return []
    return ["**Trade-offs:** " + "; ".join(f"`{a}` and `{b}` (correlation {c:+.2f})" for a, b, c in pairs)
            + ": the data pin a combination of each pair, not each one; a median alone is not a fitted value.", ""]


def _predictions_section(r: "Inference") -> list[str]:
    if not len(r.predictions):
        return []
    f = r.evidence.file
    return ["## Predictions", "",
            "From the real simulator at posterior draws, one fresh seed each. The intervals hold **parameter uncertainty, "
            "a world discrepancy drawn afresh and seed noise** (at "
            f"{f.customers:,} customers); *simulator alone* leaves the discrepancy out (parameters and seeds only). "
            "Nothing below was fitted.", "",
            _table(_predictions(r.predictions)), "", *_own_world(r), *_goal(r), ""]


def _own_world(r: "Inference") -> list[str]:
    """The scenario's own posterior (what ships beside it) and its predictions with its world's discrepancy kept."""
    from .inference import WORLD_SHIFT_PARAMETER

    post, name = r.scenario_posterior, r.evidence.file.scenario
    if post is None or WORLD_SHIFT_PARAMETER not in post.samples or "own_median" not in r.predictions:
        return []
    q05, _, q50, _, q95 = post.quantiles(WORLD_SHIFT_PARAMETER)
    lines = [f"**In {name}'s own world.** The scenario's own posterior (`{name}.posterior.parquet` here, shipped as "
             f"`cxsim/scenarios/{name}.posterior.parquet` and used by its ensembles) is the shared posterior with the world's "
             f"fitted discrepancy folded into `{WORLD_SHIFT_PARAMETER}`: median {q50:.3g} (90%: {q05:.3g} to {q95:.3g}), "
             f"so the scenario reproduces its own figures. Kept for a prediction in that world, the discrepancy gives:", ""]
    own = r.predictions.dropna(subset=["own_median"])
    lines += [f"- {p.prediction}: {_pct(p.own_median)} (90%: {_pct(p.own_q05)} to {_pct(p.own_q95)})" for p in own.itertuples()]
    return lines + ["", "This holds if what the world's own figures leave unexplained is not among what the prediction changes; "
                    "the headline above assumes instead that the changed world's discrepancy is unknown anew.", ""]


def _parameters(p: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"parameter": p.parameter, "prior": [f"{a:g} to {b:g}" for a, b in zip(p.prior_low, p.prior_high)],
                         "median": p["median"].map(lambda x: f"{x:.3g}"),
                         "90% interval": [f"{a:.3g} to {b:.3g}" for a, b in zip(p.q05, p.q95)],
                         "contraction": p.contraction.map(lambda x: f"{x:.2f}"), "verdict": p.verdict})


def _figures(f: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"study": f.study, "figure": f.figure, "": np.where(f.fitted, "fitted", "held out"),
                         "observed": [f"{c}/{n} = {_pct(c / n)}" for c, n in zip(f["count"], f.n)],
                         "predicted median": f["median"].map(_pct),
                         "90% interval": [f"{_pct(a)} to {_pct(b)}" for a, b in zip(f.q05, f.q95)],
                         "inside": np.where(f.inside_90, "yes", "**no**")})


def _predictions(p: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"prediction": p.prediction, "median": p["median"].map(_pct),
                         "50% interval": [f"{_pct(a)} to {_pct(b)}" for a, b in zip(p.q25, p.q75)],
                         "90% interval": [f"{_pct(a)} to {_pct(b)}" for a, b in zip(p.q05, p.q95)],
                         "simulator alone, 90%": [f"{_pct(a)} to {_pct(b)}" for a, b in zip(p.model_q05, p.model_q95)],
                         "observed": [_pct(x) if x is not None and not (isinstance(x, float) and math.isnan(x)) else "–" for x in p.observed],
                         "source": p.source.fillna("")})


def _goal(r: "Inference") -> list[str]:
    lines = []
    for p in r.predictions.itertuples():
        if p.goal_width is None or (isinstance(p.goal_width, float) and math.isnan(p.goal_width)):
            continue
        width_ok = p.width_90 <= p.goal_width
        holds = bool(p.holds_observed)
        lines.append(f"**Goal for {p.prediction}:** a 90% interval at most {100 * p.goal_width:.0f} points wide that holds "
                     f"the observed {_pct(p.observed)}. Reached: width {100 * p.width_90:.1f} points "
                     f"({'met' if width_ok else '**not met**'}); observed inside: {'yes' if holds else '**no**'}.")
        if not (width_ok and holds) and len(r.value_of_information):
            best = r.value_of_information.iloc[0]
            lines.append(f"The evidence cannot get there yet. The one further observation that would narrow it most: "
                         f"**{best.candidate}** (expected 90% width {_pct(best.expected_width)} from {_pct(best.width_now)}).")
    return lines


def plot(r: "Inference", path: Path) -> Path:
    """Each parameter's posterior histogram over its prior range (flat prior drawn as a line)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(r.evidence.parameters)
    cols = 4
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        prior = r.evidence.parameters[name]
        ax.hist(r.posterior.samples[name], bins=40, range=(prior.low, prior.high), density=True, color="#4C78A8")
        ax.axhline(1.0 / (prior.high - prior.low), color="#888888", linestyle="--", linewidth=1)
        ax.set_title(name.split(".")[-1], fontsize=9)
        ax.set_yticks([])
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle("Posterior (bars) against the flat prior (dashed)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
