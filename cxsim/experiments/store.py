"""Results that survive a crash: one Parquet file per finished run, and a manifest.

Layout of a results folder::

    manifest.json            experiment, base scenario, seeds, cxsim version, git hash, finished runs,
                             and the checksum of every result file
    log.jsonl                append-only: one line per finished run (key, run, seconds, checksums)
    runs/<key>.parquet       one row: the run's parameters, seed and scalar outcomes
    timeseries/<key>.parquet the run's outcomes at every step, long format (run, step, metric, value)
    .lock                    held while a sweep writes the folder (a second writer fails at once)

A run is finished when ``runs/<key>.parquet`` exists: it is written last, to a
temporary file that is flushed, fsynced and renamed, so it is either whole or
absent. Each file's BLAKE2b checksum goes into the log line of its run (and the
manifest), so a file damaged later (truncated, overwritten) is found by
:meth:`Store.verify`, named, removed and run again on resume. After a crash (even
``kill -9``) the files are the truth: stray temporary files are removed, the
manifest is rebuilt from the files, and a resumed sweep runs only the keys that
are missing or damaged. The lock is an OS file lock (``filelock``): the OS
releases it when its process dies, so a killed sweep's lock is taken over by the
next one. Query everything with DuckDB (``read_parquet('DIR/runs/*.parquet')``)
or :func:`load_results`.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..state.params import CxError

RUNS, SERIES, MANIFEST, LOG, LOCK = "runs", "timeseries", "manifest.json", "log.jsonl", ".lock"


def checksum(data: bytes) -> str:
    """BLAKE2b (16 bytes) of a file's bytes, as hex."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def file_checksum(path: Path) -> str | None:
    try:
        return checksum(path.read_bytes())
    except OSError:
        return None


def write_atomic(table: pa.Table, path: Path) -> str:
    """Write a Parquet file so it is either complete or absent (temp file, fsync, rename); returns its checksum."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    data = sink.getvalue().to_pybytes()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return checksum(data)


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
        self.removed: list[str] = []  # unreadable run files found (and removed) by finished()

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

    @contextmanager
    def lock(self) -> Iterator["Store"]:
        """Hold the folder's lock while writing; another writer fails at once with one line."""
        from filelock import FileLock, Timeout

        lock = FileLock(self.root / LOCK, timeout=0)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except Timeout:  # (a subclass of OSError: first)
            raise CxError(f"{self.root} is being written by another sweep (it holds {self.root / LOCK}): "
                          "wait for it to finish, or choose another --out") from None
        except OSError as err:
            raise CxError(f"{self.root}: cannot write there ({err.strerror or err})") from None
        try:
            yield self
        finally:
            lock.release()

    def path(self, sub: str, key: str) -> Path:
        """Where run ``key``'s file of kind ``sub`` lives (keys are hex fingerprints; anything else is refused)."""
        if not key or not all(ch in "0123456789abcdef" for ch in key):
            raise CxError(f"run key {key!r}: expected a hex fingerprint")
        return self.root / sub / f"{key}.parquet"

    def save(self, row: dict[str, Any], ts: pd.DataFrame | None, seconds: float = 0.0) -> None:
        """Store one finished run: time series first, then the row (which marks it finished), then its log line."""
        key = row["key"]
        sums = {}
        if ts is not None:
            sums[f"{SERIES}/{key}.parquet"] = write_atomic(long_series(ts, row["run"], key), self.path(SERIES, key))
        sums[f"{RUNS}/{key}.parquet"] = write_atomic(row_table(row), self.path(RUNS, key))
        self._log({"key": key, "run": row["run"], "seconds": round(seconds, 4), "at": time.time(), "checksums": sums})

    def _log(self, entry: dict[str, Any]) -> None:
        """Append one line; after a crash mid-line, start a new line so the torn one does not swallow this one."""
        path = self.root / LOG
        with open(path, "a+b") as fh:
            torn = False
            if fh.seek(0, os.SEEK_END) > 0:
                fh.seek(-1, os.SEEK_END)
                torn = fh.read(1) != b"\n"
            fh.write((b"\n" if torn else b"") + (json.dumps(entry) + "\n").encode("utf-8"))

    def logged(self) -> dict[str, dict[str, Any]]:
        """key → the latest whole log line of that run (a torn line is skipped)."""
        path, out = self.root / LOG, {}
        if not path.exists():
            return out
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and "key" in entry:
                out[entry["key"]] = entry
        return out

    def verify(self) -> list[str]:
        """Check every finished run's files against their checksums; remove damaged runs and return their file names.

        A run without recorded checksums (its log line was lost in a crash) is read in full
        instead, and its checksums are logged if it reads.
        """
        damaged: list[str] = []
        logged = self.logged()
        for key in sorted(self.finished()):
            entry = logged.get(key, {})
            sums = entry.get("checksums")
            if sums:
                bad = [name for name, digest in sums.items() if file_checksum(self.root / name) != digest]
            else:
                bad, sums = self._read_whole(key)
                if not bad:
                    self._log({"key": key, "run": entry.get("run"), "seconds": entry.get("seconds", 0.0), "at": time.time(), "checksums": sums})
            if bad:
                damaged += bad
                for sub in (RUNS, SERIES):
                    self.path(sub, key).unlink(missing_ok=True)
        return sorted(set(self.removed)) + damaged

    def _read_whole(self, key: str) -> tuple[list[str], dict[str, str]]:
        bad, sums = [], {}
        for sub in (SERIES, RUNS):
            path = self.path(sub, key)
            if not path.exists():
                continue
            name = f"{sub}/{key}.parquet"
            try:
                pq.read_table(path)
            except Exception:
                bad.append(name)
                continue
            sums[name] = file_checksum(path)
        return bad, sums

    def finished(self) -> set[str]:
        """Keys of the runs whose row file is present and readable (unreadable ones are removed)."""
        done = set()
        for p in self.runs.glob("*.parquet"):
            try:
                pq.read_metadata(p)
            except Exception:  # a damaged file cannot come from write_atomic, but never trust it
                p.unlink(missing_ok=True)
                (self.series / p.name).unlink(missing_ok=True)
                self.removed.append(f"{RUNS}/{p.name}")
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
        logged = self.logged()
        sums = {name: digest for key in table["key"] for name, digest in logged.get(key, {}).get("checksums", {}).items()} if len(table) else {}
        manifest = {**header, "finished": len(table), "runs": table.to_dict("records"), "checksums": sums, "updated": _now()}
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


