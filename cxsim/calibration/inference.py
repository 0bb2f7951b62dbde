"""Bayesian inference from evidence: the posterior of the shared weights, its checks and its predictions.

Likelihood: every fitted figure is ``count`` of ``n`` people, a binomial observation
of its world's share p(θ) (emulated, :mod:`cxsim.calibration.emulator`); the log
likelihood is Σ log Binom(count | n, p(θ)). Prior: uniform on each parameter's
declared range (the evidence file gives the range and its reason). The posterior is
sampled with emcee's affine-invariant ensemble sampler (Goodman & Weare 2010;
Foreman-Mackey et al. 2013), walkers started from the prior, the first half of the
chain discarded as burn-in, the rest thinned by half the integrated autocorrelation
time; its effective size is walkers × kept steps / τ.

Checks: **contraction** of each parameter, 1 − posterior variance / prior variance
(0: the data say nothing of it; 1: they pin it); **coverage** of the whole pipeline
(simulation-based calibration, Talts et al. 2018): truths drawn from the prior, data of
the evidence's shape and sample sizes simulated at each truth by the real simulator,
inferred again, and how often each 90% credible interval holds its truth is counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..posterior import Posterior, weighted_quantiles
from .emulator import Emulator, expit, logit, simulate
from .evidence import DISCREPANCY, Evidence, Observation, prior_box, priors

LEVEL = 0.9
"""Credible level of the reported intervals (and of the coverage check)."""
NODES = 401
"""Grid points for integrating a world's discrepancy out of its likelihood (step 0.03 sd)."""


@dataclass(frozen=True)
class Data:
    """The fitted figures as arrays: which emulated output each observes, its world, its count and n."""

    keys: list[str]
    world: np.ndarray  # index of each figure's study world
    count: np.ndarray
    n: np.ndarray

    @classmethod
    def of(cls, observations: tuple[Observation, ...] | list[Observation]) -> "Data":
        worlds = list(dict.fromkeys(o.study.name for o in observations))
        return cls([o.output.key for o in observations], np.array([worlds.index(o.study.name) for o in observations]),
                   np.array([o.figure.count for o in observations], float), np.array([o.figure.n for o in observations], float))

    def with_counts(self, count: np.ndarray) -> "Data":
        return Data(self.keys, self.world, np.asarray(count, float), self.n)

    @property
    def worlds(self) -> int:
        return int(self.world.max()) + 1 if len(self.world) else 0


