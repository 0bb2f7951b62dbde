"""Optuna studies kept in a results folder: one SQLite file, resumable, bound to what started it.

Calibration (:mod:`cxsim.calibration`) and optimisation (:mod:`cxsim.optimisation`) both keep
their study in ``DIR/study.db``; reopening it continues it (``--resume``), and a study started
for another scenario, targets or levers is refused rather than mixed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .params import CxError

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


def open_study(out: Path, name: str, identity: str, resume: bool, *, what: str, started_with: str,
               on_new: Callable[[Any], None] | None = None, **directions: Any):
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
        study.set_user_attr("identity", identity)
    elif started != identity:
        raise CxError(f"{out}: its study was started with {started_with}; use another --out")
    return study


def finished_trials(out: Path) -> int:
    """Trials finished in the study kept in ``out`` (0 when there is none)."""
    if not (out / STUDY_FILE).exists():
        return 0
    import optuna

    study = optuna.load_study(study_name=None, storage=storage_url(out))
    return sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


__all__ = ["finished_trials", "open_study", "storage", "storage_url", "STUDY_FILE"]
