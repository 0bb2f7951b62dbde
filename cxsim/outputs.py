"""Where a run's results go: a checked folder, tables streamed replicate by replicate, a summary.

``cxsim run --out DIR`` writes into DIR (checked before any run starts):

    customers.parquet    one row per customer and replicate: final state, barrier ledger, and
                         stage, segment and reason as categories; a ``seed`` column
    timeseries.parquet   one row per step and replicate: every metric and stage count; ``seed``
    summary.json         one replicate: its summary; several: ``replicates`` (one entry per seed),
                         and ``mean`` and ``ci95`` (95% t-interval) of every numeric field

Each replicate's tables are written as files of their own when it finishes (``.parts/``), and
joined at the end into one Parquet file per table with one row group per replicate, so only
the summary numbers of finished replicates stay in memory. With ``--format csv`` the same
tables are ``customers.csv`` and ``timeseries.csv``. If a replicate fails (or the disk is
full), the finished replicates are joined, or kept as ``customers-seed-N.parquet`` when even
that cannot be written, and summary.json describes them.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .state.params import CxError

if TYPE_CHECKING:
    import pyarrow as pa

    from .engine.model import Results

FORMATS = ("parquet", "csv")
TABLES = ("customers", "timeseries")
SUMMARY = "summary.json"
IDENTITY = ("scenario", "customers", "steps", "interventions")
"""Summary fields that are the same in every replicate of one command (shown once, not averaged)."""


class Incomplete(CxError):
    """Work stopped part-way; what finished is kept and the message says how to complete it (exit 1)."""


def output_files(fmt: str) -> list[str]:
    return [f"{t}.{fmt}" for t in TABLES] + [SUMMARY]


# -- the folder -------------------------------------------------------------------------------
def check_out_dir(path: str | Path, what: str = "--out") -> Path:
    """Make sure results can go to ``path`` before anything runs: a new, empty or earlier run folder we can write.

    Refused in one line: a file, a device, a folder holding other things than a run's
    outputs, a folder that cannot be created or written. A new folder is not created here
    (a command refused later leaves nothing behind), only checked to be creatable.
    """
    out = check_writable_dir(path, what)
    if out.exists():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in ALL_OUTPUTS and not p.name.startswith(".") and not KEPT.fullmatch(p.name))
        if foreign:
            raise CxError(f"{what} {path}: holds other files ({', '.join(foreign[:3])}{', …' if len(foreign) > 3 else ''}), "
                          "not the outputs of a run: choose a new or empty folder")
    return out


def check_writable_dir(path: str | Path, what: str = "--out") -> Path:
    """``path`` is a folder results can be written to, or can be created as one (nothing is left behind).

    Refused in one line naming ``what``: a file, a device, a broken link, a folder that cannot be
    written, or one that cannot be created (e.g. under ``/proc``, or below a file).
    """
    import tempfile

    out = Path(path).expanduser()
    shown = str(path)
    try:
        if out.exists() or out.is_symlink():
            mode = out.stat().st_mode if out.exists() else 0
            if not stat.S_ISDIR(mode):
                kind = "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a file" if out.exists() else "a broken link"
                raise CxError(f"{what} {shown}: is {kind}, not a folder: choose a new or empty folder")
            probe = out / f".cxsim-write-test.{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
            return out
        parent = next(p for p in out.absolute().parents if p.exists() or p.is_symlink())  # created only when results come
        if not parent.is_dir():
            raise CxError(f"{what} {shown}: cannot be created ({parent} is not a folder)")
        os.rmdir(tempfile.mkdtemp(prefix=".cxsim-write-test.", dir=parent))  # what creating it would meet (e.g. /proc)
    except OSError as err:
        raise CxError(f"{what} {shown}: cannot {'write there' if out.is_dir() else 'be created'} ({err.strerror or err})") from None
    return out


ALL_OUTPUTS = {name for fmt in FORMATS for name in output_files(fmt)}
KEPT = re.compile(r"(customers|timeseries)-seed-[0-9]+\.(parquet|csv)")
"""A replicate's table kept on its own when joining failed (see :class:`RunWriter`)."""


def inside(root: str | Path, *parts: str) -> Path:
    """``root/parts…``, refused unless it stays inside ``root`` (after resolving ``..`` and links)."""
    base = Path(root).resolve()
    path = base.joinpath(*parts).resolve()
    if path != base and base not in path.parents:
        raise CxError(f"path {'/'.join(parts)!r} would leave the folder {str(root)!r}: use a plain name")
    return path


