"""An emulator of the simulator: every evidence quantity as a smooth function of the free parameters.

The simulator is stochastic and takes ~0.03 s a world, too slow to sit inside an MCMC
sampler that asks for hundreds of thousands of likelihoods. So the worlds are run once
on a space-filling design of parameter sets drawn from the prior box (a scrambled
Latin hypercube, :func:`design`), and a Gaussian process (scikit-learn's
``GaussianProcessRegressor``: anisotropic Matérn 5/2 plus a white-noise term that
absorbs the runs' seed noise) is fitted to each quantity's logit. This is the
emulator-based calibration of Kennedy & O'Hagan (2001), as used to calibrate
epidemic agent-based models ("history matching").

The design runs are kept, a chunk of points at a time, as Parquet in ``DIR/design/``,
so an interrupted calibration resumes where it stopped; every point runs on a seed of
its own (``design_seed`` + point), through :func:`cxsim.experiments.runner.execute`
(``--workers``, ``--scheduler``): where a run happens never changes a number.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..engine.scenario import scenario_dict
from ..experiments.design import fingerprint
from ..experiments.runner import execute
from .evidence import Evidence, Output, prior_box, world_overrides
from .fit import CalibrationTask
from .quantities import Extract

CHUNK = 100
"""Design points simulated and stored together (the unit of resuming)."""
EPS = 1e-3
"""Shares are clipped to [EPS, 1 − EPS] before their logit is emulated."""
HYPER_POINTS = 300
"""Points used to fit each Gaussian process's hyperparameters (then conditioned on every point)."""


def design(ev: Evidence, n: int | None = None, seed: int | None = None) -> pd.DataFrame:
    """``n`` parameter sets filling the prior box (scrambled Latin hypercube, reproducible from ``seed``)."""
    from scipy.stats import qmc

    names, lo, hi = prior_box(ev)
    n = n or ev.file.design_points
    unit = qmc.LatinHypercube(d=len(names), seed=ev.file.design_seed if seed is None else seed).random(n)
    return pd.DataFrame(qmc.scale(unit, lo, hi), columns=names)


def groups(outputs: list[Output]) -> dict[tuple[str, str, int], tuple[str, ...]]:
    """(world, variant, steps) → the quantities read from those runs."""
    out: dict[tuple[str, str, int], list[str]] = {}
    for o in outputs:
        names = out.setdefault((o.world, o.variant, o.steps), [])
        if o.quantity not in names:
            names.append(o.quantity)
    return {k: tuple(v) for k, v in out.items()}


def simulate(ev: Evidence, points: pd.DataFrame, seeds: list[int], outputs: list[Output] | None = None, *,
             customers: int | None = None, workers: int = 1, scheduler: Any = None) -> pd.DataFrame:
    """Every output at every parameter set (row of ``points``), run on that row's seed.

    Returns one row per point: the parameters, ``seed`` and one column per output key.
    """
    outputs = outputs or ev.outputs
    size = {"population.customers": customers or ev.file.customers}
    table = points.reset_index(drop=True).copy()
    table["seed"] = seeds
    values: dict[str, list[float]] = {o.key: [np.nan] * len(table) for o in outputs}
    by_world: dict[str, list[tuple[tuple[str, str, int], tuple[str, ...]]]] = {}
    for key, names in groups(outputs).items():
        by_world.setdefault(key[0], []).append((key, names))
    for world_ref, runs in by_world.items():
        world = ev.worlds[world_ref]
        tasks, where = [], []
        for (w, variant, steps), names in runs:
            base = world_overrides(world, variant, steps)
            for i, params in enumerate(points.to_dict("records")):
                overrides = {**base, **size, **{p: float(v) for p, v in params.items()}}
                key = fingerprint([scenario_dict(world), overrides, int(seeds[i]), names])
                tasks.append(CalibrationTask(run=len(tasks), key=key, policy=variant, point=i, replicate=0, seed=int(seeds[i]),
                                             params={}, overrides=overrides, timeseries=False, extract=Extract(names)))
                where.append(((w, variant, steps), names, i))
        rows: dict[int, dict] = {}
        execute(world, tasks, lambda row, ts, secs: rows.__setitem__(row["run"], row), workers=workers, scheduler=scheduler, progress=False)
        for task, ((w, variant, steps), names, i) in zip(tasks, where):
            for q in names:
                values[Output(w, variant, steps, q).key][i] = rows[task.run][f"q:{q}"]
    for key, col in values.items():
        table[key] = col
    return table


