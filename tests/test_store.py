"""Nothing lost: atomic per-run Parquet files, a rebuilt manifest, and resume after kill -9."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pyarrow as pa
import pytest

from cxsim import CxError
from cxsim.experiments import load_experiment, load_results, load_timeseries, make_plan, run_experiment
from cxsim.experiments.runner import run_task
from cxsim.experiments.store import Store, write_atomic

EXPERIMENT = """
name = "crash"
scenario = "aravind"
customers = 1500
steps = 30
replicates = 12
seed = 11
outcomes = ["acceptance_rate"]
[levers]
interventions = ["free_transport", "free_medicine", "free_food_lodging"]
combine = ["each"]
"""  # 4 policies × 12 replicates = 48 runs of ~0.05 s


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "x.parquet"
    write_atomic(pa.table({"a": [1, 2]}), path)
    write_atomic(pa.table({"a": [3]}), path)  # replacing is atomic too
    assert [p.name for p in tmp_path.iterdir()] == ["x.parquet"]
    assert pd.read_parquet(path)["a"].tolist() == [3]


def test_open_removes_stray_temporary_files_and_damaged_runs(tmp_path):
    store = Store(tmp_path).open()
    (store.runs / ".abc.parquet.123.tmp").write_bytes(b"half a file")
    (store.runs / "broken.parquet").write_bytes(b"not parquet")
    store = Store(tmp_path).open()
    assert not list(store.runs.glob("*.tmp"))
    assert store.finished() == set() and not (store.runs / "broken.parquet").exists()


def test_load_results_of_an_empty_or_missing_folder(tmp_path):
    Store(tmp_path / "empty").open()
    assert load_results(tmp_path / "empty").empty
    with pytest.raises(CxError, match="not found"):
        load_results(tmp_path / "missing")


def _finished(out):
    return len(list((out / "runs").glob("*.parquet"))) if (out / "runs").exists() else 0


def test_resume_after_kill_9_runs_every_missing_run_exactly_once(tmp_path):
    exp_file = tmp_path / "crash.toml"
    exp_file.write_text(EXPERIMENT)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "cxsim.cli", "sweep", str(exp_file), "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while _finished(out) < 4 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers die at once, mid-run
    proc.wait()
    killed_at = _finished(out)
    assert 4 <= killed_at < 48, f"the sweep was not interrupted mid-way ({killed_at} runs; stderr: {proc.stderr.read()[-500:]!r})"
    (out / "runs" / ".deadbeef.parquet.999.tmp").write_bytes(b"torn")  # what a kill during a write leaves
    with open(out / "log.jsonl", "a") as fh:
        fh.write('{"key": "torn')

    result = run_experiment(exp_file, out, workers=1, resume=True, progress=False, report=False)
    assert result.skipped == killed_at and result.ran == 48 - killed_at
    runs = load_results(out)
    plan = make_plan(*load_experiment(exp_file))
    assert sorted(runs["key"]) == sorted(t.key for t in plan.tasks)  # every planned run, exactly once
    assert list(runs["run"]) == list(range(48))
    assert not list(out.rglob("*.tmp"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["finished"] == 48 == len({r["key"] for r in manifest["runs"]})
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert len(log) == 48 == len({e["key"] for e in log})
    ts = load_timeseries(out)
    assert ts.groupby("run").size().nunique() == 1 and ts["run"].nunique() == 48
    for task in (plan.tasks[0], plan.tasks[41], plan.tasks[47]):  # resumed results equal a fresh run
        row, _, _ = run_task(plan.base, task)
        stored = runs.set_index("key").loc[task.key]
        assert stored["acceptance_rate"] == pytest.approx(row["acceptance_rate"], abs=0, rel=0)


SMALL_EXPERIMENT = """
name = "small"
scenario = "aravind"
customers = 400
steps = 12
replicates = 3
seed = 5
[levers]
interventions = ["free_transport"]
combine = ["each"]
"""  # 2 policies × 3 replicates = 6 runs


def _small(tmp_path):
    exp_file = tmp_path / "small.toml"
    exp_file.write_text(SMALL_EXPERIMENT)
    return exp_file


def test_every_result_file_has_its_checksum_in_the_log_and_manifest(tmp_path):
    from cxsim.experiments.store import file_checksum

    out = tmp_path / "out"
    run_experiment(_small(tmp_path), out, progress=False, report=False)
    manifest = json.loads((out / "manifest.json").read_text())
    files = sorted(str(p.relative_to(out)) for p in out.glob("*/*.parquet"))
    assert sorted(manifest["checksums"]) == files and len(files) == 12
    for name, digest in manifest["checksums"].items():
        assert file_checksum(out / name) == digest
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert sorted(n for e in log for n in e["checksums"]) == files


@pytest.mark.parametrize("damage", ["truncate", "flip"])
@pytest.mark.parametrize("kind", ["timeseries", "runs"])
def test_a_damaged_result_file_is_named_and_run_again_on_resume(tmp_path, capsys, damage, kind):
    from cxsim.cli import main

    out = tmp_path / "out"
    exp_file = _small(tmp_path)
    first = run_experiment(exp_file, out, progress=False, report=False)
    before = first.runs.set_index("key")
    victim = sorted((out / kind).glob("*.parquet"))[2]
    data = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(data[: len(data) // 2])
    else:  # same length, one byte changed in the middle (a torn or rotten page)
        middle = len(data) // 2
        victim.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:])
    assert main(["sweep", str(exp_file), "--out", str(out), "--resume", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert f"{kind}/{victim.name} was damaged" in captured.err
    assert "(1 run now, 5 already there)" in captured.out
    after = load_results(out).set_index("key")
    assert after.loc[victim.stem, "acceptance_rate"] == before.loc[victim.stem, "acceptance_rate"]  # the same run, done again
    assert load_timeseries(out)["run"].nunique() == 6


def test_load_results_names_a_bad_file_in_one_line(tmp_path):
    out = tmp_path / "out"
    run_experiment(_small(tmp_path), out, progress=False, report=False)
    victim = sorted((out / "runs").glob("*.parquet"))[1]
    victim.write_bytes(victim.read_bytes()[:40])
    with pytest.raises(CxError) as err:
        load_results(out)
    msg = str(err.value)
    assert "\n" not in msg and victim.name in msg and "--resume" in msg


def _lock_holder(out, seconds: float):
    """A process holding the sweep lock of ``out`` as a sweep does (the Store's own lock)."""
    code = ("import sys, time; from cxsim.experiments.store import Store\n"
            "with Store(sys.argv[1]).lock():\n    print('locked', flush=True); time.sleep(float(sys.argv[2]))\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(out), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_sweep_on_a_locked_folder_fails_at_once(tmp_path, capsys):
    from cxsim.cli import main

    out = tmp_path / "out"
    holder = _lock_holder(out, 30)
    try:
        t0 = time.time()
        assert main(["sweep", str(_small(tmp_path)), "--out", str(out), "--workers", "1"]) == 2
        assert time.time() - t0 < 5
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "being written by another sweep" in err
        assert not (out / "runs").exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_sweeps_lock_is_taken_over(tmp_path):
    """kill -9 a real sweep while it holds the lock: the lock file stays, the next sweep takes it and resumes."""
    exp_file = tmp_path / "crash.toml"
    exp_file.write_text(EXPERIMENT)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "cxsim.cli", "sweep", str(exp_file), "--out", str(out), "--workers", "1"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while _finished(out) < 2 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    with pytest.raises(CxError, match="being written by another sweep"):  # held while it runs
        run_experiment(exp_file, out, resume=True, progress=False, report=False)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (out / ".lock").exists()  # stale: its holder is gone
    result = run_experiment(exp_file, out, resume=True, progress=False, report=False)
    assert result.skipped >= 2 and result.skipped + result.ran == 48


def test_a_sweep_refuses_a_folder_of_other_files_or_a_file(tmp_path, capsys):
    from cxsim.cli import main

    exp_file = _small(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    (tmp_path / "afile").write_text("x")
    for target, needle in ((tmp_path / "mine", "holds other files (thesis.tex)"), (tmp_path / "afile", "is not a folder"),
                           (tmp_path / "afile" / "sub", "cannot write there")):
        assert main(["sweep", str(exp_file), "--out", str(target), "--workers", "1"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err, err
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["thesis.tex"]


def test_a_failing_run_or_report_keeps_the_finished_runs_and_says_resume(tmp_path, monkeypatch, capsys):
    from cxsim.cli import main
    from cxsim.experiments import reports, runner

    exp_file, out = _small(tmp_path), tmp_path / "out"
    real = runner.run_task

    def flaky(base, task):
        if task.run == 3:
            raise RuntimeError("worker lost")
        return real(base, task)

    monkeypatch.setattr(runner, "run_task", flaky)
    assert main(["sweep", str(exp_file), "--out", str(out), "--workers", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "a run failed (RuntimeError: worker lost)" in err and "--resume" in err
    assert len(load_results(out)) == 3  # runs 0–2 finished and kept
    monkeypatch.setattr(runner, "run_task", real)

    def broken_figure(result):
        raise ValueError("no display")

    monkeypatch.setitem(reports.REPORTS, "summary", broken_figure)
    assert main(["sweep", str(exp_file), "--out", str(out), "--workers", "1", "--resume"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "all 6 runs are kept" in err and "the report failed (ValueError: no display)" in err and "--resume" in err
    monkeypatch.undo()
    assert main(["sweep", str(exp_file), "--out", str(out), "--workers", "1", "--resume"]) == 0
    assert "(0 run now, 6 already there)" in capsys.readouterr().out and (out / "report.md").exists()


def test_a_run_whose_log_line_was_lost_is_logged_on_a_line_of_its_own(tmp_path):
    """A kill between a run's file and its log line, then a torn last line: verifying logs the run on a new line
    (appended straight after the torn text, it was swallowed by it and lost; the kill -9 test met it by chance)."""
    store = Store(tmp_path).open()
    store.save({"key": "aa01", "run": 0, "acceptance_rate": 0.1}, None)
    store.save({"key": "bb02", "run": 1, "acceptance_rate": 0.2}, None)
    log = tmp_path / "log.jsonl"
    first = log.read_text().splitlines()[0]
    log.write_text(first + "\n" + '{"key": "torn')  # bb02's line lost, a torn line without its newline
    assert Store(tmp_path).open().verify() == []
    keys = [json.loads(line)["key"] for line in log.read_text().splitlines() if line.startswith('{"key": "')
            and line.endswith("}")]
    assert sorted(keys) == ["aa01", "bb02"]
