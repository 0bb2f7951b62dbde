"""Calibration: recovery of known parameters, resume, strict targets files, CLI, and the Aravind prediction."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cxsim
from cxsim import cli
from cxsim.calibration import calibrate, targets as tg
from cxsim.calibration.observed import binomial_se
from cxsim.calibration.validation import threshold
from cxsim.state.params import CxError

ROOT = Path(__file__).resolve().parents[1]
TRUTH = {"decision.intercept": 1.2, "decision.w_cost": 2.0}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _truth_runs(variant: str, seeds, customers: int = 2000):
    sc = cxsim.load_scenario("aravind").variant(variant).with_overrides({**TRUTH, "population.customers": customers})
    return [cxsim.run(sc, seed=s) for s in seeds]


def test_calibration_recovers_known_parameters(tmp_path):
    """Targets simulated from chosen parameters (one through an observed funnel CSV) are fitted back."""
    observed_seeds = [501, 502, 503, 504]
    base = _truth_runs("baseline", observed_seeds)
    offered = sum(r.summary["offered"] for r in base)
    accepted = sum(r.summary["accepted"] for r in base)
    _write(tmp_path / "funnel.csv", f"milestone,customers\noffered,{offered}\naccepted,{accepted}\n")
    freed = [r.summary["acceptance_rate"] for r in _truth_runs("all_barriers_removed", observed_seeds)]
    value, se = float(np.mean(freed)), float(np.std(freed, ddof=1) / math.sqrt(len(freed)))
    spec = _write(tmp_path / "targets.toml", f"""
customers = 2000
seeds = [1, 2, 3]
trials = 60
startup_trials = 20
sampler_seed = 11
[parameters]
decision.intercept = {{ low = 0.0, high = 2.5 }}
decision.w_cost = {{ low = 1.0, high = 3.5 }}
[[observed]]
file = "funnel.csv"
kind = "funnel"
[[targets]]
measure = "acceptance_rate"
variant = "all_barriers_removed"
value = {value}
se = {se}
""")
    cal = calibrate("aravind", spec, tmp_path / "out", progress=False)
    assert [f.target.measure for f in cal.fits] == ["acceptance_rate", "funnel:accepted/offered"]
    assert cal.fits[1].target.se == pytest.approx(binomial_se(accepted, offered))
    assert all(cal.contains(TRUTH).values()), (cal.ranges, TRUTH)
    assert all(abs(f.residual) <= 2.5 for f in cal.fits), [f.residual for f in cal.fits]
    for name in ("report.md", "fit.png", "trials.csv", "calibrated.toml", "study.db"):
        assert (tmp_path / "out" / name).exists()
    text = (tmp_path / "out" / "calibrated.toml").read_text()
    written = tomllib.loads(text)["decision"]
    assert written["intercept"] == pytest.approx(cal.best["decision.intercept"], rel=1e-3)
    assert "# calibrated: cxsim calibrate aravind" in text
    original = (ROOT / "cxsim" / "scenarios" / "aravind.toml").read_text().splitlines()
    changed = [line for line in text.splitlines() if line not in original]
    assert len([line for line in changed if not line.startswith("#")]) == 2  # only the two fitted lines differ


def _small_targets(tmp_path: Path, trials: int) -> Path:
    return _write(tmp_path / "small.toml", f"""