def run_design(ev: Evidence, folder: Path, *, workers: int = 1, scheduler: Any = None,
               say: Callable[[str], None] | None = None) -> pd.DataFrame:
    """The design's runs, simulated a chunk at a time and kept in ``folder`` (resumes from what is there)."""
    from ..experiments.store import write_atomic
    import pyarrow as pa

    folder.mkdir(parents=True, exist_ok=True)
    points = design(ev)
    seeds = [ev.file.design_seed * 1000 + i for i in range(len(points))]
    ident = design_identity(ev, points, seeds)
    parts, t0 = [], time.perf_counter()
    chunks = range(0, len(points), CHUNK)
    for k, start in enumerate(chunks):
        path = folder / f"design-{ident[:12]}-{k:04d}.parquet"
        part = _read_part(path)
        if part is None:
            stop = min(start + CHUNK, len(points))
            part = simulate(ev, points.iloc[start:stop], seeds[start:stop], workers=workers, scheduler=scheduler)
            part.insert(0, "point", range(start, stop))
            write_atomic(pa.Table.from_pandas(part, preserve_index=False), path)
        parts.append(part)
        if say:
            done = min(start + CHUNK, len(points))
            say(f"design: {done}/{len(points)} parameter sets simulated ({time.perf_counter() - t0:.0f} s)")
    return pd.concat(parts, ignore_index=True)


def design_identity(ev: Evidence, points: pd.DataFrame, seeds: list[int]) -> str:
    """What the design runs depend on, and nothing else: the parameter sets, seeds, world size, outputs and
    the worlds as simulated, without their [story] text and without the free parameters' own values (every
    run sets them), so editing a prediction, a fact or a scenario's fitted numbers keeps the runs."""
    worlds = [_without(scenario_dict(w), ["story", *ev.parameters]) for w in ev.worlds.values()]
    return fingerprint([points.round(12).to_dict("list"), seeds, ev.file.customers, sorted(o.key for o in ev.outputs), worlds])


def _without(tree: dict, paths: list[str]) -> dict:
    """``tree`` without the dotted ``paths`` (a copy; missing paths are ignored)."""
    import copy

    out = copy.deepcopy(tree)
    for path in paths:
        *owners, name = path.split(".")
        node = out
        for key in owners:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(name, None)
    return out


def _read_part(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except Exception:  # a damaged chunk is simulated again
        path.unlink(missing_ok=True)
        return None


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


@dataclass
class Emulator:
    """One Gaussian process per output, on the logit of the share, inputs scaled to the prior box."""

    names: list[str]
    low: np.ndarray
    high: np.ndarray
    keys: list[str]
    gps: list[Any]

    def _unit(self, theta: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(theta) - self.low) / (self.high - self.low)

    def logits(self, theta: np.ndarray, keys: list[str] | None = None) -> np.ndarray:
        """Emulated logits, (sets × outputs) for the outputs ``keys`` (default: all)."""
        u = self._unit(theta)
        idx = [self.keys.index(k) for k in keys] if keys is not None else range(len(self.keys))
        return np.column_stack([self.gps[i].predict(u) for i in idx])

    def shares(self, theta: np.ndarray, keys: list[str] | None = None) -> np.ndarray:
        return expit(self.logits(theta, keys))


def fit(table: pd.DataFrame, names: list[str], low: list[float], high: list[float], keys: list[str], seed: int = 0) -> Emulator:
    """Fit one Gaussian process per output key of ``table`` (rows: parameter sets)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    low_a, high_a = np.asarray(low, float), np.asarray(high, float)
    x = (table[names].to_numpy(float) - low_a) / (high_a - low_a)
    gps = []
    for key in keys:
        y = table[key].to_numpy(float)
        ok = ~np.isnan(y)
        xk, yk = x[ok], logit(y[ok])
        kernel = ConstantKernel(1.0, (1e-2, 1e3)) * Matern(np.full(len(names), 0.5), (1e-2, 1e2), nu=2.5) + WhiteKernel(1e-3, (1e-8, 1.0))
        rng = np.random.default_rng(seed)
        sub = rng.choice(len(yk), min(HYPER_POINTS, len(yk)), replace=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            tuned = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=1, random_state=seed).fit(xk[sub], yk[sub])
        gps.append(GaussianProcessRegressor(tuned.kernel_, normalize_y=True, optimizer=None).fit(xk, yk))
    return Emulator(list(names), low_a, high_a, list(keys), gps)


def held_out_error(table: pd.DataFrame, names: list[str], low: list[float], high: list[float], keys: list[str],
                   share: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """How well the emulator predicts runs it was not fitted to: per output, RMSE on the share scale."""
    rng = np.random.default_rng(seed)
    test = rng.random(len(table)) < share
    emu = fit(table[~test], names, low, high, keys, seed)
    rows = []
    for key in keys:
        y = table.loc[test, key].to_numpy(float)
        ok = ~np.isnan(y)
        pred = emu.shares(table.loc[test, names].to_numpy(float)[ok], [key])[:, 0]
        rows.append({"output": key, "points": int(ok.sum()), "rmse": float(np.sqrt(np.mean((pred - y[ok]) ** 2))),
                     "max_error": float(np.max(np.abs(pred - y[ok]))) if ok.any() else np.nan})
    return pd.DataFrame(rows)


def progress_line(text: str) -> None:
    print(f"cxsim: {text}", file=sys.stderr, flush=True)
