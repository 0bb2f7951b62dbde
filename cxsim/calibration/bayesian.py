"""Calibration against evidence, end to end: design runs, emulator, posterior, checks, predictions, report.

    from cxsim.calibration.bayesian import infer
    result = infer("cxsim/evidence/aravind/evidence.toml", "calibration/aravind")
    result.posterior, result.parameters, result.predictions

``cxsim calibrate SCENARIO EVIDENCE.toml`` calls :func:`infer` when the file holds
``[[studies]]``. Method and checks: :mod:`.emulator` and :mod:`.inference`.
"""

from __future__ import annotations

import datetime as _dt
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from .. import posterior as _posterior
from ..state.params import CxError
from . import emulator as _emulator, inference
from .evidence import Evidence, prior_box, priors, read

METHOD = ("Gaussian-process emulator (scikit-learn, Matérn 5/2 + noise, on each quantity's logit, trained on a "
          "Latin-hypercube design) with emcee's ensemble sampler on the exact binomial likelihood")


@dataclass
class Inference:
    """What :func:`infer` found and wrote."""

    evidence: Evidence
    out: Path
    command: str
    date: str
    design: pd.DataFrame
    emulator_error: pd.DataFrame
    chain: inference.Chain
    posterior: _posterior.Posterior
    parameters: pd.DataFrame
    figures: pd.DataFrame
    predictions: pd.DataFrame
    value_of_information: pd.DataFrame
    coverage: pd.DataFrame | None = None
    scenario_posterior: _posterior.Posterior | None = None
    files: dict[str, Path] = field(default_factory=dict)


def is_evidence_file(path: str | Path) -> bool:
    """True for a file with ``[[studies]]`` (an evidence file), False for a targets file."""
    from ..state.params import read_toml

    return "studies" in read_toml(Path(path), "calibration file")


def infer(evidence_path: str | Path, out: str | Path, *, workers: int = 1, scheduler: Any = None, seed: int = 0,
          coverage_truths: int = 0, prediction_draws: int = 200, command: str = "",
          say: Callable[[str], None] | None = None) -> Inference:
    """Fit the posterior of an evidence file's parameters and write its report into ``out``."""
    ev = read(evidence_path)
    command = command or f"cxsim calibrate {ev.file.scenario} {evidence_path} --out {out}"
    return infer_evidence(ev, out, command, str(evidence_path), workers=workers, scheduler=scheduler, seed=seed,
                          coverage_truths=coverage_truths, prediction_draws=prediction_draws, say=say)


def infer_evidence(ev: Evidence, out: str | Path, command: str, source: str, *, workers: int = 1, scheduler: Any = None,
                   seed: int = 0, coverage_truths: int = 0, prediction_draws: int = 200,
                   say: Callable[[str], None] | None = None) -> Inference:
    """The posterior of checked evidence (an evidence file's, or a targets file's counts: ``evidence.from_targets``)."""
    say = say or _emulator.progress_line
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names, low, high = prior_box(ev)
    keys = [o.key for o in ev.outputs]
    design = _emulator.run_design(ev, out / "design", workers=workers, scheduler=scheduler, say=say)
    say("emulator: checking on held-out design runs, then fitting one Gaussian process per quantity")
    error = _emulator.held_out_error(design, names, low, high, keys, seed=seed)
    emu = _emulator.fit(design, names, low, high, keys, seed=seed)
    say(f"posterior: emcee, {ev.file.walkers} walkers × {ev.file.mcmc_steps} steps")
    disc = ev.file.discrepancy
    chain = inference.sample(emu, inference.Data.of(ev.fitted), names, low, high, walkers=ev.file.walkers,
                             steps=ev.file.mcmc_steps, seed=seed, discrepancy=(disc.low, disc.high) if disc else None)
    date = _dt.date.today().isoformat()
    meta = {"scenario": ev.file.scenario, "command": command, "method": METHOD, "date": date, "seed": seed,
            "evidence": source, "registered": ev.file.registered,
            "priors": {p: {"low": pr.low, "high": pr.high, "source": pr.source} for p, pr in ev.parameters.items()}}
    post = chain.posterior(meta)
    params = parameter_table(ev, post)
    figures = inference.predictive_figures(emu, post, ev.observations, seed=seed)
    own_shift = inference.own_world_shift(emu, post, ev.observations, ev.file.scenario, seed)
    if ev.predictions:
        say(f"predictions: the real simulator at {prediction_draws} posterior draws, one fresh seed each")
    preds = inference.simulated_predictions(ev, post, prediction_draws, seed, workers=workers, scheduler=scheduler,
                                            own_shift=own_shift)
    voi = pd.DataFrame()
    if ev.candidates and ev.predictions:
        voi = inference.value_of_information(ev, emu, post, ev.predictions[0][1].key, seed=seed)
    cov = None
    if coverage_truths:
        say(f"coverage: {coverage_truths} truths drawn from the prior, each simulated and inferred again")
        cov = inference.coverage(ev, emu, coverage_truths, seed=seed, workers=workers, scheduler=scheduler).table()
    result = Inference(ev, out, command, date, design, error, chain, post, params, figures, preds, voi, cov,
                       inference.scenario_posterior(post, own_shift))
    write(result)
    return result


