"""Targets derived from observed counts: a funnel, survey scores, or the reasons non-users gave.

Each CSV has two columns:

* ``funnel``: ``milestone, customers`` — milestones of :data:`cxsim.readouts.metrics.MILESTONES`
  in journey order (any subset). Each row after the first gives a stage rate,
  ``customers / customers of the row before`` (target ``funnel:<m>/<before>``), with
  the binomial standard error ``sqrt(p (1 − p) / n_before)``.
* ``scores``: ``score, count`` — answers 0–10 to "would you recommend?"; or one row per
  respondent, a ``score`` column and no ``count`` column (other columns, e.g. an id, are
  ignored). Targets ``nps`` (multinomial se
  ``100 sqrt((p₉₋₁₀ + p₀₋₆ − (p₉₋₁₀ − p₀₋₆)²) / n)``) and ``mean_score`` (se ``sd / sqrt(n)``).
* ``reasons``: ``reason, count`` — the reasons non-users gave (:data:`cxsim.rules.barriers.REASONS`).
  One target ``reason:<r>`` per row: ``count / total`` with binomial se.

The counts can also be given in memory (``counts = {key: count, …}`` of an ``[[observed]]``
entry, what the explorer's 'Your own data' tab passes): the same checks apply.
:func:`read_upload` reads an uploaded CSV from bytes (size bound, the same checks);
:func:`cxsim.calibration.compare.template` writes an example of each kind from a simulated run.

A share of 0 or 1 would have a standard error of 0; the se uses the share
clamped to ``[0.5 / n, 1 − 0.5 / n]`` instead (half a count of continuity).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..readouts.metrics import FUNNEL
from ..rules.barriers import REASONS
from ..rules.emotions import DETRACTOR, PROMOTER
from ..state.params import CxError, path_text, shorten
from .figure import AS_WRITTEN, Target

if TYPE_CHECKING:
    from .targets import Observed

COLUMNS = {"funnel": ("milestone", "customers"), "scores": ("score", "count"), "reasons": ("reason", "count")}


def binomial_se(k: float, n: float) -> float:
    p = min(max(k / n, 0.5 / n), 1 - 0.5 / n)
    return math.sqrt(p * (1 - p) / n)


MAX_COUNT = 10**12
"""Largest count of people in a row (more than the world's population: a typo or a unit error)."""

MAX_UPLOAD_BYTES = 2_000_000
"""Largest CSV of observed counts read from an upload (bytes)."""


MAX_FILE_BYTES = 50_000_000
"""Largest CSV of observed counts read from a targets file's ``file`` (a survey with a row per respondent fits)."""


def read_counts(path: Path, kind: str, where: str, given: str | None = None) -> pd.DataFrame:
    """The counts CSV a targets file names: a regular file of at most :data:`MAX_FILE_BYTES`, UTF-8, then checked.

    A folder (``file = "."``), a device (``/dev/zero``), a pipe or socket is refused before anything is read."""
    shown = f"{where}.file = {shorten(path_text(given if given is not None else path, f'{where}.file'), 60)}"
    try:
        if not path.exists():
            raise CxError(f"{shown}: not found")
        if path.is_dir():
            raise CxError(f"{shown}: is a folder, not a CSV file")
        if not path.is_file():
            raise CxError(f"{shown}: is not a regular file (a device, pipe or socket), not a CSV file")
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise CxError(f"{shown}: cannot be read ({err.strerror or type(err).__name__})") from None
    if len(data) > MAX_FILE_BYTES:
        raise CxError(f"{shown}: larger than {MAX_FILE_BYTES:,} bytes: not a CSV of counts")
    if b"\0" in data:
        raise CxError(f"{shown}: a binary file, not a CSV")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CxError(f"{shown}: not UTF-8 text (byte {err.start}): save it as CSV in UTF-8") from None
    return parse_counts(io.BytesIO(data), kind, f"{where}.file: {path.name}")


def parse_counts(source, kind: str, where: str) -> pd.DataFrame:
    """The two columns of a counts CSV (a path or a file-like object), checked; ``where`` starts every message."""
    try:
        df = pd.read_csv(source, skipinitialspace=True, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise CxError(f"{where} is not a readable CSV: {str(err).splitlines()[0]}") from None
    df.columns = [str(c).strip() for c in df.columns]
    key, count = COLUMNS[kind]
    if kind == "scores" and key in df.columns and count not in df.columns:
        df = df.assign(count=1)  # one row per respondent
    missing = [c for c in (key, count) if c not in df.columns]
    if missing:
        raise CxError(f"{where} needs columns {key}, {count} for kind {kind!r} (missing {', '.join(missing)})")
    return _checked(df, kind, where, row_offset=2)


def counts_frame(counts: dict, kind: str, where: str) -> pd.DataFrame:
    """In-memory counts ``{key: count}`` as the table a CSV gives (same checks)."""
    key, count = COLUMNS[kind]
    df = pd.DataFrame({key: list(counts), count: list(counts.values())})
    return _checked(df, kind, where, row_offset=1)


def _checked(df: pd.DataFrame, kind: str, where: str, row_offset: int) -> pd.DataFrame:
    key, count = COLUMNS[kind]
    counts = pd.to_numeric(df[count], errors="coerce").astype(float)
    ok = counts.notna() & np.isfinite(counts.fillna(0)) & (counts >= 0) & (counts <= MAX_COUNT) & (counts == counts.round())
    bad = df[~ok]
    if len(bad):
        raise CxError(f"{where}: {count} = {_plain(bad[count].iloc[0])!r} in row {bad.index[0] + row_offset}: "
                      f"must be a whole number of people, 0 to {MAX_COUNT:,}")
    keys = df[key].astype(str).str.strip() if kind != "scores" else df[key]
    return pd.DataFrame({key: keys, count: counts}).reset_index(drop=True)


def _plain(x):
    """A numpy scalar as the Python value it holds (so a message reads ``-1``, not ``np.int64(-1)``)."""
    return x.item() if isinstance(x, np.generic) else x


def read_upload(data: bytes, kind: str, filename: str) -> pd.DataFrame:
    """An uploaded CSV of observed counts, read from memory, with every check of a targets file's ``[[observed]]``.

    At most :data:`MAX_UPLOAD_BYTES`; UTF-8; the columns of ``kind``; its rows checked as targets
    would be (milestones in journey order, scores 0–10, known reasons). Returns the counts as a
    table (scores given per respondent are counted per score). CxError: one line.
    """
    if kind not in COLUMNS:
        raise CxError(f"kind = {kind!r}: choose from {', '.join(COLUMNS)}")
    name = Path(str(filename)).name[:60] or "uploaded file"
    where = f"{kind} CSV"
    if len(data) > MAX_UPLOAD_BYTES:
        raise CxError(f"{where}: {name}: {len(data):,} bytes: a CSV of observed counts is at most {MAX_UPLOAD_BYTES:,} bytes")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CxError(f"{where}: {name}: not UTF-8 text (byte {err.start}): save it as CSV in UTF-8") from None
    df = parse_counts(io.BytesIO(data), kind, f"{where}: {name}")
    if kind == "scores" and _valid_scores(df):
        df = df.groupby("score", sort=True, as_index=False)["count"].sum()
        df["score"] = df["score"].astype(int) if (df["score"] == df["score"].round()).all() else df["score"]
    derive(df, kind, _CheckOnly(), where, name)  # every check a calibration makes, here rather than at fit time
    return df


def _valid_scores(df: pd.DataFrame) -> bool:
    score = pd.to_numeric(df["score"], errors="coerce")
    return bool(score.notna().all() and score.between(0, 10).all())


class _CheckOnly:
    """Stands in for an ``[[observed]]`` entry when only the checks of :func:`derive` are wanted."""

    variant, steps, source = "baseline", None, "upload"


def as_counts(df: pd.DataFrame, kind: str) -> dict[str, float]:
    """A checked counts table as ``{key: count}`` (what an ``[[observed]]`` entry's ``counts`` holds)."""
    key, count = COLUMNS[kind]
    table = df.groupby(key, sort=False)[count].sum()
    return {(str(int(k)) if kind == "scores" else str(k)): float(v) for k, v in table.items()}


def targets(path: Path | None, obs: "Observed", where: str) -> list["Target"]:
    """The targets observed counts give (see the module docstring): from ``path``, or from ``obs.counts``."""
    if obs.counts is not None:
        df, name = counts_frame(obs.counts, obs.kind, f"{where}.counts"), "counts"
    else:
        df, name = read_counts(path, obs.kind, where, obs.file), path.name
    return derive(df, obs.kind, obs, where, name)


def derive(df: pd.DataFrame, kind: str, obs, where: str, file: str) -> list:
    """Targets from a checked counts table (raises CxError for a milestone out of order, a score outside 0–10, …)."""
    return {"funnel": _funnel, "scores": _scores, "reasons": _reasons}[kind](df, obs, where, file)


def _in(obs) -> str:
    """A label's world: ' (variant)', none for the scenario as written."""
    return "" if obs.variant == AS_WRITTEN else f" ({obs.variant})"


def _target(obs: "Observed", name: str, value: float, se: float, label: str, file: str):
    return Target(measure=name, variant=obs.variant, steps=obs.steps, value=value, se=se, label=label,
                  source=obs.source or (f"observed counts in {file}" if file != "counts" else "observed counts"))


def _funnel(df: pd.DataFrame, obs, where: str, file: str) -> list:
    return [_target(obs, c.quantity, c.count / c.n, binomial_se(c.count, c.n), c.label + _in(obs), file)
            for c in binomial_counts(df, "funnel", where, file)]


@dataclass(frozen=True)
class Counted:
    """``count`` of ``n`` people: one binomial observation of a simulated share (``quantity``)."""

    quantity: str
    count: float
    n: float
    label: str


def binomial_counts(df: pd.DataFrame, kind: str, where: str, file: str) -> list[Counted]:
    """A checked funnel or reasons table as binomial observations: each funnel step among those who reached
    the step before, each reason among every non-user counted (scores are not a count of people among n)."""
    if kind == "funnel":
        return _funnel_steps(df, where, file)
    if kind == "reasons":
        return _reason_counts(df, where, file)
    raise CxError(f"{where}: {file}: kind = {kind!r}: a posterior needs counts of people among n (funnel or reasons), "
                  "not a score distribution")


def _funnel_steps(df: pd.DataFrame, where: str, file: str) -> list[Counted]:
    unknown = [m for m in df["milestone"] if m not in FUNNEL]
    if unknown:
        raise CxError(f"{where}: {file}: unknown milestone {unknown[0]!r}: choose from {', '.join(FUNNEL)}")
    order = [FUNNEL.index(m) for m in df["milestone"]]
    if order != sorted(set(order)):
        raise CxError(f"{where}: {file}: milestones must be in journey order without repeats ({', '.join(FUNNEL)})")
    if len(df) < 2:
        raise CxError(f"{where}: {file}: a funnel needs at least two milestones")
    out = []
    rows = list(df.itertuples(index=False))
    for before, row in zip(rows, rows[1:]):
        n, k = float(before.customers), float(row.customers)
        if n <= 0 or k > n:
            raise CxError(f"{where}: {file}: {row.milestone} = {k:g} customers must be ≤ {before.milestone} = {n:g} (and that > 0)")
        out.append(Counted(f"funnel:{row.milestone}/{before.milestone}", k, n, f"{row.milestone} / {before.milestone}"))
    return out


def _scores(df: pd.DataFrame, obs, where: str, file: str) -> list:
    score = pd.to_numeric(df["score"], errors="coerce")
    bad = score.isna() | ~score.between(0, 10) | (score != score.round())
    if bad.any():
        first = df["score"][bad].iloc[0]
        raise CxError(f"{where}: {file}: score = {_plain(first)!r}: must be a whole number 0 to 10")
    n = float(df["count"].sum())
    if n < 2:
        raise CxError(f"{where}: {file}: needs at least 2 answers")
    p = df.groupby(score)["count"].sum() / n
    promoters, detractors = float(p[p.index >= PROMOTER].sum()), float(p[p.index <= DETRACTOR].sum())
    nps = 100 * (promoters - detractors)
    se_nps = 100 * math.sqrt(max(promoters + detractors - (promoters - detractors) ** 2, 1 / n) / n)
    mean = float((p * p.index).sum())
    sd = math.sqrt(max(float((p * (p.index - mean) ** 2).sum()) * n / (n - 1), 1 / n))
    return [_target(obs, "nps", nps, se_nps, f"NPS{_in(obs)}", file),
            _target(obs, "mean_score", mean, sd / math.sqrt(n), f"mean score to recommend{_in(obs)}", file)]


def _reasons(df: pd.DataFrame, obs, where: str, file: str) -> list:
    return [_target(obs, c.quantity, c.count / c.n, binomial_se(c.count, c.n), c.label + _in(obs), file)
            for c in binomial_counts(df, "reasons", where, file)]


def _reason_counts(df: pd.DataFrame, where: str, file: str) -> list[Counted]:
    unknown = [r for r in df["reason"] if r not in REASONS]
    if unknown:
        raise CxError(f"{where}: {file}: unknown reason {unknown[0]!r}: choose from {', '.join(REASONS)}")
    counts = df.groupby("reason", sort=False)["count"].sum()
    n = float(counts.sum())
    if n <= 0:
        raise CxError(f"{where}: {file}: no reasons counted")
    return [Counted(f"reason:{r}", float(k), n, f"non-users giving {r.replace('_', ' ')}") for r, k in counts.items()]
