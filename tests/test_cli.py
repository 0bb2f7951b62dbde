"""The command line: outputs, and one clear line (no traceback) for bad input."""

import json
import subprocess
import sys

import pytest

from cxsim.cli import main


def test_run_writes_summary_timeseries_and_customers(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", "aravind", "--customers", "500", "--steps", "20", "--seed", "3", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in ("acceptance_rate", "nps", "referrals", "mean_loyalty", "intervention_cost", "dropout_reasons"):
        assert key in summary
    assert isinstance(summary["dropout_reasons"], dict) and summary["dropout_reasons"]
    assert (out / "timeseries.csv").read_text().count("\n") == 1 + 21  # header, steps 0..20
    assert (out / "customers.csv").read_text().count("\n") == 501
    assert "Acceptance" in capsys.readouterr().out


def test_replicates_report_intervals(tmp_path, capsys):
    out = tmp_path / "rep"
    args = ["run", "aravind", "--variant", "aravind_1980s", "--customers", "400", "--steps", "15", "--replicates", "3", "--out", str(out)]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    lo, hi = summary["intervals"]["acceptance_rate"]
    assert lo <= summary["acceptance_rate"] <= hi
    assert summary["seeds"] == [1, 2, 3]
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
    ],
)
def test_bad_input_gives_one_line_and_status_2(args, expected, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


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
