"""Every number with the uncertainty it has: intervals within their range, ensembles over a posterior, the seeds-only fallback."""

import json
import math
import shutil

import numpy as np
import pytest

from cxsim import posterior
from cxsim.cli import main
from cxsim.engine.scenario import load_scenario
from cxsim.ensemble import POSTERIOR, SEEDS, run_ensemble
from cxsim.outputs import combine
from cxsim.readouts.measures import metric_range
from cxsim.readouts.metrics import MIN_REPLICATES, difference_range, interval
from cxsim.state.params import CxError

SMALL = {"customers": 400, "steps": 12}
NO_POSTERIOR = "telco_churn"  # a scenario that ships no posterior (aravind ships one)


def _posterior(n=300, seed=1):
    """A wide synthetic posterior over two of the decision's weights (the real one comes from `cxsim infer`)."""
    rng = np.random.default_rng(seed)
    return posterior.Posterior({"decision.w_cost": rng.uniform(0.5, 4.0, n), "decision.w_fear": rng.uniform(0.3, 2.5, n)},
                               rng.random(n), {"method": "synthetic"})


# -- intervals that respect their range ------------------------------------------------------------------
@pytest.mark.parametrize("name, values", [
    ("acceptance_rate", [0.001, 0.004, 0.09]),        # a share near 0: a t interval would go below 0
    ("retention", [0.999, 1.0, 0.93]),                # a share near 1
    ("nps", [99.0, 100.0, 60.0]),                     # NPS near its top
    ("referrals", [0.0, 0.0, 12.0]),                  # a count near 0
])
def test_interval_stays_within_the_range_of_its_measure(name, values):
    lo_range, hi_range = metric_range(name)
    raw = interval(values)  # unbounded: leaves the range (that is what this test guards against)
    assert raw[1] < lo_range or raw[2] > hi_range
    mean, lo, hi = interval(values, bounds=metric_range(name))
    assert lo_range <= lo <= mean <= hi <= hi_range
    assert (lo, hi) != (mean, mean)


def test_difference_ranges_follow_the_unit():
    assert difference_range("share") == (-1.0, 1.0)
    assert difference_range("−100–100") == (-200.0, 200.0)
    assert difference_range("customers")[0] == -math.inf


def test_fewer_than_three_replicates_give_no_interval():
    assert MIN_REPLICATES == 3
    mean, lo, hi = interval([0.1, 0.3])
    assert mean == pytest.approx(0.2) and math.isnan(lo) and math.isnan(hi)
    assert not math.isnan(interval([0.1, 0.3, 0.2])[1])


def test_summary_of_replicates_keeps_shares_and_counts_in_range():
    runs = [{"seed": s, "scenario": "x", "acceptance_rate": a, "nps": n, "referrals": r, "dropout_reasons": {"cost": c}}
            for s, a, n, r, c in [(1, 0.001, 99.0, 0.0, 0), (2, 0.004, 100.0, 0.0, 1), (3, 0.09, 60.0, 12.0, 40)]]
    out = combine(runs)
    assert 0.0 <= out["ci95"]["acceptance_rate"][0] and out["ci95"]["nps"][1] <= 100.0
    assert out["ci95"]["referrals"][0] >= 0.0 and out["ci95"]["dropout_reasons"]["cost"][0] >= 0.0
    two = combine(runs[:2])
    assert two["ci95"]["acceptance_rate"] == [None, None]


