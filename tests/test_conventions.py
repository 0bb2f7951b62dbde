"""CLI conventions (--json, completion, sweep --list), the wheel's experiments, provenance, the Scenario repr."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import cxsim
from cxsim.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_json_is_the_summary_document(capsys, tmp_path):
    code, out, err = run_cli(capsys, "run", "aravind", "--customers", "400", "--replicates", "2", "--uncertainty", "seeds", "--json", "--out", str(tmp_path / "r"))
    assert code == 0
    doc = json.loads(out)  # stdout holds the JSON document only
    assert doc == json.loads((tmp_path / "r" / "summary.json").read_text())
    assert doc["n_replicates"] == 2 and "acceptance_rate" in doc["mean"]
    assert "Acceptance" in err and "wrote" in err  # the human text went to stderr


def test_run_json_single_replicate_matches_the_api(capsys):
    code, out, _ = run_cli(capsys, "run", "aravind", "--customers", "300", "--seed", "4", "--uncertainty", "seeds", "--json")
    doc = json.loads(out)
    res = cxsim.run(cxsim.load_scenario("aravind"), seed=4, customers=300)
    assert code == 0 and doc["seed"] == 4 and doc["accepted"] == res.summary["accepted"]


def test_human_tables_share_one_number_format(capsys):
    _, out, _ = run_cli(capsys, "run", "aravind", "--customers", "300")
    acceptance = next(line for line in out.splitlines() if line.strip().startswith("Acceptance"))
    assert acceptance.strip().endswith("%")
    from cxsim.readouts.formatting import metric_number, number

    assert number(0.0471, "share") == "4.7%" and number(3400, "customers") == "3,400" and number(float("nan")) == "–"
    assert metric_number(0.05, "acceptance_rate", signed=True) == "+5.0 pts"


def test_list_json(capsys):
    code, out, err = run_cli(capsys, "list", "--json")
    doc = json.loads(out)
    assert code == 0 and {s["name"] for s in doc["scenarios"]} == set(cxsim.list_scenarios())
    aravind = next(s for s in doc["scenarios"] if s["name"] == "aravind")
    assert "free_transport" in aravind["interventions"] and "aravind" in err


def test_sweep_list_shows_the_built_in_experiments(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no experiments/ here: only the built-in ones
    code, out, _ = run_cli(capsys, "sweep", "--list")
    assert code == 0 and "aravind_waterfall" in out and "hidden costs are removed" in out
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "mine.toml").write_text('name = "mine"\ntitle = "My own"\nscenario = "aravind"\n')
    code, out, _ = run_cli(capsys, "sweep", "--list", "--json")
    names = {e["name"]: e for e in json.loads(out)["experiments"]}
    assert names["mine"]["title"] == "My own" and not names["mine"]["built_in"] and names["bass"]["built_in"]


def test_sweep_json(capsys, tmp_path):
    code, out, err = run_cli(capsys, "sweep", "aravind_waterfall", "--customers", "200", "--replicates", "1",
                             "--workers", "1", "--out", str(tmp_path / "w"), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["experiment"] == "aravind_waterfall" and doc["runs"] == doc["planned"] > 0
    assert doc["headline"] and "runs" in err


def test_story_json(capsys):
    code, out, _ = run_cli(capsys, "story", "aravind", "--seeds", "1", "--customers", "300", "--variant", "aravind_1980s", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["variants"] == ["baseline", "aravind_1980s"] and "Inside-out" in doc["story"]


def test_a_sweep_without_an_experiment_is_one_line(capsys):
    code, _, err = run_cli(capsys, "sweep")
    assert code == 2 and "--list" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_script(capsys, shell):
    code, out, _ = run_cli(capsys, "completion", shell)
    assert code == 0 and len(out) > 500
    for sub in ("run", "list", "sweep", "story", "completion"):
        assert sub in out
    assert "--json" in out and "--variant" in out


def test_provenance_names_versions_and_only_cxsims_own_commit(tmp_path, monkeypatch):
    from cxsim.experiments import store

    p = store.provenance()
    assert {"numpy", "numba", "pandas", "mesa", "pydantic", "pyarrow"} <= set(p["dependencies"])
    assert p["cxsim_version"]
    # a copy of the package inside some other repository: no hash (its pyproject does not name cxsim)
    other = tmp_path / "other"
    (other / "cxsim" / "experiments").mkdir(parents=True)
    (other / "pyproject.toml").write_text('[project]\nname = "something-else"\n')
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    monkeypatch.setattr(store, "__file__", str(other / "cxsim" / "experiments" / "store.py"))
    assert store.cxsim_checkout() is None and store.git_hash() is None


def test_the_wheel_holds_the_built_in_experiments(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    wheel = next(tmp_path.glob("cxsim-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).name for n in names if n.startswith("cxsim/experiments/library/")}
    assert {"aravind_waterfall.toml", "bass.toml", "aravind_sensitivity.toml", "ab_free_transport.toml"} <= shipped
    # the ready-made optimisation and targets files too, so `cxsim optimise aravind aravind` works from the wheel
    assert {"cxsim/optimisation/library/aravind.toml", "cxsim/optimisation/library/telco_churn.toml",
            "cxsim/optimisation/library/top_accounts.toml", "cxsim/calibration/library/aravind_baseline.toml"} <= set(names)


def test_scenario_repr_is_short():
    sc = cxsim.load_scenario("aravind")
    text = repr(sc)
    assert len(text) < 300 and text.startswith("Scenario('aravind': 10,000 customers × 52 weeks")
    assert "(of 8)" in text and "aravind_1980s" in text
    assert "free_transport" in repr(sc.variant("aravind_1980s"))
