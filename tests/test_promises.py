"""Issue 25: the input contract on the newer surfaces (calibrate, optimise, sweep files, --set with size flags,
observed-count CSVs, special files for every reader, text with control characters). Each bad input is one line
`cxsim: error: …` naming the field and the value, exit status 2, and nothing runs."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

import cxsim
from cxsim.cli import main
from cxsim.state.params import MAX_LINE

TARGETS = """customers = 300
seeds = 2
trials = 1
startup_trials = 1
[parameters]
decision.w_cost = { low = 0.5, high = 6.0 }
[[targets]]
measure = "acceptance_rate"
value = 0.05
tolerance = 0.02
"""


def refused(capsys, argv: list[str], *words: str) -> str:
    """``cxsim ARGV`` exits 2 with one line holding every word; nothing on stdout."""
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc == 2, (rc, err)
    assert err.startswith("cxsim: error: ") and err.count("\n") == 1 and len(err) <= MAX_LINE + 16, err
    assert "Traceback" not in err and not out.strip(), (out, err)
    for w in words:
        assert w in err, (w, err)
    return err


RUN = ["run", "aravind", "--customers", "100", "--steps", "2"]


@pytest.mark.parametrize("argv, words", [
    (RUN + ["--set", "decision.w_fear=" + "9" * 5000], ["--set decision.w_fear", "4300 digits"]),
    (RUN + ["--set", "population.customers=0"], ["--set population.customers=0", "--customers 100"]),
    (RUN + ["--set", 'steps="10"'], ["--set steps=", "--steps 2"]),
    (RUN + ["--variant", ""], ["unknown variant ''"]),
    (["run", "aravind", "--customers", "100", "--steps", "2", "--out", "/proc/cxsim-x"], ["--out /proc/cxsim-x", "cannot be created"]),
    (["optimise", "aravind", "--workers", "0"], ["--workers = 0", "1 to 4096"]),
    (["optimise", "aravind", "--trials", "-3"], ["--trials = -3"]),
    (["optimise", "aravind", "--budget", "nan"], ["--budget = 'nan'", "finite"]),
    (["optimise", "aravind", "--seeds", "x"], ["--seeds = 'x'"]),
    (["optimise", "aravind", "--out", "/proc/cxsim-x"], ["--out /proc/cxsim-x"]),
    (["calibrate", "aravind", "calibration/aravind_baseline.toml", "--out", "/proc/cxsim-x"], ["--out /proc/cxsim-x"]),
    (["run", "a\x00b.toml"], ["scenario = ", "control characters"]),
])
def test_bad_arguments_are_one_line(capsys, argv, words):
    refused(capsys, argv, *words)


def test_set_alone_still_sets_the_size(capsys, tmp_path):
    assert main(["run", "aravind", "--set", "population.customers=150", "--steps", "2", "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["customers"] == 150


BINARY = bytes(range(256)) * 8


@pytest.mark.parametrize("command", ["calibrate", "optimise", "sweep", "run"])
@pytest.mark.parametrize("kind", ["binary", "folder", "fifo", "dev_zero"])
def test_every_reader_refuses_binary_and_special_files(capsys, tmp_path, command, kind):
    if kind == "binary":
        path = tmp_path / "x.toml"
        path.write_bytes(BINARY)
    elif kind == "folder":
        path = tmp_path / "x.toml"
        path.mkdir()
    elif kind == "fifo":
        path = tmp_path / "x.toml"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    argv = {"calibrate": ["calibrate", "aravind", str(path)], "optimise": ["optimise", "aravind", str(path)],
            "sweep": ["sweep", str(path)], "run": ["run", str(path)]}[command]
    refused(capsys, argv + (["--out", str(tmp_path / "o")] if command != "run" else []))
    assert not (tmp_path / "o").exists()


def test_an_empty_experiment_file_runs_nothing(capsys, tmp_path):
    (tmp_path / "empty.toml").write_bytes(b"")
    (tmp_path / "blank.toml").write_text("# nothing\n\n")
    for name in ("empty.toml", "blank.toml"):
        refused(capsys, ["sweep", str(tmp_path / name), "--out", str(tmp_path / "o")], "declares nothing")
    assert not (tmp_path / "o").exists()


def test_a_null_byte_in_extends_is_one_line(capsys, tmp_path):
    (tmp_path / "nul.toml").write_text('extends = "a\\u0000b.toml"\n')
    refused(capsys, ["run", str(tmp_path / "nul.toml")], "extends", "control characters")


def test_a_nan_lever_range_is_one_line(capsys, tmp_path):
    (tmp_path / "o.toml").write_text("trials = 1\n[levers.free_transport]\nsubsidy = [nan, 1.0]\n[objectives]\nacceptance_rate = \"maximise\"\n")
    refused(capsys, ["optimise", "aravind", str(tmp_path / "o.toml"), "--out", str(tmp_path / "o")], "levers.free_transport.subsidy", "nan")


def test_a_huge_integer_in_any_toml_file_is_one_line(capsys, tmp_path):
    big = "9" * 5000
    (tmp_path / "s.toml").write_text(f'extends = "aravind"\nseed = {big}\n')
    refused(capsys, ["run", str(tmp_path / "s.toml")], "s.toml", "4300 digits")
    (tmp_path / "t.toml").write_text(TARGETS.replace("customers = 300", f"customers = {big}"))
    refused(capsys, ["calibrate", "aravind", str(tmp_path / "t.toml"), "--out", str(tmp_path / "o")], "t.toml")


@pytest.mark.parametrize("edit, words", [
    (("customers = 300", 'customers = "300"'), ["customers = '300'"]),
    (("low = 0.5", 'low = "0.5"'), ["low = '0.5'"]),
    (("tolerance = 0.02", "tolerance = inf"), ["tolerance = inf", "finite"]),
    (("tolerance = 0.02", "tolerance = nan"), ["tolerance = nan"]),
    (("seeds = 2", "seeds = 2.0"), ["seeds"]),
    ("counts = { offered = \"100\", accepted = 5 }", ["counts.offered = '100'"]),
    ("counts = { offered = 100.5, accepted = 5 }", ["100.5", "whole number"]),
    ("counts = { offered = 1e23, accepted = 5 }", ["whole number of people, 0 to"]),
    ('file = "."', ["file = '.'", "is a folder"]),
    ('file = "/dev/zero"', ["file = '/dev/zero'", "not a regular file"]),
    ('file = "fifo.csv"', ["not a regular file"]),
    ('file = "frac.csv"', ["customers = 100.5 in row 2", "whole number"]),
    ('file = "bin.csv"', ["binary file"]),
])
def test_a_calibration_file_coerces_nothing(capsys, tmp_path, edit, words):
    text = TARGETS
    if isinstance(edit, tuple):
        text = text.replace(*edit)
    else:
        text += f'[[observed]]\nkind = "funnel"\n{edit}\n'
    os.mkfifo(tmp_path / "fifo.csv")
    (tmp_path / "frac.csv").write_text("milestone,customers\noffered,100.5\naccepted,5\n")
    (tmp_path / "bin.csv").write_bytes(b"milestone,customers\n\x00\x01")
    (tmp_path / "t.toml").write_text(text)
    refused(capsys, ["calibrate", "aravind", str(tmp_path / "t.toml"), "--out", str(tmp_path / "o"), "--workers", "1"], *words)


@pytest.mark.parametrize("text", ["a\x00b", "red \x1b[31mtitle", "bell\x07", "csi\x9b2J"])
def test_text_with_control_characters_is_refused(text):
    sc = cxsim.load_scenario("aravind")
    with pytest.raises(cxsim.CxError, match="control character") as err:
        sc.with_overrides({"title": text})
    assert "\n" not in str(err.value) and "title" in str(err.value)
    with pytest.raises(cxsim.CxError, match="control character"):
        sc.with_overrides({"story.fact": text})
    assert sc.with_overrides({"title": "two\nlines\tand a tab"}).title == "two\nlines\tand a tab"


def test_a_title_escape_in_a_file_never_reaches_the_terminal(capsys, tmp_path):
    (tmp_path / "s.toml").write_text('extends = "aravind"\ntitle = "x\\u001b]0;owned\\u0007"\n')
    err = refused(capsys, ["run", str(tmp_path / "s.toml")], "title", "control character")
    assert "\x1b" not in err and "\x07" not in err


def test_special_file_helpers_are_regular_files_only(tmp_path):
    """The checks above use real special files: make sure the platform gave them (a skipped rule is no rule)."""
    os.mkfifo(tmp_path / "f")
    assert stat.S_ISFIFO((tmp_path / "f").stat().st_mode) and stat.S_ISCHR(Path("/dev/zero").stat().st_mode)


# -- nothing finished is lost -----------------------------------------------------------------------------
def _disk_full_on(monkeypatch, call: int):
    """pyarrow's Parquet writes fail with ENOSPC from the ``call``-th one on (as on a full disk)."""
    import errno

    import pyarrow.parquet as pq

    real, calls = pq.write_table, [0]

    def write_table(*a, **k):
        calls[0] += 1
        if calls[0] >= call:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*a, **k)

    monkeypatch.setattr(pq, "write_table", write_table)