DEPENDENCIES = ("numpy", "numba", "pandas", "mesa", "pydantic", "pyarrow", "scipy", "SALib", "duckdb", "dask", "optuna")
"""Packages whose installed versions go into a manifest (those installed: optuna is optional)."""


def provenance() -> dict[str, Any]:
    """cxsim and dependency versions (``importlib.metadata``), git commit (only from a checkout of cxsim), Python, platform."""
    return {"cxsim_version": installed_version("cxsim") or _own_version(), "dependencies": dependency_versions(),
            "git_hash": git_hash(), "python": sys.version.split()[0], "platform": platform.platform(), "created": _now()}


def installed_version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _own_version() -> str:
    from .. import __version__

    return __version__


def dependency_versions() -> dict[str, str]:
    """Installed version of each of :data:`DEPENDENCIES` (missing ones left out)."""
    return {name: v for name in DEPENDENCIES if (v := installed_version(name))}


def cxsim_checkout() -> Path | None:
    """The folder above the package if it is a checkout of cxsim itself: its pyproject.toml names the project cxsim.

    An installed package (site-packages) or a copy inside some other repository is not one.
    """
    import tomllib

    root = Path(__file__).resolve().parents[2]
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    return root if project.get("name") == "cxsim" else None


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                             timeout=5, env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def git_hash() -> str | None:
    """The commit of the cxsim checkout this package runs from; None when it is installed or sits in another repository."""
    root = cxsim_checkout()
    if root is None:
        return None
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != root:
        return None
    return _git(root, "rev-parse", "HEAD")


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
            try:
                con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet('{_glob(root, sub)}', union_by_name = true)")
            except duckdb.Error as err:
                con.close()
                raise _explained(root, err) from None
    return con


def _explained(root: Path, err: Exception) -> CxError:
    """A DuckDB failure as one line: the damaged file by name if there is one."""
    bad = damaged_file(root)
    if bad is not None:
        return CxError(f"{bad}: damaged result file ({bad.stat().st_size} bytes, not a whole Parquet file): "
                       "run the sweep again with --resume to redo its run")
    return CxError(f"query failed: {' '.join(str(err).split())[:160]}")


def query(root: str | Path, sql: str) -> pd.DataFrame:
    """Run SQL over a results folder (tables ``runs`` and ``timeseries``), e.g.
    ``query(d, 'SELECT policy, avg(acceptance_rate) FROM runs GROUP BY policy')``.

    A damaged result file is named in one line (and how to redo it), not left to fail inside DuckDB.
    """
    import duckdb

    con = connect(root)
    try:
        return con.execute(sql).df()
    except duckdb.Error as err:
        raise _explained(Path(root), err) from None
    finally:
        con.close()


def damaged_file(root: Path) -> Path | None:
    """The first result file of ``root`` that is not a whole Parquet file, if any."""
    for sub in (RUNS, SERIES):
        for path in sorted((root / sub).glob("*.parquet")):
            try:
                pq.read_metadata(path)
            except Exception:
                return path
    return None


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
