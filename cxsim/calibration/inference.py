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
from .emulator import Emulator, simulate
from .evidence import Evidence, Observation, prior_box

LEVEL = 0.9
"""Credible level of the reported intervals (and of the coverage check)."""


@dataclass(frozen=True)
class Data:
    """The fitted figures as arrays: which emulated output each observes, its count and n."""

    keys: list[str]
    count: np.ndarray
    n: np.ndarray

    @classmethod
    def of(cls, observations: tuple[Observation, ...] | list[Observation]) -> "Data":
        return cls([o.output.key for o in observations], np.array([o.figure.count for o in observations], float),
                   np.array([o.figure.n for o in observations], float))

    def with_counts(self, count: np.ndarray) -> "Data":
        return Data(self.keys, np.asarray(count, float), self.n)


def binomial_loglik(p: np.ndarray, count: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Σ over figures of log Binom(count | n, p) up to a constant (rows: parameter sets)."""
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return (count * np.log(p) + (n - count) * np.log1p(-p)).sum(axis=-1)


@dataclass
class LogPosterior:
    """log prior + log likelihood of a batch of parameter sets (emcee's vectorised form)."""

    emulator: Emulator
    data: Data
    low: np.ndarray
    high: np.ndarray

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        inside = np.all((theta >= self.low) & (theta <= self.high), axis=1)
        out = np.full(len(theta), -np.inf)
        if inside.any():
            p = self.emulator.shares(theta[inside], self.data.keys)
            out[inside] = binomial_loglik(p, self.data.count, self.data.n)
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
           walkers: int = 48, steps: int = 4000, seed: int = 0) -> Chain:
    """Sample the posterior with emcee (vectorised log posterior, walkers started from the prior)."""
    import emcee

    low_a, high_a = np.asarray(low, float), np.asarray(high, float)
    rng = np.random.default_rng(seed)
    start = low_a + rng.random((walkers, len(names))) * (high_a - low_a)
    logp = LogPosterior(emulator, data, low_a, high_a)
    sampler = emcee.EnsembleSampler(walkers, len(names), logp, vectorize=True,
                                    moves=[(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)])
    sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()
    sampler.run_mcmc(start, steps, progress=False)
    burn = steps // 2
    tau = np.asarray(sampler.get_autocorr_time(discard=burn, tol=0), float)
    thin = max(1, int(np.nanmax(tau) / 2))
    kept = sampler.get_chain(discard=burn, thin=thin, flat=True)
    ess = walkers * (steps - burn) / float(np.nanmax(tau))
    return Chain(list(names), kept, tau, ess, float(np.mean(sampler.acceptance_fraction)))


def contraction(post: Posterior, ev_or_priors) -> dict[str, float]:
    """1 − posterior variance / prior variance, per parameter."""
    priors = ev_or_priors.parameters if hasattr(ev_or_priors, "parameters") else ev_or_priors
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


def predictive_figures(emulator: Emulator, post: Posterior, observations, seed: int = 0) -> pd.DataFrame:
    """Posterior predictive of each figure: the share its study would report, with binomial noise at its n."""
    theta = np.column_stack([post.samples[p] for p in emulator.names])
    rng = np.random.default_rng(seed)
    rows = []
    for o in observations:
        p = emulator.shares(theta, [o.output.key])[:, 0]
        pred = rng.binomial(o.figure.n, p) / o.figure.n
        iv = intervals(pred, post.weights)
        rows.append({"study": o.study.name, "figure": o.figure.label, "fitted": o.figure.fit, "quantity": o.figure.quantity,
                     "count": o.figure.count, "n": o.figure.n, "observed": o.figure.share, **iv,
                     "inside_90": bool(iv["q05"] <= o.figure.share <= iv["q95"])})
    return pd.DataFrame(rows)


def simulated_predictions(ev: Evidence, post: Posterior, draws: int = 100, seed: int = 0, *, first_seed: int = 50_001,
                          workers: int = 1, scheduler: Any = None, customers: int | None = None) -> pd.DataFrame:
    """Each declared prediction from the real simulator: ``draws`` posterior parameter sets × one fresh seed each.

    The spread holds parameter uncertainty and seed noise together (at the evidence file's world size).
    """
    if not ev.predictions:
        return pd.DataFrame()
    sets = pd.DataFrame(post.draws(draws, seed))
    outputs = [out for _, out in ev.predictions]
    table = simulate(ev, sets, [first_seed + i for i in range(draws)], outputs, customers=customers, workers=workers, scheduler=scheduler)
    rows = []
    for pred, out in ev.predictions:
        iv = intervals(table[out.key].dropna().to_numpy(float))
        rows.append({"prediction": pred.label, "world": pred.world, "variant": pred.variant, "quantity": pred.quantity,
                     "observed": pred.observed, **iv, "width_90": iv["q95"] - iv["q05"],
                     "holds_observed": None if pred.observed is None else bool(iv["q05"] <= pred.observed <= iv["q95"]),
                     "goal_width": pred.goal_width, "source": pred.source, "draws": draws})
    return pd.DataFrame(rows)


def value_of_information(ev: Evidence, emulator: Emulator, post: Posterior, prediction_key: str, *,
                         datasets: int = 200, seed: int = 0) -> pd.DataFrame:
    """Expected 90% width of a prediction after each candidate observation (preposterior analysis).

    For each candidate: datasets are drawn from the posterior predictive (a parameter set,
    then ``n`` people's answers); the posterior is re-weighted by each dataset's binomial
    likelihood; the prediction's 90% width is averaged over the datasets.
    """
    theta = np.column_stack([post.samples[p] for p in emulator.names])
    rng = np.random.default_rng(seed)
    take = rng.choice(len(theta), min(3000, len(theta)), replace=False)
    theta = theta[take]
    g = emulator.shares(theta, [prediction_key])[:, 0]
    now = intervals(g)
    rows = []
    for cand, out in ev.candidates:
        p = emulator.shares(theta, [out.key])[:, 0]
        widths = []
        for _ in range(datasets):
            y = rng.binomial(cand.n, p[rng.integers(len(p))])
            logw = binomial_loglik(p[:, None], np.array([y], float), np.array([cand.n], float))
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
    """Simulation-based check of the whole pipeline (see the module docstring)."""
    names, low, high = prior_box(ev)
    rng = np.random.default_rng(seed)
    lo_a, hi_a = np.asarray(low), np.asarray(high)
    theta = lo_a + rng.random((truths, len(names))) * (hi_a - lo_a)
    fitted = ev.fitted
    data = Data.of(fitted)
    outputs = list({o.output.key: o.output for o in fitted}.values())
    sims = simulate(ev, pd.DataFrame(theta, columns=names), [900_001 + i for i in range(truths)], outputs,
                    customers=customers, workers=workers, scheduler=scheduler)
    prior_var = np.array([ev.parameters[p].variance for p in names])
    hits = np.zeros((truths, len(names)), bool)
    contr = np.zeros((truths, len(names)))
    rows = []
    for t in range(truths):
        p_true = np.array([sims.loc[t, k] for k in data.keys], float)
        counts = rng.binomial(data.n.astype(int), np.nan_to_num(p_true, nan=0.0))
        chain = sample(emulator, data.with_counts(counts), names, low, high, walkers=walkers, steps=steps, seed=seed + 1 + t)
        q = np.quantile(chain.samples, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=0)
        hits[t] = (q[0] <= theta[t]) & (theta[t] <= q[1])
        contr[t] = 1.0 - chain.samples.var(axis=0) / prior_var
        rows.append({"truth": t, **{p: theta[t, i] for i, p in enumerate(names)}, **{f"held:{p}": bool(hits[t, i]) for i, p in enumerate(names)}})
    return CoverageResult(names, theta, hits, contr, rows)