def test_a_full_disk_keeps_the_finished_replicates_readable(capsys, tmp_path, monkeypatch):
    import json

    import pandas as pd

    _disk_full_on(monkeypatch, 5)  # two tables per replicate: replicates 1 and 2 are written, 3 fails
    out = tmp_path / "D"
    rc = main(["run", "aravind", "--customers", "200", "--steps", "3", "--replicates", "4", "--uncertainty", "seeds", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 1 and "seed 3 failed (OSError" in err and "seeds 1–2 are kept in" in err, err
    assert "--seed 3 --replicates 2" in err, err
    customers = pd.read_parquet(out / "customers.parquet")
    assert sorted(set(customers["seed"])) == [1, 2] and len(customers) == 400
    assert sorted(set(pd.read_parquet(out / "timeseries.parquet")["seed"])) == [1, 2]
    assert [r["seed"] for r in json.loads((out / "summary.json").read_text())["replicates"]] == [1, 2]
    assert not (out / ".parts").exists()


def test_when_even_the_join_fails_the_parts_are_kept(capsys, tmp_path, monkeypatch):
    import errno

    import pandas as pd

    from cxsim.outputs import RunWriter

    def full(self, name):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(RunWriter, "_join", full)  # the parts were written; the joined file does not fit
    out = tmp_path / "D"
    rc = main(["run", "aravind", "--customers", "200", "--steps", "3", "--replicates", "2", "--uncertainty", "seeds", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc == 1 and "joining failed (No space left on device)" in err and "customers-seed-1.parquet" in err, err
    assert set(pd.read_parquet(out / "customers-seed-2.parquet")["seed"]) == {2}
    assert not (out / "customers.parquet").exists() and not (out / ".parts").exists()
    monkeypatch.undo()  # space again: the same command replaces the kept parts by the joined files
    assert main(["run", "aravind", "--customers", "200", "--steps", "3", "--replicates", "2", "--uncertainty", "seeds", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["customers.parquet", "summary.json", "timeseries.parquet"]


@pytest.mark.parametrize("argv", [
    ["calibrate", "aravind", "calibration/aravind_baseline.toml", "--trials", "1", "--workers", "1"],
    ["optimise", "aravind", "--trials", "1", "--customers", "100", "--seeds", "2"],
])
def test_calibrate_and_optimise_hold_their_folder(capsys, tmp_path, argv):
    """A second writer of one folder (e.g. two resumes) fails at once in one line, as for sweeps; nothing of it is written."""
    from filelock import FileLock

    out = tmp_path / "busy"
    out.mkdir()
    with FileLock(out / ".lock", timeout=0):  # another process's calibration or optimisation writing here
        refused(capsys, argv + ["--out", str(out), "--resume"], "is being written by", ".lock")
    assert sorted(p.name for p in out.iterdir()) == [".lock"]


# -- docs and tools ---------------------------------------------------------------------------------------
def test_completion_writes_into_a_folder_a_fresh_machine_lacks(capsys, tmp_path):
    target = tmp_path / "home" / ".zfunc" / "_cxsim"
    assert main(["completion", "zsh", "--write", str(target)]) == 0
    assert target.read_text().startswith("#compdef cxsim") and f"wrote {target}" in capsys.readouterr().out
    refused(capsys, ["completion", "zsh", "--write", str(tmp_path)], "--write", "is a folder")


def test_ready_made_files_are_found_by_name_outside_a_checkout(capsys, tmp_path, monkeypatch):
    """Names resolve to the package's library from any folder (a wheel has no optimisation/ or calibration/ folder)."""
    from cxsim.calibration.targets import find_file as find_targets
    from cxsim.optimisation.spec import find_file as find_optimisation

    monkeypatch.chdir(tmp_path)
    assert find_optimisation("aravind").parent.parts[-2:] == ("optimisation", "library")
    assert find_targets("aravind_baseline").parts[-3:] == ("calibration", "library", "aravind_baseline.toml")
    for name in ("aravind", "telco_churn", "top_accounts"):
        assert find_optimisation(name).is_file()
    (tmp_path / "optimisation").mkdir()  # a file of one's own with the same name comes first
    (tmp_path / "optimisation" / "aravind.toml").write_text("# mine\n")
    assert find_optimisation("aravind") == Path("optimisation") / "aravind.toml"
    refused(capsys, ["optimise", "aravind", "no_such_plan"], "unknown optimisation file", "aravind, telco_churn, top_accounts")
    refused(capsys, ["calibrate", "aravind", "no_such_targets"], "unknown targets file", "aravind_baseline")
    # a name that resolves gets as far as the next check (the output folder), not "unknown … file"
    refused(capsys, ["calibrate", "aravind", "aravind_baseline", "--out", "/proc/cxsim-x"], "--out /proc/cxsim-x")
    refused(capsys, ["optimise", "aravind", "telco_churn", "--out", "/proc/cxsim-x"], "--out /proc/cxsim-x")


def test_json_help_says_where_the_shape_is(capsys):
    assert main(["run", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "docs/command-line.md, 'Machine-readable output'" in help_text
    page = (Path(__file__).parents[1] / "docs" / "command-line.md").read_text()
    assert "## Machine-readable output" in page and "Shapes: `run`" in page


def test_results_print_as_plain_text():
    res = cxsim.run(cxsim.load_scenario("aravind"), seed=2, customers=300, steps=5)
    text = repr(res)
    assert text.startswith("Results(scenario='aravind', seed=2, customers=300, steps=5;") and "0x" not in text
    assert f"accepted={res.summary['accepted']:.4g}" in text


def test_optuna_studies_name_their_objectives_and_what_they_ran_on(tmp_path):
    """optuna-dashboard (or a researcher's own script) sees objective names and scenario, seeds, size and version."""
    import optuna

    from cxsim.optimisation import optimise
    from cxsim.studies import storage_url

    optimise("aravind", None, tmp_path / "o", trials=2, customers=100, seeds=2, fresh_seeds=2, report=False,
             levers={"free_transport": {}}, objectives={"acceptance_rate": "maximise", "intervention_cost": "minimise"})
    study = optuna.load_study(study_name=None, storage=storage_url(tmp_path / "o"))
    assert study.metric_names == ["acceptance_rate", "intervention_cost"]
    attrs = study.user_attrs
    assert attrs["scenario"] == "aravind" and attrs["customers"] == 100 and len(attrs["seeds"]) == 2
    assert attrs["cxsim_version"] == cxsim.__version__


def test_a_run_without_acquisition_leaves_its_rows_out(capsys):
    """telco_churn's customers are existing ones: no 'Offered 0', 'Acceptance –' rows; aravind keeps them."""
    assert main(["run", "telco_churn", "--customers", "300", "--steps", "6"]) == 0
    out = capsys.readouterr().out
    assert "Retention" in out and not {"Offered", "Acceptance", "Completion", "Referral-driven"} & set(re.findall(r"^  (\S+)", out, re.M))
    assert main(["run", "aravind", "--customers", "300", "--steps", "6"]) == 0
    assert "Offered" in capsys.readouterr().out


def test_the_optimise_summary_prints_its_objective_in_its_unit(capsys, tmp_path):
    assert main(["optimise", "aravind", "--lever", "free_transport", "--lever", "free_medicine", "--objective", "acceptance_rate",
                 "--budget", "200000", "--trials", "3", "--customers", "200", "--steps", "10", "--seeds", "2",
                 "--out", str(tmp_path / "o")]) == 0
    out, err = capsys.readouterr()
    assert "cxsim: optimising: 3/3 plans (100%)" in err  # stderr is no terminal here: progress as lines, for a log
    best = next(line for line in out.splitlines() if "best plan:" in line)
    assert re.search(r"acceptance_rate \d+\.\d%", best), best  # a share as 6.2%, not 0.06166
    assert not re.search(r"\b0\.0\d{2,}", out), out
    advantage = [line for line in out.splitlines() if "advantage over the runner-up" in line]
    assert all(" pts" in line for line in advantage), advantage


def test_progress_away_from_a_terminal_is_lines_in_the_command_line_only(capsys, monkeypatch):
    """A calibration's 15 minutes in a log show a line per tenth and at least one a minute; the API stays silent."""
    from cxsim import progress

    with progress.bar(200, unit="trial", desc="calibrating") as bar:  # the API: no lines
        bar.update(200)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(progress, "LOG_LINES", True)
    with progress.bar(200, initial=20, unit="trial", desc="calibrating") as bar:
        for k in range(180):
            bar.set_postfix(best=f"{1 / (k + 1):.3g}", refresh=False)
            bar.update()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 9 and all(line.startswith("cxsim: calibrating: ") for line in lines), lines
    assert lines[0].startswith("cxsim: calibrating: 40/200 trials (20%), ") and "left" in lines[0]
    assert lines[-1].startswith("cxsim: calibrating: 200/200 trials (100%), ") and lines[-1].endswith("best=0.00556")
    monkeypatch.setattr(progress, "EVERY_SECONDS", 0.0)  # a slow trial: a line each time the minute has passed
    with progress.bar(1000, unit="run", desc="sweep") as bar:
        bar.update()
        bar.update()
    assert len(capsys.readouterr().err.splitlines()) == 2


def test_a_customer_without_a_reason_has_a_missing_reason_not_a_category(tmp_path):
    """Users and customers never offered give no reason: null in the table and in customers.parquet, no 'none' category."""
    import pandas as pd

    from cxsim.readouts.metrics import customer_table

    res = cxsim.run(cxsim.load_scenario("aravind"), seed=1, customers=400, steps=10)
    table = customer_table(res.model)
    assert "none" not in list(table["reason"].cat.categories)
    assert table["reason"].isna().sum() == (res.model.customers.reason < 0).sum() > 0
    assert main(["run", "aravind", "--customers", "400", "--steps", "10", "--uncertainty", "seeds", "--out", str(tmp_path / "r")]) == 0
    stored = pd.read_parquet(tmp_path / "r" / "customers.parquet")["reason"]
    assert "none" not in list(stored.cat.categories) and stored.isna().sum() > 0
    assert stored.astype(object).equals(table["reason"].astype(object))


def test_completion_completes_scenario_variant_intervention_and_experiment_names(capsys, tmp_path):
    """The bash script, sourced in a real bash, completes names, not only commands and flags; zsh and tcsh carry them too."""
    import shutil
    import subprocess

    script = tmp_path / "cxsim.bash"
    assert main(["completion", "bash", "--write", str(script)]) == 0
    capsys.readouterr()
    probe = ('source "$1"; shift; for line in "$@"; do read -ra COMP_WORDS <<< "$line"; COMP_CWORD=$((${#COMP_WORDS[@]}-1)); '
             'COMP_LINE="$line"; COMP_POINT=${#line}; COMPREPLY=(); _shtab_cxsim; echo "${COMPREPLY[*]}"; done')
    lines = ["cxsim run ara", "cxsim run aravind --variant aravind_1", "cxsim run aravind -i free_t",
             "cxsim sweep aravind_w", "cxsim optimise aravind tel", "cxsim calibrate aravind aravind_b"]
    if shutil.which("bash") is None:
        pytest.skip("no bash")
    got = subprocess.run(["bash", "-c", probe, "probe", str(script), *lines], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert got.stdout.splitlines() == ["aravind", "aravind_1980s", "free_transport", "aravind_waterfall", "telco_churn",
                                       "aravind_baseline"], got.stderr
    for shell in ("zsh", "tcsh"):
        assert main(["completion", shell]) == 0
        text = capsys.readouterr().out
        assert "aravind_1980s" in text and "free_transport" in text and "aravind_waterfall" in text, shell


def test_offline_charts_carry_their_javascript():
    """Altair's default renderer loads Vega from a CDN (an offline reader sees no chart); offline_charts() inlines it."""
    from cxsim import plot

    res = cxsim.run(cxsim.load_scenario("aravind"), seed=1, customers=300, steps=5)
    try:
        assert plot.offline_charts() == "html"
        bundle = plot.funnel(res)._repr_mimebundle_()
        html = (bundle[0] if isinstance(bundle, tuple) else bundle)["text/html"]
        assert "vegaEmbed" in html and "cdn.jsdelivr.net" not in html and "<script src=" not in html
    finally:
        assert plot.offline_charts(False) == "default"


def test_a_users_datacollector_with_agent_reporters_collects_every_customer():
    """model.agents holds only the customers asked for; register_all makes them all agents, so Mesa's own
    DataCollector with agent reporters collects one row per customer that agrees with the arrays."""
    import mesa

    from cxsim.engine.customer import register_all
    from cxsim.engine.model import CxModel

    model = CxModel(scenario="aravind", customers=500, seed=3)
    model.customer(7)
    assert len(model.agents) == 1
    agents = register_all(model)
    assert len(model.agents) == len(agents) == 500 and agents[7] is model.customer(7)
    collector = mesa.DataCollector(agent_reporters={"customer": "index", "stage": "stage"})
    for _ in range(4):
        model.step()
    collector.collect(model)
    table = collector.get_agent_vars_dataframe()
    assert len(table) == 500
    assert all(model.stage_of(int(c)) == s for c, s in zip(table["customer"], table["stage"]))


def test_a_page_waits_for_a_stopped_search_to_let_go_of_its_folder(tmp_path):
    """The page's next run after Stop may start while the stopped trial finishes in another thread: it waits for the
    folder's lock (held here by a thread for 1 s) instead of calling the folder busy; a lock never let go is reported."""
    import threading
    import time

    from cxsim.studies import folder_lock, wait_until_free

    assert wait_until_free(tmp_path / "never_locked", 0)
    held, release = threading.Event(), threading.Event()

    def stopped_search():
        with folder_lock(tmp_path, "a calibration"):
            held.set()
            release.wait(10)

    worker = threading.Thread(target=stopped_search)
    worker.start()
    held.wait(10)
    assert not wait_until_free(tmp_path, 0.2)  # still held
    threading.Timer(1.0, release.set).start()
    start = time.perf_counter()
    assert wait_until_free(tmp_path, 30) and time.perf_counter() - start >= 0.5
    worker.join(10)