# -- the tables, straight from the model's arrays ---------------------------------------------
def customers_arrow(res: "Results") -> "pa.Table":
    """The customers table (the columns of :func:`cxsim.readouts.metrics.customer_table`, plus ``seed``) as Arrow."""
    import pyarrow as pa

    from .rules.barriers import CASH_COSTS, REASONS
    from .rules.journey import STAGES, Stage, loyalty_now
    from .state.agents import STATE

    model = res.model
    c = model.customers
    cols: dict[str, Any] = {"customer": pa.array(np.arange(c.n, dtype=np.int64))}
    categories = {
        "stage": (c.stage, list(STAGES)),
        "segment": (c.segment, model.pars.segment_names),
        "reason": (np.where(c.reason >= 0, c.reason, -1).astype(np.int8), list(REASONS)),  # no reason: null
    }
    for name in STATE:
        if name in categories:
            codes, names = categories[name]
            codes = np.ascontiguousarray(codes)
            cols[name] = pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), pa.array(names, pa.string()))
        elif name == "loyalty":
            loyalty = c.loyalty.copy()
            loyal = np.flatnonzero(c.stage == Stage.LOYAL)
            loyalty[loyal] = loyalty_now(model, loyal)
            cols[name] = pa.array(loyalty)
        else:
            cols[name] = pa.array(np.ascontiguousarray(getattr(c, name)))
    for kind in CASH_COSTS:
        cols[f"cost_{kind}"] = pa.array(np.ascontiguousarray(c.cost(kind)))
    cols["seed"] = pa.array(np.full(c.n, res.seed, dtype=np.int64))
    return pa.table(cols)


def timeseries_arrow(res: "Results") -> "pa.Table":
    import pyarrow as pa

    ts = res.timeseries
    table = pa.Table.from_pandas(ts, preserve_index=False)
    return table.append_column("seed", pa.array(np.full(len(ts), res.seed, dtype=np.int64)))


# -- writing replicate by replicate ------------------------------------------------------------
PARTS = ".parts"
"""Hidden folder of a run in progress: each finished replicate's tables as complete files of their own."""


class RunWriter:
    """The output folder of one ``cxsim run``: add each replicate as it finishes, close at the end (or on failure).

    Each replicate's tables are first written as files of their own (``.parts/customers-SEED.parquet``,
    written to a temporary name and renamed, so a part is whole or absent); :meth:`close` joins them
    into ``customers.parquet`` (one row group per replicate) and removes the parts. Whatever fails
    later — a replicate, or the disk (``No space left on device``) — the finished replicates stay
    readable: if the join itself cannot be written, the parts are moved beside the summary as
    ``customers-seed-N.parquet`` and :attr:`kept` says so.
    """

    def __init__(self, out: Path, fmt: str = "parquet"):
        if fmt not in FORMATS:
            raise CxError(f"--format = {fmt!r}: choose from {', '.join(FORMATS)}")
        self.out, self.fmt = Path(out), fmt
        self.out.mkdir(parents=True, exist_ok=True)
        self.parts = self.out / PARTS
        shutil.rmtree(self.parts, ignore_errors=True)
        self.parts.mkdir()
        self.seeds: list[int] = []
        self.summaries: list[dict[str, Any]] = []
        self.kept = ""
        for name in ALL_OUTPUTS:  # an earlier run's outputs are replaced, never mixed with these
            (self.out / name).unlink(missing_ok=True)
        for old in self.out.glob(f"*-seed-*.{fmt}"):
            old.unlink()

    @property
    def files(self) -> list[Path]:
        return [self.out / name for name in output_files(self.fmt)]

    def add(self, res: "Results") -> None:
        """Write one finished replicate's tables (as parts) and refresh summary.json."""
        for name, table in (("customers", customers_arrow(res)), ("timeseries", timeseries_arrow(res))):
            self._write_part(name, res.seed, table)
        self.seeds.append(res.seed)
        self.summaries.append(res.summary)
        self.write_summary()

    def _part(self, name: str, seed: int) -> Path:
        return self.parts / f"{name}-{seed}.{self.fmt}"

    def _write_part(self, name: str, seed: int, table: "pa.Table") -> None:
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        path = self._part(name, seed)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            if self.fmt == "parquet":
                pq.write_table(table, tmp, compression="snappy", use_dictionary=_categories(table))
            else:
                pcsv.write_csv(table.cast(_plain_schema(table.schema)), tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    describe = None
    """A callable (number of replicates → dict) whose entries join summary.json (e.g. which uncertainty its intervals carry)."""

    def write_summary(self) -> None:
        summary = combine(self.summaries)
        if self.describe is not None:
            summary.update(self.describe(len(self.summaries)))
        text = json.dumps(summary, indent=2, default=str)
        tmp = self.out / f".{SUMMARY}.{os.getpid()}.tmp"
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.out / SUMMARY)
        finally:
            tmp.unlink(missing_ok=True)

    def close(self) -> None:
        """Join the finished replicates' parts into one file per table; if that cannot be written, keep the parts."""
        if not self.parts.exists():
            return
        try:
            for name in TABLES:
                self._join(name)
        except OSError as err:
            for name in ALL_OUTPUTS - {SUMMARY}:
                (self.out / name).unlink(missing_ok=True)
            moved = []
            for name in TABLES:
                for seed in self.seeds:
                    target = self.out / f"{name}-seed-{seed}.{self.fmt}"
                    os.replace(self._part(name, seed), target)
                    moved.append(target.name)
            self.kept = (f"joining failed ({err.strerror or err}): tables kept per seed as "
                         f"customers-seed-{self.seeds[0]}.{self.fmt}, …") if moved else ""
        shutil.rmtree(self.parts, ignore_errors=True)

    def _join(self, name: str) -> None:
        import pyarrow.parquet as pq

        final = self.out / f"{name}.{self.fmt}"
        parts = [self._part(name, seed) for seed in self.seeds]
        if not parts:
            return
        if len(parts) == 1:
            os.replace(parts[0], final)
            return
        tmp = final.with_name(f".{final.name}.tmp")
        try:
            if self.fmt == "parquet":
                writer = None
                try:
                    for part in parts:  # one replicate in memory at a time
                        table = pq.ParquetFile(part).read()  # one file: no pyarrow.dataset import
                        if writer is None:
                            writer = pq.ParquetWriter(tmp, table.schema, compression="snappy", use_dictionary=_categories(table))
                        writer.write_table(table)
                finally:
                    if writer is not None:
                        writer.close()
            else:
                with open(tmp, "wb") as dst:
                    for i, part in enumerate(parts):
                        with open(part, "rb") as src:
                            if i:
                                src.readline()  # one header
                            shutil.copyfileobj(src, dst, 1 << 20)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        for part in parts:
            part.unlink()