def binomial_loglik(p: np.ndarray, count: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Σ over figures (last axis) of log Binom(count | n, p), up to a constant."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return (count * np.log(p) + (n - count) * np.log1p(-p)).sum(axis=-1)


def _hermite() -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal quadrature: a dense grid on ±6 sd (Gauss–Hermite misses the narrow peaks of large-n figures)."""
    x = np.linspace(-6.0, 6.0, NODES)
    w = np.exp(-0.5 * x**2) * (x[1] - x[0]) / np.sqrt(2 * np.pi)
    return x, np.log(w)


def world_loglik(logits: np.ndarray, sd: np.ndarray, data: Data) -> np.ndarray:
    """Log likelihood with one discrepancy per study world, δ_w ~ N(0, sd²) on the logit scale, integrated out.

    Figures of one world share its δ (one setting whose assumed prices, wages or distances may be off);
    worlds are independent. ``logits``: sets × figures; ``sd``: one per set (0: the worlds taken as exact).
    """
    x, logw = _hermite()
    total = np.zeros(len(logits))
    for w in range(data.worlds):
        idx = data.world == w
        shifted = logits[:, idx, None] + sd[:, None, None] * x[None, None, :]  # sets × figures × nodes
        p = 1.0 / (1.0 + np.exp(-shifted))
        ll = binomial_loglik(np.moveaxis(p, 2, 1), data.count[idx], data.n[idx]) + logw  # sets × nodes
        top = ll.max(axis=1, keepdims=True)
        total += top[:, 0] + np.log(np.exp(ll - top).sum(axis=1))
    return total


@dataclass
class LogPosterior:
    """log prior + log likelihood of a batch of parameter sets (emcee's vectorised form).

    The last column is the discrepancy's sd when ``discrepancy`` is True.
    """

    emulator: Emulator
    data: Data
    low: np.ndarray
    high: np.ndarray
    discrepancy: bool = False

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        inside = np.all((theta >= self.low) & (theta <= self.high), axis=1)
        out = np.full(len(theta), -np.inf)
        if inside.any():
            t = theta[inside]
            k = len(self.emulator.names)
            logits = self.emulator.logits(t[:, :k], self.data.keys)
            sd = t[:, k] if self.discrepancy else np.zeros(len(t))
            out[inside] = world_loglik(logits, sd, self.data)
        return out


@dataclass
class Chain:
    """A sampled posterior: kept draws (equal weights), autocorrelation times, effective size."""

    names: list[str]
    samples: np.ndarray
    tau: np.ndarray
    effective_size: float
    acceptance: float

    def posterior(self, meta: dict[str, Any]) -> Posterior:
        return Posterior({p: self.samples[:, i] for i, p in enumerate(self.names)}, np.ones(len(self.samples)),
                         {**meta, "effective_size": self.effective_size, "tau": self.tau.tolist()})


def sample(emulator: Emulator, data: Data, names: list[str], low: list[float], high: list[float], *,
           walkers: int = 48, steps: int = 4000, seed: int = 0, discrepancy: tuple[float, float] | None = None) -> Chain:
    """Sample the posterior with emcee (vectorised log posterior, walkers started from the prior).

    ``discrepancy``: the (low, high) prior of the world discrepancy's sd, sampled as one more parameter.
    """
    import emcee

    from .evidence import DISCREPANCY

    names = list(names) + ([DISCREPANCY] if discrepancy else [])
    low_a = np.asarray(list(low) + ([discrepancy[0]] if discrepancy else []), float)
    high_a = np.asarray(list(high) + ([discrepancy[1]] if discrepancy else []), float)
    rng = np.random.default_rng(seed)
    start = low_a + rng.random((walkers, len(names))) * (high_a - low_a)
    logp = LogPosterior(emulator, data, low_a, high_a, discrepancy is not None)
    sampler = emcee.EnsembleSampler(walkers, len(names), logp, vectorize=True,
                                    moves=[(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)])
    sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()
    sampler.run_mcmc(start, steps, progress=False)
    burn = steps // 2
    tau = np.asarray(sampler.get_autocorr_time(discard=burn, tol=0), float)
    thin = max(1, int(np.nanmax(tau) / 2))
    kept = sampler.get_chain(discard=burn, thin=thin, flat=True)
    ess = walkers * (steps - burn) / float(np.nanmax(tau))
    return Chain(names, kept, tau, ess, float(np.mean(sampler.acceptance_fraction)))


def discrepancy_sd(post: Posterior) -> np.ndarray:
    """Each posterior set's discrepancy sd (zeros when the worlds were taken as exact)."""
    from .evidence import DISCREPANCY

    return post.samples.get(DISCREPANCY, np.zeros(len(post)))


def contraction(post: Posterior, ev_or_priors) -> dict[str, float]:
    """1 − posterior variance / prior variance, per sampled parameter."""
    from .evidence import priors as all_priors

    priors = all_priors(ev_or_priors) if isinstance(ev_or_priors, Evidence) else ev_or_priors
    out = {}
    for p, values in post.samples.items():
        mean = np.average(values, weights=post.weights)
        var = np.average((values - mean) ** 2, weights=post.weights)
        out[p] = float(1.0 - var / priors[p].variance)
    return out


def intervals(values: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    """Median with 50% and 90% central intervals."""
    w = np.ones(len(values)) if weights is None else weights
    q = weighted_quantiles(np.asarray(values, float), w, (0.05, 0.25, 0.5, 0.75, 0.95))
    return {"q05": q[0], "q25": q[1], "median": q[2], "q75": q[3], "q95": q[4]}


def world_shifts(emulator: Emulator, post: Posterior, observations, rng: np.random.Generator, draws: int = 64) -> dict[str, np.ndarray]:
    """Each study world's discrepancy at each posterior set, drawn from its conditional posterior.

    For a set (θ, sd): ``draws`` candidates δ ~ N(0, sd²), weighted by the likelihood of the world's
    fitted figures, one picked by weight (importance resampling). A world with no fitted figure
    gets a draw from N(0, sd²).
    """
    theta = np.column_stack([post.samples[p] for p in emulator.names])
    sd = discrepancy_sd(post)
    out = {}
    for world in dict.fromkeys(o.study.name for o in observations):
        fitted = [o for o in observations if o.study.name == world and o.figure.fit]
        cand = rng.standard_normal((len(theta), draws)) * sd[:, None]
        if not fitted or not np.any(sd):
            out[world] = cand[:, 0]
            continue
        mu = emulator.logits(theta, [o.output.key for o in fitted])  # sets × figures
        count = np.array([o.figure.count for o in fitted], float)
        n = np.array([o.figure.n for o in fitted], float)
        p = 1.0 / (1.0 + np.exp(-(mu[:, None, :] + cand[:, :, None])))  # sets × draws × figures
        ll = binomial_loglik(p, count, n)
        w = np.exp(ll - ll.max(axis=1, keepdims=True))
        cum = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
        pick = np.minimum((cum < rng.random((len(theta), 1))).sum(axis=1), draws - 1)
        out[world] = cand[np.arange(len(theta)), pick]
    return out


WORLD_SHIFT_PARAMETER = "decision.intercept"
"""Where a world's logit-scale discrepancy goes when it becomes a scenario parameter: acceptance is a logistic
choice in utility, so a shift of its logit is, to first order, a shift of the utility's constant (checked in
tests/test_evidence.py: the scenario's own posterior reproduces its fitted figure)."""


def own_world_shift(emulator: Emulator, post: Posterior, observations, scenario: str, seed: int = 0) -> np.ndarray | None:
    """The discrepancy of the study set in the scenario itself, at each posterior set (None when no study is)."""
    own = [o.study.name for o in observations if o.study.world == scenario and o.figure.fit]
    if not own:
        return None
    return world_shifts(emulator, post, observations, np.random.default_rng(seed + 11))[own[0]]


def scenario_posterior(post: Posterior, shift: np.ndarray | None) -> Posterior:
    """The posterior of the scenario's own parameters: the shared ones, with its world's fitted discrepancy
    folded into :data:`WORLD_SHIFT_PARAMETER` (unchanged when the scenario has no study of its own)."""
    samples = {p: np.asarray(v, float) for p, v in post.samples.items() if p in post.parameters}
    note = "the shared parameters (no study is set in the scenario itself)"
    if shift is not None:
        samples[WORLD_SHIFT_PARAMETER] = samples[WORLD_SHIFT_PARAMETER] + shift
        note = (f"the shared parameters, with {WORLD_SHIFT_PARAMETER} holding the scenario world's own fitted discrepancy "
                "(its figures reproduced)")
    return Posterior(samples, post.weights, {**post.meta, "holds": note})


def predictive_figures(emulator: Emulator, post: Posterior, observations, seed: int = 0) -> pd.DataFrame:
    """Posterior predictive of each figure: the share its study would report, with binomial noise at its n.

    Parameter uncertainty, the study world's discrepancy (given the world's fitted figures) and the
    study's sampling noise at its n.
    """
    theta = np.column_stack([post.samples[p] for p in emulator.names])
    rng = np.random.default_rng(seed)
    shift = world_shifts(emulator, post, observations, rng)
    rows = []
    for o in observations:
        p = 1.0 / (1.0 + np.exp(-(emulator.logits(theta, [o.output.key])[:, 0] + shift[o.study.name])))
        pred = rng.binomial(o.figure.n, p) / o.figure.n
        iv = intervals(pred, post.weights)
        rows.append({"study": o.study.name, "figure": o.figure.label, "fitted": o.figure.fit, "quantity": o.figure.quantity,
                     "count": o.figure.count, "n": o.figure.n, "observed": o.figure.share, **iv,
                     "inside_90": bool(iv["q05"] <= o.figure.share <= iv["q95"])})
    return pd.DataFrame(rows)


def simulated_predictions(ev: Evidence, post: Posterior, draws: int = 100, seed: int = 0, *, first_seed: int = 50_001,
                          workers: int = 1, scheduler: Any = None, customers: int | None = None,
                          own_shift: np.ndarray | None = None) -> pd.DataFrame:
    """Each declared prediction from the real simulator: ``draws`` posterior parameter sets × one fresh seed each.

    Three spreads: the simulator's alone (``model_*``: parameter uncertainty and seed noise at the evidence
    file's world size); with a world discrepancy drawn afresh, δ ~ N(0, sd²) on the logit scale (the
    headline, ``q05`` … ``q95``: a prediction is for a setting changed from every study's, so how far a
    world's assumed settings can be off applies to it anew); and, for a prediction in the scenario's own
    world, with that world's fitted discrepancy kept (``own_*``, from ``own_shift``: one per posterior row;
    it holds if what the world's figures leave unexplained is not among what the prediction changes).
    """
    if not ev.predictions:
        return pd.DataFrame()
    rows_drawn = post.picks(draws, seed)
    sets = pd.DataFrame(post.draws(draws, seed))
    sd = discrepancy_sd(post)[rows_drawn]
    outputs = [out for _, out in ev.predictions]
    table = simulate(ev, sets, [first_seed + i for i in range(draws)], outputs, customers=customers, workers=workers, scheduler=scheduler)
    rng = np.random.default_rng(seed + 7)
    rows = []
    for pred, out in ev.predictions:
        share = table[out.key].to_numpy(float)
        ok = ~np.isnan(share)
        shifted = expit(logit(share[ok]) + rng.standard_normal(ok.sum()) * sd[ok])
        model = intervals(share[ok])
        iv = intervals(shifted)
        own = {}
        if own_shift is not None and pred.world == ev.file.scenario:
            kept = intervals(expit(logit(share[ok]) + own_shift[rows_drawn][ok]))
            own = {"own_median": kept["median"], "own_q05": kept["q05"], "own_q95": kept["q95"]}
        rows.append({"prediction": pred.label, "world": pred.world, "variant": pred.variant, "quantity": pred.quantity,
                     "observed": pred.observed, **iv, "width_90": iv["q95"] - iv["q05"],
                     "holds_observed": None if pred.observed is None else bool(iv["q05"] <= pred.observed <= iv["q95"]),
                     "model_median": model["median"], "model_q05": model["q05"], "model_q95": model["q95"],
                     **own, "goal_width": pred.goal_width, "source": pred.source, "draws": int(ok.sum())})
    return pd.DataFrame(rows)


def value_of_information(ev: Evidence, emulator: Emulator, post: Posterior, prediction_key: str, *,
                         datasets: int = 200, seed: int = 0) -> pd.DataFrame:
    """Expected 90% width of a prediction after each candidate observation (preposterior analysis).

    For each candidate: datasets are drawn from the posterior predictive (a parameter set, the new
    setting's own discrepancy, then ``n`` people's answers); the posterior is re-weighted by each
    dataset's likelihood (its discrepancy integrated out); the prediction's 90% width (with its own
    fresh discrepancy) is averaged over the datasets.
    """
    theta = np.column_stack([post.samples[p] for p in emulator.names])
    sd_all = discrepancy_sd(post)
    rng = np.random.default_rng(seed)
    take = rng.choice(len(theta), min(3000, len(theta)), replace=False)
    theta, sd = theta[take], sd_all[take]
    g = expit(emulator.logits(theta, [prediction_key])[:, 0] + rng.standard_normal(len(theta)) * sd)
    now = intervals(g)
    rows = []
    for cand, out in ev.candidates:
        mu = emulator.logits(theta, [out.key])
        one = Data([out.key], np.zeros(1, int), np.zeros(1), np.array([float(cand.n)]))
        widths = []
        for _ in range(datasets):
            j = rng.integers(len(theta))
            y = rng.binomial(cand.n, expit(mu[j, 0] + rng.standard_normal() * sd[j]))
            logw = world_loglik(mu, sd, one.with_counts(np.array([y])))
            w = np.exp(logw - logw.max())
            q = weighted_quantiles(g, w, (0.05, 0.95))
            widths.append(q[1] - q[0])
        rows.append({"candidate": cand.label, "world": cand.world, "variant": cand.variant, "quantity": cand.quantity, "n": cand.n,
                     "width_now": now["q95"] - now["q05"], "expected_width": float(np.mean(widths))})
    return pd.DataFrame(rows).sort_values("expected_width", ignore_index=True) if rows else pd.DataFrame()


@dataclass
class CoverageResult:
    """How often each parameter's 90% credible interval held its truth, over truths drawn from the prior."""

    names: list[str]
    truths: np.ndarray
    hits: np.ndarray  # truths × parameters, bool
    contraction: np.ndarray  # truths × parameters
    rows: list[dict] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        from .evidence import binomial_share_interval

        out = []
        for i, p in enumerate(self.names):
            k, n = int(self.hits[:, i].sum()), len(self.hits)
            lo, hi = binomial_share_interval(k, n)
            out.append({"parameter": p, "truths": n, "held": k, "coverage": k / n, "coverage_q05": lo, "coverage_q95": hi,
                        "mean_contraction": float(np.mean(self.contraction[:, i]))})
        return pd.DataFrame(out)


def coverage(ev: Evidence, emulator: Emulator, truths: int = 20, *, seed: int = 0, walkers: int = 32, steps: int = 1500,
             customers: int | None = None, workers: int = 1, scheduler: Any = None) -> CoverageResult:
    """Simulation-based check of the whole pipeline (see the module docstring).

    Each truth is a parameter set drawn from the prior (and, with a discrepancy, an sd and one δ per
    study world); its data are the real simulator's shares at the truth, shifted by δ on the logit
    scale, observed as binomial counts at the evidence's sample sizes.
    """
    names, low, high = prior_box(ev)
    every = priors(ev)
    disc = ev.file.discrepancy
    rng = np.random.default_rng(seed)
    lo_a, hi_a = np.array([every[p].low for p in every]), np.array([every[p].high for p in every])
    theta = lo_a + rng.random((truths, len(every))) * (hi_a - lo_a)
    fitted = ev.fitted
    data = Data.of(fitted)
    outputs = list({o.output.key: o.output for o in fitted}.values())
    sims = simulate(ev, pd.DataFrame(theta[:, : len(names)], columns=names), [900_001 + i for i in range(truths)], outputs,
                    customers=customers, workers=workers, scheduler=scheduler)
    prior_var = np.array([every[p].variance for p in every])
    hits = np.zeros((truths, len(every)), bool)
    contr = np.zeros((truths, len(every)))
    rows = []
    for t in range(truths):
        p_true = np.array([sims.loc[t, k] for k in data.keys], float)
        if disc is not None:
            delta = rng.standard_normal(data.worlds) * theta[t, -1]
            p_true = expit(logit(np.nan_to_num(p_true, nan=0.5)) + delta[data.world])
        counts = rng.binomial(data.n.astype(int), np.nan_to_num(p_true, nan=0.0))
        chain = sample(emulator, data.with_counts(counts), names, low, high, walkers=walkers, steps=steps, seed=seed + 1 + t,
                       discrepancy=(disc.low, disc.high) if disc is not None else None)
        q = np.quantile(chain.samples, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=0)
        hits[t] = (q[0] <= theta[t]) & (theta[t] <= q[1])
        contr[t] = 1.0 - chain.samples.var(axis=0) / prior_var
        rows.append({"truth": t, **{p: theta[t, i] for i, p in enumerate(every)}, **{f"held:{p}": bool(hits[t, i]) for i, p in enumerate(every)}})
    return CoverageResult(list(every), theta, hits, contr, rows)
