"""The command line: outputs, and one clear line (no traceback) for bad input."""

import json
import subprocess
import sys

import pytest

from cxsim.cli import main


def test_run_writes_summary_timeseries_and_customers(tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "res"
    assert main(["run", "aravind", "--customers", "500", "--steps", "20", "--seed", "3", "--out", str(out)]) == 0
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
    assert main(["run", "aravind", "--customers", "300", "--steps", "6", "--replicates", "2", "--format", "csv", "--out", str(out)]) == 0
    assert (out / "timeseries.csv").read_text().count("\n") == 1 + 2 * 7  # header, steps 0..6 of 2 seeds
    customers = pd.read_csv(out / "customers.csv")
    assert len(customers) == 600 and sorted(set(customers["seed"])) == [1, 2]
    assert set(customers["stage"]) <= {"unaware", "aware", "offered", "accepted", "served", "loyal", "declined", "dropped", "churned"}
    assert not (out / "customers.parquet").exists()


def test_replicates_report_intervals(tmp_path, capsys):
    out = tmp_path / "rep"
    args = ["run", "aravind", "--variant", "aravind_1980s", "--customers", "400", "--steps", "15", "--replicates", "3", "--out", str(out)]
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
    reasons = [r["dropout_reasons"].get("cost", 0) for r in summary["replicates"]]
    assert summary["mean"]["dropout_reasons"]["cost"] == pytest.approx(sum(reasons) / 3)
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
    bad_value.write_text("[population]\ncustomers = 100\n[costs]\nmedicine = -1\n")
    assert main(["run", str(bad_value)]) == 2
    err = capsys.readouterr().err
    assert "costs.medicine = -1" in err and "allowed 0 to" in err
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[interventions.magic]\ncoverage = 1\n")
    assert main(["run", str(unknown)]) == 2
    assert "unknown intervention kind 'magic'" in capsys.readouterr().err
    typo = tmp_path / "typo.toml"
    typo.write_text("[decision]\nw_feer = 1\n")
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
