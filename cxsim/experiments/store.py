"""Results that survive a crash: one Parquet file per finished run, and a manifest.

Layout of a results folder::

    manifest.json            experiment, base scenario, seeds, cxsim version, git hash, finished runs
    log.jsonl                append-only: one line per finished run (key, run, seconds)
    runs/<key>.parquet       one row: the run's parameters, seed and scalar outcomes
    timeseries/<key>.parquet the run's outcomes at every step, long format (run, step, metric, value)

A run is finished when ``runs/<key>.parquet`` exists: it is written last, to a
temporary file that is flushed, fsynced and renamed, so it is either whole or
absent. After a crash (even ``kill -9``) the files are the truth: stray temporary
files are removed, the manifest is rebuilt from the files, and a resumed sweep
runs only the keys that are missing. Query everything with DuckDB
(``read_parquet('DIR/runs/*.parquet')``) or :func:`load_results`.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..params import CxError

RUNS, SERIES, MANIFEST, LOG = "runs", "timeseries", "manifest.json", "log.jsonl"


def write_atomic(table: pa.Table, path: Path) -> None:
    """Write a Parquet file so it is either complete or absent (temp file, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        pq.write_table(table, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_text_atomic(text: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def row_table(row: dict[str, Any]) -> pa.Table:
    """One run's row with stable types: numbers as float64 (None → NaN), ints as int64, text as string."""
    cols = {}
    for k, v in row.items():
        if isinstance(v, bool):
            cols[k] = pa.array([v], pa.bool_())
        elif isinstance(v, int) and k in ("run", "point", "replicate", "seed"):
            cols[k] = pa.array([v], pa.int64())
        elif v is None or isinstance(v, (int, float)):
            cols[k] = pa.array([float("nan") if v is None else float(v)], pa.float64())
        else:
            cols[k] = pa.array([str(v)], pa.string())
    return pa.table(cols)


def long_series(ts: pd.DataFrame, run: int, key: str) -> pa.Table:
    """A run's wide time series (one row per step) as long rows: run, key, step, metric, value."""
    metrics = [c for c in ts.columns if c != "step"]
    n = len(ts)
    values = ts[metrics].to_numpy(dtype="float64", na_value=float("nan")).T.ravel()
    return pa.table({
        "run": pa.array([run] * (n * len(metrics)), pa.int64()),
        "key": pa.array([key] * (n * len(metrics)), pa.string()),
        "step": pa.array(list(ts["step"].astype("int64")) * len(metrics), pa.int64()),
        "metric": pa.array([m for m in metrics for _ in range(n)], pa.string()),
        "value": pa.array(values, pa.float64()),
    })


class Store:
    """A results folder: write finished runs, find the finished ones, keep the manifest."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.runs = self.root / RUNS
        self.series = self.root / SERIES

    def open(self) -> "Store":
        self.runs.mkdir(parents=True, exist_ok=True)
        self.series.mkdir(parents=True, exist_ok=True)
        self.clean()
        return self

    def clean(self) -> int:
        """Remove temporary files left by a crash; returns how many."""
        stray = [p for d in (self.runs, self.series, self.root) if d.exists() for p in d.glob(".*.tmp")]
        for p in stray:
            p.unlink(missing_ok=True)
        return len(stray)

    def save(self, row: dict[str, Any], ts: pd.DataFrame | None, seconds: float = 0.0) -> None:
        """Store one finished run: time series first, then the row (which marks it finished)."""
        key = row["key"]
        if ts is not None:
            write_atomic(long_series(ts, row["run"], key), self.series / f"{key}.parquet")
        write_atomic(row_table(row), self.runs / f"{key}.parquet")
        with open(self.root / LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"key": key, "run": row["run"], "seconds": round(seconds, 4), "at": time.time()}) + "\n")

    def finished(self) -> set[str]:
        """Keys of the runs whose row file is present and readable (unreadable ones are removed)."""
        done = set()
        for p in self.runs.glob("*.parquet"):
            try:
                pq.read_metadata(p)
            except Exception:  # a damaged file cannot come from write_atomic, but never trust it
                p.unlink(missing_ok=True)
                continue
            done.add(p.stem)
        return done

    def has_runs(self) -> bool:
        return self.runs.exists() and any(self.runs.glob("*.parquet"))

    # -- manifest -------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any]:
        path = self.root / MANIFEST
        if not path.exists():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return {}

    def write_manifest(self, header: dict[str, Any]) -> dict[str, Any]:
        """The manifest = ``header`` + the finished runs, rebuilt from the files."""
        table = load_results(self.root, columns=["run", "key", "policy", "point", "replicate", "seed"])
        manifest = {**header, "finished": len(table), "runs": table.to_dict("records"), "updated": _now()}
        write_text_atomic(json.dumps(manifest, indent=1, default=str), self.root / MANIFEST)
        self._rewrite_log(table)
        return manifest

    def _rewrite_log(self, table: pd.DataFrame) -> None:
        """Drop log lines of runs without a file (and a torn last line) after a crash."""
        path, keep = self.root / LOG, set(table["key"]) if len(table) else set()
        if not path.exists():
            return
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if entry.get("key") in keep:
                lines.append(line)
        write_text_atomic("".join(f"{x}\n" for x in lines), path)


def provenance() -> dict[str, Any]:
    """cxsim version, git commit (if cxsim runs from a checkout), Python and platform."""
    from .. import __version__

    return {"cxsim_version": __version__, "git_hash": git_hash(), "python": sys.version.split()[0],
            "platform": platform.platform(), "created": _now()}


def git_hash() -> str | None:
    repo = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


# -- reading ------------------------------------------------------------------------------
def _glob(root: Path, sub: str) -> str:
    return str(Path(root) / sub / "*.parquet").replace("'", "''")


def connect(root: str | Path):
    """A DuckDB connection with views ``runs`` and ``timeseries`` over a results folder."""
    import duckdb

    root = Path(root)
    if not (root / RUNS).exists():
        raise CxError(f"{str(root)!r} holds no results (no {RUNS}/ folder)")
    con = duckdb.connect()
    for view, sub in (("runs", RUNS), ("timeseries", SERIES)):
        if any((root / sub).glob("*.parquet")):
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet('{_glob(root, sub)}', union_by_name = true)")
    return con


def query(root: str | Path, sql: str) -> pd.DataFrame:
    """Run SQL over a results folder (tables ``runs`` and ``timeseries``), e.g.
    ``query(d, 'SELECT policy, avg(acceptance_rate) FROM runs GROUP BY policy')``."""
    con = connect(root)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def load_results(root: str | Path, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Every finished run of a results folder, one row each, ordered by run number."""
    root = Path(root)
    if not (root / RUNS).exists() or not any((root / RUNS).glob("*.parquet")):
        if not root.exists():
            raise CxError(f"results folder {str(root)!r} not found")
        return pd.DataFrame(columns=list(columns or []))
    cols = "*" if columns is None else ", ".join(f'"{c}"' for c in columns)
    return query(root, f"SELECT {cols} FROM runs ORDER BY run").reset_index(drop=True)


def load_timeseries(root: str | Path, wide: bool = False) -> pd.DataFrame:
    """Every stored time series in long format (run, key, step, metric, value), or wide (one column per metric)."""
    root = Path(root)
    if not any((root / SERIES).glob("*.parquet")):
        return pd.DataFrame(columns=["run", "key", "step", "metric", "value"])
    sql = "SELECT run, key, step, metric, value FROM timeseries WHERE key IN (SELECT key FROM runs) ORDER BY run, metric, step"
    ts = query(root, sql)  # only finished runs: a series whose row file is missing is an interrupted run
    if wide:
        ts = ts.pivot_table(index=["run", "step"], columns="metric", values="value").reset_index()
        ts.columns.name = None
    return ts