def parameter_table(ev: Evidence, post: _posterior.Posterior) -> pd.DataFrame:
    """Each sampled parameter's prior, posterior median, 50% and 90% intervals, contraction and a verdict."""
    contraction = inference.contraction(post, ev)
    rows = []
    for p, prior in priors(ev).items():
        q05, q25, q50, q75, q95 = post.quantiles(p)
        rows.append({"parameter": p, "prior_low": prior.low, "prior_high": prior.high, "median": q50, "q05": q05, "q25": q25,
                     "q75": q75, "q95": q95, "contraction": contraction[p],
                     "verdict": verdict(contraction[p], at_bound(post.samples[p], prior)), "prior_source": prior.source})
    return pd.DataFrame(rows)


def at_bound(values: np.ndarray, prior) -> str:
    """'low' or 'high' when a tenth or more of the posterior sits in the outer 2% of the prior's range there."""
    edge = 0.02 * (prior.high - prior.low)
    if np.mean(values >= prior.high - edge) >= 0.1:
        return "high"
    if np.mean(values <= prior.low + edge) >= 0.1:
        return "low"
    return ""


def verdict(contraction: float, bound: str = "") -> str:
    """Plain words for how much the data narrowed a parameter."""
    if bound:
        return f"piles up at the prior's {bound} bound: the data push past the range, not a fitted value"
    if contraction >= 0.9:
        return "well constrained"
    if contraction >= 0.5:
        return "narrowed"
    if contraction >= 0.2:
        return "weakly narrowed"
    return "not constrained by the data: its prior remains"


def write(r: Inference) -> None:
    """The posterior (Parquet), tables (CSV), a figure and report.md into ``r.out``."""
    from .evidence_report import markdown, plot

    out = r.out
    r.files["posterior"] = _posterior.save(r.posterior, out / "posterior.parquet")
    if r.scenario_posterior is not None:  # ships beside the scenario as cxsim/scenarios/NAME.posterior.parquet
        r.files["scenario_posterior"] = _posterior.save(r.scenario_posterior, out / f"{r.evidence.file.scenario}{_posterior.SUFFIX}")
    for name, table in (("parameters", r.parameters), ("figures", r.figures), ("predictions", r.predictions),
                        ("emulator", r.emulator_error), ("value_of_information", r.value_of_information),
                        ("coverage", r.coverage)):
        if table is not None and len(table):
            path = out / f"{name}.csv"
            table.to_csv(path, index=False)
            r.files[name] = path
    try:
        r.files["figure"] = plot(r, out / "posterior.png")
    except Exception as err:  # a figure is a convenience: its failure keeps the report
        print(f"cxsim: posterior.png not drawn ({type(err).__name__}: {err})", file=sys.stderr)
    report = out / "report.md"
    report.write_text(markdown(r), encoding="utf-8")
    r.files["report"] = report


def check_scenario(ev_scenario: str, given: str) -> None:
    if Path(str(given)).stem != ev_scenario and str(given) != ev_scenario:
        raise CxError(f"scenario = {given!r}: the evidence file fits {ev_scenario!r}; give that scenario")


def summary_lines(r: Inference) -> list[str]:
    """The headline as the CLI prints it."""
    lines = [f"{r.evidence.file.title or r.evidence.file.scenario}: posterior of {len(r.parameters)} parameters from "
             f"{len(r.evidence.fitted)} figures ({r.chain.effective_size:.0f} effective samples)"]
    for p in r.parameters.itertuples():
        lines.append(f"  {p.parameter} = {p.median:.3g}  (90%: {p.q05:.3g} to {p.q95:.3g}; contraction {p.contraction:.2f}: {p.verdict})")
    from .evidence_report import ridges

    for a, b, c in ridges(r.posterior):
        lines.append(f"  trade-off: {a} and {b} (correlation {c:+.2f}): the data pin a combination, not each one")
    for f in r.figures.itertuples():
        tag = "fitted" if f.fitted else "held out"
        lines.append(f"  {f.study}, {f.figure} [{tag}]: observed {f.observed:.1%}, predicted {f.median:.1%} (90%: {f.q05:.1%} to {f.q95:.1%})")
    for p in r.predictions.itertuples():
        seen = "" if p.observed is None or (isinstance(p.observed, float) and np.isnan(p.observed)) else f", observed {p.observed:.0%}"
        lines.append(f"  predicted: {p.prediction}: {p.median:.1%} (50%: {p.q25:.1%} to {p.q75:.1%}; 90%: {p.q05:.1%} to {p.q95:.1%}){seen}")
    return lines
