"""Optuna studies kept in a results folder: one SQLite file, resumable, bound to what started it.

Calibration (:mod:`cxsim.calibration`) and optimisation (:mod:`cxsim.optimisation`) both keep
their study in ``DIR/study.db``; reopening it continues it (``--resume``), and a study started
for another scenario, targets or levers is refused rather than mixed.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from .state.params import CxError

STUDY_FILE = "study.db"


def storage_url(out: Path) -> str:
    return f"sqlite:///{(out / STUDY_FILE).resolve()}"


def storage(out: Path):
    """The study's SQLite file in write-ahead mode without an fsync per commit.

    Optuna commits every parameter and attribute; with SQLite's default each commit
    waits for the disk (measured: 24 ms, a third of a search's time). A WAL file with
    ``synchronous=NORMAL`` survives the process being killed (``kill -9``), which is what
    ``--resume`` needs; only a power cut may lose the last trials.
    """
    import optuna
    from sqlalchemy import event

    st = optuna.storages.RDBStorage(storage_url(out), engine_kwargs={"connect_args": {"timeout": 60}})

    def pragmas(conn, _record) -> None:
        cur = conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    event.listen(st.engine, "connect", pragmas)
    st.engine.dispose()
    return st


LOCK = ".lock"


@contextmanager
def folder_lock(out: Path, what: str) -> Iterator[Path]:
    """Hold ``out/.lock`` while ``what`` (e.g. "a calibration") writes the folder; a second writer fails at once
    with one line. An OS file lock (``filelock``, as a sweep's folder has): released when its process dies."""
    from filelock import FileLock, Timeout

    out = Path(out)
    lock = FileLock(out / LOCK, timeout=0)
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:  # (a subclass of OSError: first)
        raise CxError(f"{out} is being written by {what} (it holds {out / LOCK}): wait for it to finish, or choose another --out") from None
    except OSError as err:
        raise CxError(f"{out}: cannot write there ({err.strerror or err})") from None
    try:
        yield out
    finally:
        lock.release()


def wait_until_free(out: Path, seconds: float) -> bool:
    """Wait up to ``seconds`` for whoever holds ``out``'s lock to let go (at once if nobody does); False if still held.

    For a page whose stopped search may still be finishing its last trial in another thread when the next run
    of the page reads the folder."""
    from filelock import FileLock, Timeout

    if not (Path(out) / LOCK).exists():
        return True
    try:
        with FileLock(Path(out) / LOCK, timeout=seconds):
            return True
    except Timeout:
        return False


def open_study(out: Path, name: str, identity: str, resume: bool, *, what: str, started_with: str,
               on_new: Callable[[Any], None] | None = None, metric_names: list[str] | None = None,
               about: dict[str, Any] | None = None, **directions: Any):
    """The study ``name`` in ``out`` (created, or reopened with ``resume``), bound to ``identity``.

    ``what`` names the work in messages ("a calibration"), ``started_with`` what a study's
    identity covers ("another scenario or targets file"); ``on_new(study)`` runs once, when the
    study is new (e.g. to enqueue first trials); ``directions``: Optuna's ``direction`` or ``directions``.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out.mkdir(parents=True, exist_ok=True)
    if (out / STUDY_FILE).exists() and not resume:
        raise CxError(f"{out}: already holds {what} ({STUDY_FILE}); use --resume to continue it, or choose another --out")
    study = optuna.create_study(study_name=name, storage=storage(out), load_if_exists=True, **directions)
    started = study.user_attrs.get("identity")
    if started is None:
        if on_new is not None:
            on_new(study)
        describe(study, metric_names, about)
        study.set_user_attr("identity", identity)
    elif started != identity:
        raise CxError(f"{out}: its study was started with {started_with}; use another --out")
    return study


def describe(study, metric_names: list[str] | None, about: dict[str, Any] | None) -> None:
    """What optuna-dashboard and a researcher's own script show: the objectives' names (not ``values_0``) and
    what the study was run on (scenario, seeds, customers, steps, cxsim version) as user attributes."""
    import warnings

    import optuna

    if metric_names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(metric_names))
    from . import __version__

    for key, value in {**(about or {}), "cxsim_version": __version__}.items():
        study.set_user_attr(key, value)


def finished_trials(out: Path) -> int:
    """Trials finished in the study kept in ``out`` (0 when there is none)."""
    if not (out / STUDY_FILE).exists():
        return 0
    import optuna

    study = optuna.load_study(study_name=None, storage=storage_url(out))
    return sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


__all__ = ["folder_lock", "finished_trials", "open_study", "storage", "storage_url", "wait_until_free", "STUDY_FILE"]