customers = 400
seeds = 2
trials = {trials}
startup_trials = 3
sampler_seed = 5
[parameters]
"decision.w_cost" = {{ low = 1.0, high = 4.0 }}
[[targets]]
measure = "acceptance_rate"
value = 0.1
se = 0.02
""")


def test_resumed_calibration_ends_where_an_uninterrupted_one_ends(tmp_path):
    spec = _small_targets(tmp_path, 8)
    whole = calibrate("aravind", spec, tmp_path / "whole", progress=False)
    calibrate("aravind", spec, tmp_path / "parts", trials=4, progress=False)
    with pytest.raises(CxError, match="--resume"):
        calibrate("aravind", spec, tmp_path / "parts", progress=False)
    resumed = calibrate("aravind", spec, tmp_path / "parts", resume=True, progress=False)
    pd.testing.assert_frame_equal(whole.trials, resumed.trials)
    assert whole.best == resumed.best and len(resumed.trials) == 8


BASE = {"customers": 300, "seeds": 1, "trials": 2, "parameters": {"decision.w_cost": {"low": 1.0, "high": 3.0}},
        "targets": [{"measure": "acceptance_rate", "value": 0.05, "se": 0.01}]}


@pytest.mark.parametrize("change, message", [
    ({"parameters": {"decision.w_costs": {"low": 1.0, "high": 3.0}}}, "parameters.decision.w_costs: unknown setting"),
    ({"parameters": {"decision.w_cost": {"low": 3.0, "high": 1.0}}}, "empty or inverted range"),
    ({"parameters": {"decision.w_cost": {"low": 1.0, "high": 99.0}}}, "parameters.decision.w_cost"),
    ({"parameters": {"journey.reconsider": {"low": 0, "high": 1}}}, "not a number"),
    ({"targets": [{"measure": "acceptance", "value": 0.05, "se": 0.01}]}, "unknown measure 'acceptance'"),
    ({"targets": [{"measure": "reason:price", "value": 0.5, "se": 0.1}]}, "unknown reason 'price'"),
    ({"targets": [{"measure": "acceptance_rate", "variant": "magic", "value": 0.05, "se": 0.01}]}, "unknown variant"),
    ({"targets": [{"measure": "acceptance_rate", "value": 5.0, "se": 0.01}]}, "outside [0, 1]"),
    ({"targets": [{"measure": "acceptance_rate", "value": 0.05, "se": 0.0}]}, "se = 0: must be > 0"),
    ({"targets": [{"measure": "acceptance_rate", "value": 0.05}]}, "exactly one of se or tolerance"),
    ({"validation": {"seeds": [1], "predict": [{"variant": "aravind_1980s"}]}}, "also a calibration seed"),
])
def test_bad_targets_give_one_line(change, message):
    sc = cxsim.load_scenario("aravind")
    with pytest.raises(CxError) as err:
        tg.load({**BASE, **change}, sc)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_observed_scores_and_reasons_give_targets_with_standard_errors(tmp_path):
    _write(tmp_path / "scores.csv", "score,count\n10,30\n9,20\n8,20\n5,30\n")
    _write(tmp_path / "reasons.csv", "reason,count\ncost,80\nfear,20\n")
    raw = {**BASE, "targets": [], "observed": [{"file": str(tmp_path / "scores.csv"), "kind": "scores", "variant": "aravind_1980s"},
                                              {"file": str(tmp_path / "reasons.csv"), "kind": "reasons"}]}
    spec = tg.load(raw, cxsim.load_scenario("aravind"))
    by = {t.measure: t for t in spec.targets}
    assert by["nps"].value == pytest.approx(20.0) and by["nps"].se == pytest.approx(100 * math.sqrt((0.5 + 0.3 - 0.04) / 100))
    assert by["mean_score"].value == pytest.approx(7.9)
    assert by["reason:cost"].value == pytest.approx(0.8) and by["reason:cost"].se == pytest.approx(0.04)
    _write(tmp_path / "reasons.csv", "reason,count\nprice,80\n")
    with pytest.raises(CxError, match="unknown reason 'price'"):
        tg.load(raw, cxsim.load_scenario("aravind"))


def test_cli_calibrate_end_to_end_and_bad_file(tmp_path, capsys):
    spec = _small_targets(tmp_path, 3)
    out = tmp_path / "out"
    assert cli.main(["calibrate", "aravind", str(spec), "--out", str(out), "--workers", "1"]) == 0
    assert {"report.md", "fit.png", "trials.csv", "calibrated.toml"} <= {p.name for p in out.iterdir()}
    assert "decision.w_cost" in capsys.readouterr().out
    assert cli.main(["calibrate", "aravind", str(spec), "--out", str(out), "--workers", "1", "--resume", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)  # one JSON document on stdout, the human text on stderr
    assert {p["parameter"] for p in document["parameters"]} >= {"decision.w_cost"} and document["trials"] >= 3
    bad = _write(tmp_path / "bad.toml", spec.read_text().replace("decision.w_cost", "decision.w_kost"))
    assert cli.main(["calibrate", "aravind", str(bad), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "decision.w_kost" in err


# -- Aravind: calibrated on the baseline world, the package predicted --------------------------------------
ARAVIND = ROOT / "calibration" / "aravind_baseline.toml"
REPORT = ROOT / "calibration" / "aravind_baseline"


def test_aravind_targets_use_only_the_baseline_world():
    spec = tg.load(ARAVIND, cxsim.load_scenario("aravind"))
    assert "aravind_1980s" not in {t.variant for t in spec.targets}
    assert "all_barriers_removed" not in {t.variant for t in spec.targets}
    assert not set(spec.file.validation.seed_list) & set(spec.file.seed_list)


def _aravind_prediction(seeds: int):
    """The package's predicted acceptance from the committed calibration (its trials), on validation seeds."""
    from cxsim.calibration import validation as val

    sc = cxsim.load_scenario(REPORT / "scenario.toml")  # the scenario as it was when the calibration ran
    spec = tg.load(ARAVIND, sc)
    trials = pd.read_csv(REPORT / "trials.csv")
    params = list(spec.parameters)
    region = val.within_noise(trials, len(params))
    sets = val.parameter_sets(region, params, spec.file.validation.max_sets)
    short = spec.file.validation.model_copy(update={"seeds": seeds, "predict": spec.file.validation.predict[:1]})
    spec = tg.Spec(spec.file.model_copy(update={"validation": short}), spec.path, spec.targets)
    result = val.validate(sc.with_overrides({"population.customers": spec.file.customers}), spec, sets, horizons=False)
    return result.predictions.set_index("variant").loc["aravind_1980s"], result.seeds, spec.file.seed_list


def test_aravind_package_acceptance_is_a_prediction_with_a_wide_band():
    """The package's acceptance, predicted on seeds never used in fitting, across the parameter sets within noise.

    The baseline facts pin only a ridge of (intercept, w_cost): the band is wide and holds the seed's
    "about 80%"; the committed report says the same (predictions.csv).
    """
    row, seeds, calibration_seeds = _aravind_prediction(seeds=20)
    assert not set(seeds) & set(calibration_seeds)
    assert 0.10 <= row["low"] <= 0.30 and 0.95 <= row["high"] <= 1.0, row  # committed: 16.7%–99.0%
    assert row["low"] <= 0.80 <= row["high"]
    committed = pd.read_csv(REPORT / "predictions.csv").set_index("variant").loc["aravind_1980s"]
    for key in ("predicted", "low", "high", "set_low", "set_high"):
        assert row[key] == pytest.approx(committed[key], abs=1e-9)
