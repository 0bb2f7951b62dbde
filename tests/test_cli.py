"""The command line: outputs, and one clear line (no traceback) for bad input."""

import json
import subprocess
import sys

import pytest

from cxsim.cli import main


def test_run_writes_summary_timeseries_and_customers(tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "res"
    assert main(["run", "aravind", "--customers", "500", "--steps", "20", "--seed", "3", "--uncertainty", "seeds", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in ("acceptance_rate", "nps", "referrals", "mean_loyalty", "intervention_cost", "dropout_reasons"):
        assert key in summary
    assert isinstance(summary["dropout_reasons"], dict) and summary["dropout_reasons"]
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert list(ts["step"]) == list(range(21)) and set(ts["seed"]) == {3}
    customers = pd.read_parquet(out / "customers.parquet")
    assert len(customers) == 500 and set(customers["seed"]) == {3}
    for column in ("stage", "segment", "reason"):
        assert isinstance(customers[column].dtype, pd.CategoricalDtype)
    assert customers["daily_wage"].dtype == "float32" and customers["customer"].dtype == "int64"
    assert not (out / "customers.csv").exists()
    assert "Acceptance" in capsys.readouterr().out


def test_csv_on_request(tmp_path):
    import pandas as pd

    out = tmp_path / "csv"
    assert main(["run", "aravind", "--customers", "300", "--steps", "6", "--replicates", "2", "--uncertainty", "seeds", "--format", "csv", "--out", str(out)]) == 0
    assert (out / "timeseries.csv").read_text().count("\n") == 1 + 2 * 7  # header, steps 0..6 of 2 seeds
    customers = pd.read_csv(out / "customers.csv")
    assert len(customers) == 600 and sorted(set(customers["seed"])) == [1, 2]
    assert set(customers["stage"]) <= {"unaware", "aware", "offered", "accepted", "served", "loyal", "declined", "dropped", "churned"}
    assert not (out / "customers.parquet").exists()


def test_replicates_report_intervals(tmp_path, capsys):
    out = tmp_path / "rep"
    args = ["run", "aravind", "--variant", "aravind_1980s", "--customers", "400", "--steps", "15", "--replicates", "3", "--uncertainty", "seeds", "--out", str(out)]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [r["seed"] for r in summary["replicates"]] == [1, 2, 3]
    assert "seed" not in summary and "seeds" not in summary and "acceptance_rate" not in summary  # nothing of seed 1 alone
    values = [r["acceptance_rate"] for r in summary["replicates"]]
    assert summary["mean"]["acceptance_rate"] == pytest.approx(sum(values) / 3)
    lo, hi = summary["ci95"]["acceptance_rate"]
    assert lo <= summary["mean"]["acceptance_rate"] <= hi
    for name, value in summary["replicates"][0].items():  # every numeric field has a mean and an interval
        if isinstance(value, (int, float)) and not isinstance(value, bool) and name != "seed":
            assert name in summary["mean"] and len(summary["ci95"][name]) == 2, name
    reasons = [r["dropout_reasons"].get("low_need", 0) for r in summary["replicates"]]
    assert sum(reasons) > 0 and summary["mean"]["dropout_reasons"]["low_need"] == pytest.approx(sum(reasons) / 3)
    assert summary["customers"] == 400 and summary["n_replicates"] == 3
    assert "95% low" in capsys.readouterr().out


def test_interventions_and_sets_are_applied(capsys):
    assert main(["run", "aravind", "--customers", "300", "--steps", "5", "-i", "free_transport", "--set", "interventions.free_transport.subsidy=0.5"]) == 0
    assert "free_transport" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, expected",
    [
        (["run", "nowhere"], "unknown scenario 'nowhere'"),
        (["run", "aravind", "-i", "teleport"], "unknown intervention 'teleport'"),
        (["run", "aravind", "--customers", "3"], "population.customers = 3"),
        (["run", "aravind", "--set", "decision.w_fear=99"], "allowed 0 to 20"),
        (["run", "aravind", "--set", "journey.warp=1"], "unknown setting 'journey.warp'"),
        (["run", "aravind", "--set", "novalue"], "expected path=value"),
        (["run", "aravind", "--variant", "utopia"], "unknown variant 'utopia'"),
        (["run", "aravind", "--replicates", "0"], "--replicates = 0"),
        (["run", "aravind", "--seed", "-1"], "--seed = -1: must be in 0 to 9223372036854775807"),
        (["run", "aravind", "--seed", str(2**63)], f"--seed = {2**63}"),
        (["run", "aravind", "--seed", "1.5"], "--seed = '1.5': must be an integer"),
        (["run", "aravind", "--seed", str(2**63 - 1), "--replicates", "2"], "the last seed would exceed"),
        (["run", "aravind", "--customers", "many"], "--customers = 'many'"),
        (["run", "aravind", "--steps", "0"], "--steps = 0"),
        (["run", "aravind", "--format", "xlsx"], "invalid choice: 'xlsx'"),
        (["run", "aravind", "--customers", "5000000", "--steps", "2000", "--replicates", "100"], "pass --allow-large"),
        (["sweep", "bass", "--workers", "0"], "--workers = 0"),
        (["sweep", "bass", "--workers", "two"], "--workers = 'two'"),
        (["sweep", "bass", "--scheduler", "localhost"], "--scheduler = 'localhost': expected an address like tcp://host:8786"),
        (["sweep", "bass", "--scheduler", "tcp://host:99999"], "port 1 to 65535"),
        (["sweep", "bass", "--scheduler", "http://host:8786"], "--scheduler = 'http://host:8786'"),
        (["app", "--port", "0"], "--port = 0: must be in 1 to 65535"),
        (["app", "--port", "70000"], "--port = 70000"),
        (["app", "--port", "web"], "--port = 'web'"),
        (["story", "aravind", "--seeds", "0"], "--seeds = 0"),
        (["story", "aravind", "--seed", "-3"], "--seed = -3"),
        (["list", "--bogus"], "unrecognized arguments: --bogus"),
        ([], "required: command"),
    ],
)
def test_bad_input_gives_one_line_and_status_2(args, expected, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_folder_given_as_a_scenario_or_experiment_is_one_line(tmp_path, capsys):
    for args in (["run", str(tmp_path)], ["story", str(tmp_path)], ["sweep", str(tmp_path)]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "is a folder" in err and "Traceback" not in err


def test_a_long_error_is_cut_to_one_short_line(capsys):
    assert main(["run", "aravind", "--set", "decision.w_fear=" + "9" * 500]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and len(err) <= 220


def test_scheduler_from_the_environment_is_checked_before_connecting(monkeypatch, capsys):
    monkeypatch.setenv("CXSIM_SCHEDULER", "not an address")
    assert main(["sweep", "bass"]) == 2
    assert "$CXSIM_SCHEDULER = 'not an address'" in capsys.readouterr().err


def test_malformed_scenario_files(tmp_path, capsys):
    bad_toml = tmp_path / "broken.toml"
    bad_toml.write_text("[population\ncustomers = 5")
    assert main(["run", str(bad_toml)]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    bad_value = tmp_path / "negative.toml"
    bad_value.write_text("extends = \"aravind\"\n[population]\ncustomers = 100\n[costs]\nmedicine = -1\n")
    assert main(["run", str(bad_value)]) == 2
    err = capsys.readouterr().err
    assert "costs.medicine = -1" in err and "allowed 0 to" in err
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("extends = \"aravind\"\n[interventions.magic]\ncoverage = 1\n")
    assert main(["run", str(unknown)]) == 2
    assert "unknown intervention kind 'magic'" in capsys.readouterr().err
    typo = tmp_path / "typo.toml"
    typo.write_text("extends = \"aravind\"\n[decision]\nw_feer = 1\n")
    assert main(["run", str(typo)]) == 2
    assert "decision.w_feer: unknown field" in capsys.readouterr().err


def test_console_script_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "cxsim.cli", "run", "aravind", "--set", "population.customers=-1"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "population.customers = -1" in proc.stderr


def test_list_shows_each_scenario_with_its_fact(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "aravind" in out and "80%" in out


def test_explorer_page_is_found_in_a_checkout_and_in_an_installed_package(tmp_path, monkeypatch):
    from pathlib import Path

    from cxsim import cli

    page = cli.explorer_page()
    assert page.exists() and page == Path(cli.__file__).resolve().parents[1] / "app" / "explorer.py"
    installed = tmp_path / "cxsim"  # a wheel's layout: cxsim/cli.py beside cxsim/app/explorer.py
    (installed / "app").mkdir(parents=True)
    (installed / "app" / "explorer.py").write_text("")
    monkeypatch.setattr(cli, "__file__", str(installed / "cli.py"))
    assert cli.explorer_page() == installed / "app" / "explorer.py"


def _app_args(*argv):
    from cxsim.cli import make_parser

    return make_parser().parse_args(["app", *argv])


def test_the_explorer_binds_this_machine_unless_told_otherwise():
    from cxsim.cli import streamlit_command

    cmd = streamlit_command(_app_args("--port", "8611", "--headless"))
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.port") + 1] == "8611" and cmd[cmd.index("--server.headless") + 1] == "true"
    cmd = streamlit_command(_app_args("--host", "0.0.0.0"))
    assert cmd[cmd.index("--server.address") + 1] == "0.0.0.0" and cmd.count("--server.address") == 1


def test_serving_the_network_prints_a_warning_and_cxsim_becomes_streamlit(monkeypatch, capsys):
    import os

    calls = []
    monkeypatch.setattr(os, "execv", lambda path, argv: calls.append((path, argv)))
    assert main(["app", "--host", "0.0.0.0", "--headless"]) == 0
    assert "warning: serving the explorer on 0.0.0.0" in capsys.readouterr().err
    path, argv = calls[0]
    assert path == sys.executable and argv[1:4] == ["-m", "streamlit", "run"]
    assert main(["app", "--headless"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["app", "--", "--server.address", "0.0.0.0"]) == 2  # only through --host
    assert "--host" in capsys.readouterr().err


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp) listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:
                found.append(address)
    return found


def _processes_mentioning(text: str) -> list[int]:
    import os

    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = open(f"/proc/{entry}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "streamlit" in cmdline and text in cmdline:
                pids.append(int(entry))
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_cxsim_app_answers_on_localhost_and_stops_with_its_pid(tmp_path):
    import os
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "cxsim.cli", "app", "--port", str(port), "--headless"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        deadline, ok = time.time() + 90, False
        while time.time() < deadline and not ok and proc.poll() is None:
            try:
                ok = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok"
            except OSError:
                time.sleep(0.3)
        assert ok, "the explorer did not answer on 127.0.0.1"
        assert _listening(port) and set(_listening(port)) == {"0100007F"}  # 127.0.0.1 only, not 0.0.0.0 or ::
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        time.sleep(0.5)
        assert not _processes_mentioning(str(port)) and not _listening(port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- fuzzing the argument lists ----------------------------------------------------------------------
from hypothesis import HealthCheck, event, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TINY_EXPERIMENT = 'name = "tiny"\nscenario = "aravind"\ncustomers = 20\nsteps = 2\nreplicates = 1\ntimeseries = false\n'

junk = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=12)
numberish = st.one_of(
    st.integers(-(2**70), 2**70).map(str), st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", " ", "1e3", "0x10", "-0", "07", "1_000", "nan", "true", "２"]), junk,
)


def small_or_bad(lo: int, hi: int):
    """Values of a size option: small valid ones (fast runs) or anything that must be refused."""
    return st.one_of(st.integers(lo, hi).map(str), st.integers(-(2**66), 0).map(str), st.integers(10**10, 2**66).map(str), numberish)


def flag(name: str, values) -> st.SearchStrategy:
    return st.tuples(st.just(name), values).map(list)


COMMON = [flag("--set", st.sampled_from(["decision.w_fear=1.2", "novalue", "journey.warp=1", "steps=3", "=", "a.b.c=[1,"]))]
RUN_FLAGS = COMMON + [
    flag("--seed", numberish), flag("--replicates", small_or_bad(1, 2)), flag("--variant", st.sampled_from(["aravind_1980s", "utopia", ""])),
    flag("-i", st.sampled_from(["free_transport", "teleport"])), flag("--format", st.sampled_from(["csv", "parquet", "xls"])),
    flag("--customers", small_or_bad(10, 60)), flag("--steps", small_or_bad(1, 3)), st.just(["--allow-large"]),
    st.just(["--bogus"]), st.just(["extra"]), flag("--out", st.sampled_from(["OUT", "FILE", "/dev/null", "FOLDER"])),
]
STORY_FLAGS = COMMON + [
    flag("--seeds", small_or_bad(1, 2)), flag("--seed", numberish), flag("--variant", st.sampled_from(["aravind_1980s", "utopia"])),
    flag("--customers", small_or_bad(10, 60)), flag("--steps", small_or_bad(1, 3)), st.just(["--bogus"]),
]
SWEEP_FLAGS = [
    flag("--workers", st.one_of(st.just("1"), st.integers(-(2**66), 0).map(str), numberish)),
    flag("--scheduler", st.one_of(junk, st.sampled_from(["tcp://", "tcp://h:0", "tcp://h:65536", "http://h:1", "h", "tcp://a b:1"]))),
    flag("--customers", small_or_bad(10, 30)), flag("--replicates", small_or_bad(1, 2)), flag("--samples", small_or_bad(1, 2)),
    st.just(["--resume"]), flag("--out", st.sampled_from(["OUT", "FILE"])), st.just(["--bogus"]), st.just(["--allow-large"]),
]
LIST_FLAGS = [st.just(["--verbose"]), st.just(["-v"]), st.just(["--bogus"]), st.just(["extra"]), st.just(["--help"])]


def command_line(name: str, first: list, flags: list):
    return st.tuples(st.just([name]), st.sampled_from(first), st.lists(st.one_of(flags), max_size=5)).map(
        lambda t: t[0] + t[1] + [x for f in t[2] for x in f])


ARGV = st.one_of(
    command_line("run", [["aravind", "--customers", "50", "--steps", "2"], ["nowhere"], ["FOLDER"], ["MISSING.toml"]], RUN_FLAGS),
    command_line("story", [["aravind", "--customers", "50", "--steps", "2", "--seeds", "1"], ["FOLDER"]], STORY_FLAGS),
    command_line("sweep", [["TINY"], ["FOLDER"], ["MISSING.toml"], ["no_such_experiment"]], SWEEP_FLAGS),
    command_line("list", [[]], LIST_FLAGS),
    st.lists(st.one_of(junk, st.sampled_from(["run", "sweep", "--help", "-h", "list", "--", "story"])), max_size=4),
)


FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
REGRESSIONS = [  # cases worth keeping whatever Hypothesis draws
    ["run", "aravind", "--seed", "-1"], ["run", "aravind", "--seed", str(2**63)], ["run", "aravind", "--seed", "1.5"],
    ["run", "FOLDER"], ["run", "aravind", "--customers", "50", "--steps", "2", "--out", "FILE"],
    ["sweep", "TINY", "--scheduler", "tcp://h:65536"], ["sweep", "TINY", "--workers", "0"], ["story", "FOLDER"], ["list", "--help"],
]


def with_regressions(test):
    for argv in REGRESSIONS:
        test = example(argv=argv)(test)
    return test


@settings(max_examples=300, **FUZZ)
@with_regressions
@given(argv=ARGV)
def test_fuzzed_argument_lists_end_in_0_or_a_one_line_error(tmp_path_factory, argv):
    check_argv(tmp_path_factory, argv)


@pytest.mark.slow
@settings(max_examples=3000, **FUZZ)
@given(argv=ARGV)
def test_fuzzed_argument_lists_thousands(tmp_path_factory, argv):
    check_argv(tmp_path_factory, argv)


def check_argv(tmp_path_factory, argv):
    """One argument list: exit 0, or exit 2 with one short error line; never a traceback, never more than 30 s."""
    import contextlib
    import io
    import time

    where = tmp_path_factory.mktemp("fuzz")
    (where / "FILE").write_text("not a folder")
    (where / "tiny.toml").write_text(TINY_EXPERIMENT)
    (where / "FOLDER").mkdir()
    names = {"OUT": str(where / "out"), "FILE": str(where / "FILE"), "FOLDER": str(where / "FOLDER"),
             "MISSING.toml": str(where / "missing.toml"), "TINY": str(where / "tiny.toml")}
    argv = [names.get(a, a) for a in argv]
    err, out = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            status = main(argv)
        except SystemExit as stop:  # only --help may end this way (argparse's own exit)
            status = stop.code
    seconds = time.perf_counter() - t0
    event(f"{argv[0] if argv and argv[0] in ('run', 'story', 'sweep', 'list') else 'other'}: exit {status}")
    lines = err.getvalue().strip().splitlines()
    assert "Traceback" not in err.getvalue(), (argv, err.getvalue())
    assert status in (0, 2), (argv, status, err.getvalue())
    if status == 2:
        assert len(lines) == 1 and lines[0].startswith("cxsim: error: ") and len(lines[0]) <= 220, (argv, lines)
    assert seconds < 30, (argv, seconds)


def test_run_of_a_scenario_with_a_posterior_is_an_ensemble_by_default(tmp_path, capsys):
    """`cxsim run aravind` draws from the shipped posterior: its intervals hold the parameters' uncertainty and say so."""
    out = tmp_path / "ens"
    assert main(["run", "aravind", "--customers", "400", "--steps", "10", "--draws", "5", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "5 posterior draws × 1 seed" in captured.out + captured.err
    assert "cxsim/scenarios/aravind.posterior.parquet" in captured.out + captured.err
    import pandas as pd

    runs = pd.read_parquet(out / "ensemble.parquet")
    assert len(runs) == 5 and runs["acceptance_rate"].nunique() > 1  # five parameter sets, five different worlds
    doc = json.loads((out / "summary.json").read_text())
    assert doc["uncertainty"]["kind"] == "posterior"


def test_a_long_path_in_an_error_loses_its_leading_folders_not_the_advice():
    """One line of at most 200 characters: a deep path is shortened to its last two parts before the tail is cut."""
    from cxsim.cli import MAX_ERROR, one_line

    deep = "/tmp/" + "/".join(f"folder{k:02d}" for k in range(30)) + "/runs/abc.parquet"
    line = one_line(f"{deep}: damaged result file (40 bytes): run the sweep again with --resume")
    assert len(line) <= MAX_ERROR and line.startswith("…/runs/abc.parquet: damaged") and line.endswith("--resume"), line
    assert one_line("short /a/b/c") == "short /a/b/c"  # within the width: untouched
    assert one_line("x " * 150).endswith("…") and len(one_line("x " * 150)) == MAX_ERROR
