"""A scenario's posterior: a weighted sample of parameter sets, kept as Parquet beside the scenario.

A posterior is what a calibration against evidence leaves behind (``cxsim infer``): one
row per parameter set, one column per dotted scenario path (``decision.w_cost``), and a
``weight`` column summing to 1. It travels with the scenario it was fitted for —
``cxsim/scenarios/NAME.posterior.parquet`` for a built-in one, ``NAME.posterior.parquet``
beside a scenario file — and everything that shows a number with its uncertainty draws
parameter sets from it (:meth:`Posterior.draws`).

The file's schema metadata (key ``cxsim``) holds a JSON record of how it was made: the
scenario, the command anyone can rerun, the method, the priors and the date.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .state.params import CxError

SUFFIX = ".posterior.parquet"
WEIGHT = "weight"
META_KEY = b"cxsim"
BUILT_IN = Path(__file__).parent / "scenarios"


@dataclass(frozen=True)
class Posterior:
    """Parameter sets (``samples``: path -> values) with normalised ``weights`` and how they were made."""

    samples: dict[str, np.ndarray]
    weights: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.weights)
        if n == 0 or any(len(v) != n for v in self.samples.values()):
            raise CxError(f"posterior: {n} weights for columns of lengths {sorted({len(v) for v in self.samples.values()})}: expected equal, non-empty")
        w = np.asarray(self.weights, dtype=float)
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise CxError("posterior: weights must be finite, ≥ 0 and not all 0")
        object.__setattr__(self, "weights", w / w.sum())

    @property
    def parameters(self) -> list[str]:
        """The scenario parameters (dotted paths); other columns are the inference's own (e.g. ``discrepancy_sd``)."""
        return [p for p in self.samples if "." in p]

    def __len__(self) -> int:
        return len(self.weights)

    @property
    def effective_size(self) -> float:
        """Kish's effective sample size, 1 / Σ w², or the sampler's own (autocorrelation) where it recorded a smaller one."""
        kish = float(1.0 / np.sum(self.weights**2))
        sampler = self.meta.get("effective_size")
        return min(kish, float(sampler)) if isinstance(sampler, (int, float)) and sampler > 0 else kish

    def quantiles(self, path: str, qs: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)) -> list[float]:
        """Weighted quantiles of one parameter."""
        return weighted_quantiles(self.samples[path], self.weights, qs)

    def median(self) -> dict[str, float]:
        """The median of each scenario parameter, as overrides."""
        return {p: self.quantiles(p, (0.5,))[0] for p in self.parameters}

    def picks(self, n: int, seed: int = 0) -> np.ndarray:
        """Which ``n`` rows to draw by weight (systematic resampling; the same ``n`` and ``seed`` give the same rows)."""
        if n < 1:
            raise CxError(f"posterior draws = {n}: must be ≥ 1")
        offset = np.random.default_rng(seed).random()
        points = (offset + np.arange(n)) / n
        return np.minimum(np.searchsorted(np.cumsum(self.weights), points), len(self) - 1)

    def draws(self, n: int, seed: int = 0) -> list[dict[str, float]]:
        """``n`` parameter sets as scenario overrides, drawn by weight (:meth:`picks`).

        Draws are spread over the whole posterior rather than clumped, so few draws already show its width.
        """
        return [{p: float(self.samples[p][i]) for p in self.parameters} for i in self.picks(n, seed)]


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Quantiles of a weighted sample (inverse of the weighted empirical CDF, midpoint rule)."""
    order = np.argsort(values)
    v, w = np.asarray(values, dtype=float)[order], np.asarray(weights, dtype=float)[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return [float(np.interp(q, cdf, v)) for q in qs]


def path_for(scenario: str | Path) -> Path:
    """Where the posterior of a built-in scenario name or a scenario file lives."""
    p = Path(scenario)
    if p.suffix == ".toml":
        return p.with_name(p.stem + SUFFIX)
    return BUILT_IN / f"{scenario}{SUFFIX}"


def save(post: Posterior, path: str | Path) -> Path:
    """Write ``post`` as Parquet (temp file, then rename: a reader never sees half a file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    table = pa.table({**{p: np.asarray(v, dtype=float) for p, v in post.samples.items()}, WEIGHT: post.weights})
    table = table.replace_schema_metadata({META_KEY: json.dumps(post.meta, default=str).encode()})
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return path


def read(path: str | Path) -> Posterior:
    """Read a posterior file; a damaged or foreign file is one line naming it."""
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        table = pq.ParquetFile(path).read()  # not read_table: it imports pyarrow.dataset (≈0.15 s) for one file
    except Exception as err:  # pyarrow raises several kinds for a damaged file
        raise CxError(f"posterior file {path}: not a readable Parquet file ({type(err).__name__})") from None
    if WEIGHT not in table.column_names:
        raise CxError(f"posterior file {path}: no '{WEIGHT}' column")
    meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
    cols = {c: table.column(c).to_numpy().astype(float) for c in table.column_names if c != WEIGHT}
    return Posterior(cols, table.column(WEIGHT).to_numpy().astype(float), meta)


def load(scenario: str | Path) -> Posterior | None:
    """The posterior kept for a scenario (a built-in name or a ``.toml`` path), or None where there is none."""
    path = path_for(scenario)
    return read(path) if path.is_file() else None