def test_cli_run_with_two_replicates_prints_no_interval_and_says_why(capsys):
    assert main(["run", NO_POSTERIOR, *_size(), "--replicates", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ci95"]["retention"] == [None, None] and doc["ci95"]["nps"] == [None, None]
    assert doc["uncertainty"]["kind"] == SEEDS
    assert "too few for an interval" in doc["uncertainty"]["caption"] and "has no posterior" in doc["uncertainty"]["caption"]
    assert main(["run", "aravind", *_size(), "--replicates", "2", "--uncertainty", "seeds", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ci95"]["acceptance_rate"] == [None, None]
    assert "parameter uncertainty not included (--uncertainty seeds)" in doc["uncertainty"]["caption"]


def _size():
    return ["--customers", str(SMALL["customers"]), "--steps", str(SMALL["steps"])]


# -- ensembles ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wide():
    return run_ensemble("aravind", {"baseline": {}, "same": {}, "free": {"interventions.free_transport.enabled": True}},
                        posterior=_posterior(), draws=6, seeds=2, **SMALL)


def test_within_a_draw_every_world_meets_the_same_seeds_and_parameters(wide):
    runs = wide.runs
    for world in wide.worlds:
        mine = runs[runs["world"] == world]
        assert list(mine["draw"]) == [d for d in range(6) for _ in range(2)]
        assert list(mine["seed"]) == list(range(1, 13))  # draw d on seeds 1 + 2d, 2 + 2d
    assert len({tuple(d.items()) for d in wide.draws}) == 6


def test_a_difference_is_paired_within_each_draw_and_seed(wide):
    # the same world twice: identical runs in every draw and seed, so its difference is exactly 0 with no width,
    # while its level varies with the parameters
    same = wide.differences().set_index(["world", "metric"])
    row = same.loc[("same", "acceptance_rate")]
    assert row["difference"] == 0.0 and row["ci_low"] == 0.0 and row["ci_high"] == 0.0
    level = wide.levels().set_index(["world", "metric"]).loc[("same", "acceptance_rate")]
    assert level["high"] - level["low"] > 0.01
    r = wide.runs
    manual = (r[r.world == "free"].set_index(["draw", "seed"])["acceptance_rate"]
              - r[r.world == "baseline"].set_index(["draw", "seed"])["acceptance_rate"]).groupby("draw").mean()
    assert same.loc[("free", "acceptance_rate"), "difference"] == pytest.approx(manual.mean())
    assert manual.min() - 1e-12 <= same.loc[("free", "acceptance_rate"), "ci_low"]


def test_posterior_levels_hold_parameter_uncertainty_and_stay_in_range(wide):
    seeds_only = run_ensemble("aravind", {"baseline": {}}, posterior=None, seeds=4, **SMALL)
    assert seeds_only.kind == SEEDS and wide.kind == POSTERIOR
    post = wide.levels().set_index(["world", "metric"]).loc[("baseline", "acceptance_rate")]
    seeds = seeds_only.levels().set_index("metric").loc["acceptance_rate"]
    assert post["high"] - post["low"] > seeds["high"] - seeds["low"]
    for t in (wide.levels(), seeds_only.levels()):
        shares = t[t["metric"].isin(["acceptance_rate", "reach", "retention", "completion_rate"])].dropna()
        assert (shares["low"] >= 0).all() and (shares["high"] <= 1).all()
    assert "posterior draws" in wide.caption and "parameters" in wide.caption


def test_without_a_posterior_the_ensemble_is_seeds_only_and_says_so():
    ens = run_ensemble(NO_POSTERIOR, None, seeds=3, **SMALL)
    assert ens.kind == SEEDS and ens.draws == [{}]
    assert f"{NO_POSTERIOR} has no posterior" in ens.caption and "chance only" in ens.caption
    from cxsim.engine.model import run

    sc = load_scenario(NO_POSTERIOR)
    direct = [run(sc, s, **SMALL).summary["retention"] for s in (sc.seed, sc.seed + 1, sc.seed + 2)]
    assert list(ens.runs["retention"]) == pytest.approx(direct)  # the same runs as `cxsim run --replicates 3`
    with pytest.raises(CxError, match="uncertainty = posterior"):
        run_ensemble(NO_POSTERIOR, None, uncertainty=POSTERIOR, **SMALL)
    shipped = run_ensemble("aravind", None, seeds=1, draws=3, **SMALL)
    assert shipped.kind == POSTERIOR and "cxsim/scenarios/aravind.posterior.parquet" in shipped.caption


def test_scenario_file_finds_its_own_posterior_beside_it(tmp_path):
    toml = tmp_path / "mine.toml"
    shutil.copy(posterior.BUILT_IN / "aravind.toml", toml)
    posterior.save(_posterior(), tmp_path / "mine.posterior.parquet")
    ens = run_ensemble(str(toml), None, draws=3, seeds=1, **SMALL)
    assert ens.kind == POSTERIOR and "mine.posterior.parquet" in ens.caption
    assert run_ensemble(str(toml), None, uncertainty=SEEDS, seeds=1, **SMALL).kind == SEEDS


def test_results_do_not_depend_on_the_number_of_workers():
    args = dict(posterior=_posterior(), draws=3, seeds=1, customers=300, steps=8)
    one = run_ensemble("aravind", ["baseline", "aravind_1980s"], workers=1, **args)
    two = run_ensemble("aravind", ["baseline", "aravind_1980s"], workers=2, **args)
    assert one.runs.equals(two.runs)


def test_cli_run_over_a_posterior_file_labels_its_intervals(tmp_path, capsys):
    path = posterior.save(_posterior(), tmp_path / "p.posterior.parquet")
    assert main(["run", "aravind", *_size(), "--posterior", str(path), "--draws", "4", "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["uncertainty"]["kind"] == POSTERIOR and doc["draws"] == 4
    lo, hi = doc["interval95"]["acceptance_rate"]
    assert 0 <= lo <= doc["mean"]["acceptance_rate"] <= hi <= 1
    assert "Uncertainty: 95% intervals over 4 posterior draws" in captured.err and str(path) in captured.err


def test_cli_bad_uncertainty_inputs_are_one_line_exit_2(capsys):
    assert main(["run", NO_POSTERIOR, "--uncertainty", "posterior"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--uncertainty = posterior" in err and "--posterior FILE" in err
    assert main(["run", "aravind", "--draws", "0"]) == 2
    assert "--draws = 0" in capsys.readouterr().err
    assert main(["run", "aravind", "--posterior", "/nonexistent/x.parquet"]) == 2
    assert "--posterior" in capsys.readouterr().err


# -- every place that shows a number says which uncertainty it carries ----------------------------------------
def test_cards_charts_and_reports_say_which_uncertainty(wide):
    from cxsim import plot, report, views

    cards = views.ensemble_cards(wide, "rupees")
    assert set(cards["uncertainty"]) == {POSTERIOR}
    assert cards["level"].str.contains("parameters \\+ seeds").all()
    assert views.level_text(0.5, float("nan"), float("nan"), "acceptance_rate", kind=SEEDS) == "50.0 % (no interval, seeds only)"
    chart = plot.comparison(wide).to_dict()
    assert "posterior draws" in chart["title"]["subtitle"]
    assert "no posterior" in report.uncertainty_text(NO_POSTERIOR, [1, 2, 3]) and "chance only" in report.uncertainty_text(NO_POSTERIOR, [1, 2, 3])
    assert "posterior was not used" in report.uncertainty_text("aravind", [1, 2, 3])
    assert report.uncertainty_text("aravind", [1], wide) == wide.caption


def test_story_over_a_posterior_pairs_within_each_draw_and_says_so():
    from cxsim.narrative import scenario_story

    sc = load_scenario("aravind")
    text = scenario_story(sc, 2, variants=["aravind_1980s"], posterior=_posterior(), draws=3, **SMALL)
    assert "3 posterior draws × 2 seeds" in text and "within each posterior draw and seed" in text
    assert "Uncertainty: 95% intervals over 3 posterior draws × 2 seeds" in text
    plain = scenario_story(load_scenario(NO_POSTERIOR), 2, variants=["save_desk"], **SMALL)
    assert f"{NO_POSTERIOR} has no posterior" in plain and "too few for an interval" in plain
    shipped = scenario_story(sc, 1, variants=["aravind_1980s"], draws=3, **SMALL)
    assert "3 posterior draws × 1 seed" in shipped and "aravind.posterior.parquet" in shipped


def test_calibration_prints_intervals_within_the_measure_range():
    from cxsim.calibration.report import within

    assert within("acceptance_rate", -0.0531, 0.6738) == (0.0, 0.6738)   # the predicted acceptance
    assert within("retention", 0.99, 1.005) == (0.99, 1.0)               # the share above 1
    assert within("nps", -120.0, 40.0) == (-100.0, 40.0)