def _categories(table: "pa.Table") -> list[str]:
    import pyarrow as pa

    return [f.name for f in table.schema if pa.types.is_dictionary(f.type)]


def _seeds(seeds: list[int]) -> str:
    return f"{seeds[0]}–{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])


def _plain_schema(schema: "pa.Schema") -> "pa.Schema":
    """Categories as their names, for CSV."""
    import pyarrow as pa

    return pa.schema([pa.field(f.name, pa.string() if pa.types.is_dictionary(f.type) else f.type) for f in schema])


# -- the summary of replicates -------------------------------------------------------------------
def combine(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """One replicate: its summary. Several: what they share, ``replicates`` (per seed), ``mean`` and ``ci95``.

    Every numeric field, also inside tables such as ``dropout_reasons`` (a missing entry
    counts 0), gets its mean and 95% t-interval over the replicates, within the field's range
    (:func:`summary_range`) and null below :data:`cxsim.readouts.metrics.MIN_REPLICATES` replicates; non-numeric fields that
    differ between replicates appear only per replicate.
    """
    if len(summaries) == 1:
        return dict(summaries[0])
    first = summaries[0]
    out: dict[str, Any] = {k: first[k] for k in IDENTITY if k in first and all(s.get(k) == first[k] for s in summaries)}
    out["n_replicates"] = len(summaries)
    out["seeds_from"], out["seeds_to"] = summaries[0]["seed"], summaries[-1]["seed"]
    out["replicates"] = [{"seed": s["seed"], **{k: v for k, v in s.items() if k not in out and k != "seed"}} for s in summaries]
    stats = _numeric(summaries, [k for k in first if k not in IDENTITY and k != "seed"])
    out["mean"] = {k: v[0] for k, v in stats.items()}
    out["ci95"] = {k: v[1] for k, v in stats.items()}
    return out


SUMMARY_SHARES = ("follow_up_rate", "promoters", "detractors")
"""Summary fields that are shares (in [0, 1]); a metric has its unit's range, every other number in a summary counts or costs (≥ 0)."""


def summary_range(key: str) -> tuple[float, float]:
    """The values a summary field can take, which its interval stays within."""
    from .readouts.measures import metric_range
    from .readouts.metrics import METRIC_BY_NAME

    if key in METRIC_BY_NAME:
        return metric_range(key)
    return (0.0, 1.0) if key in SUMMARY_SHARES else (0.0, math.inf)


def _numeric(records: list[dict[str, Any]], keys: list[str], missing: Any = None, bounds: tuple[float, float] | None = None) -> dict[str, Any]:
    """key → (mean, [low, high]) for numbers; nested tables of numbers → (table of means, table of intervals).

    ``missing``: the value of a key a record lacks (inside tables of counts: 0); ``bounds``: the
    range of every value (default: the field's, :func:`summary_range`).
    """
    from .readouts.metrics import interval

    out: dict[str, Any] = {}
    for key in keys:
        values = [r.get(key, missing) for r in records]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, dict) for v in present):
            inner = list(dict.fromkeys(k for v in present for k in v))
            nested = _numeric([v or {} for v in values], inner, missing=0, bounds=bounds or summary_range(key))
            out[key] = ({k: m for k, (m, _) in nested.items()}, {k: c for k, (_, c) in nested.items()})
        elif all(_is_number(v) for v in present):  # numbers, or None where a run had nothing to measure
            mean, lo, hi = interval([math.nan if v is None else float(v) for v in values], bounds=bounds or summary_range(key))
            out[key] = (_clean(mean), [_clean(lo), _clean(hi)])
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _clean(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)
