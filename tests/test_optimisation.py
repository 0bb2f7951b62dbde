"""cxsim optimise: a known optimum is found, same seed = same frontier (any workers, interrupted or not), constraints hold, bad files fail in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cxsim.cli import main
from cxsim.engine.scenario import SCENARIO_DIR
from cxsim.optimisation import optimise
from cxsim.optimisation.evaluate import Executor
from cxsim.state.params import CxError

SMALL = {"customers": 400, "steps": 20, "seeds": 3, "fresh_seeds": 3, "top": 3}


@pytest.fixture(scope="module")
def dominated(tmp_path_factory) -> Path:
    """Aravind where fear binds, plus two counselling programmes of equal running cost: 'strong' removes
    90% of fear, 'weak' 10%. The budget pays for one at full coverage, so the best plan is known:
    strong at full coverage, weak off."""
    text = (SCENARIO_DIR / "aravind.toml").read_text()
    text = text.replace('name = "aravind"', 'name = "dominated"')
    text += """
[interventions.strong]
kind = "counselling"
fear_relief = 0.9
distrust_relief = 0.0
latent_insight = 0.0
cost_per_step = 100.0

[interventions.weak]
kind = "counselling"
fear_relief = 0.1
distrust_relief = 0.0
latent_insight = 0.0
cost_per_step = 100.0
"""
    path = tmp_path_factory.mktemp("scenario") / "dominated.toml"
    path.write_text(text.replace("w_fear = 2.0", "w_fear = 6.0").replace("w_cost = 2.3", "w_cost = 0.3"))
    return path


def dominated_spec(**extra) -> dict:
    return {**SMALL, "trials": 24, "startup_trials": 8, "budget": 2000.0,
            "levers": {"strong": {"coverage": {"low": 0.25, "high": 1.0, "step": 0.25}},
                       "weak": {"coverage": {"low": 0.25, "high": 1.0, "step": 0.25}}},
            "objectives": {"acceptance_rate": "maximise"}, "constraints": ["intervention_cost <= budget"], **extra}


def test_known_optimum_is_found_and_explained(dominated, tmp_path):
    res = optimise(dominated, dominated_spec(), tmp_path / "opt", progress=False)
    assert res.best is not None
    assert res.best.overrides["interventions.strong.enabled"] is True
    assert res.best.overrides["interventions.strong.coverage"] == 1.0
    assert res.best.overrides["interventions.weak.enabled"] is False
    # 100 a step for 20 steps at full coverage: exactly the budget
    assert res.best.cost == pytest.approx(2000.0)
    assert "fear" in res.explain(res.best)
    ft = res.fresh_table
    assert ft.iloc[0]["plan"] == res.best.text and res.advantage is not None
    for name in ("frontier.parquet", "plans.csv", "fresh.csv", "report.md", "frontier.png", "study.db"):
        assert (tmp_path / "opt" / name).exists(), name
    report = (tmp_path / "opt" / "report.md").read_text()
    assert "Best plan for a budget of 2,000" in report and "fresh seeds" in report


TWO = {**SMALL, "trials": 10, "population": 4, "sampler_seed": 7, "budget": 1000.0,
       "levers": {"free_transport": {"subsidy": [0.2, 1.0]}, "free_medicine": {"coverage": [0.2, 1.0]}, "testimonials": {}},
       "objectives": {"acceptance_rate": "maximise", "intervention_cost": "minimise"},
       "constraints": ["intervention_cost <= budget", "cost_per_accepted <= 30"]}


def _frontier(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "frontier.parquet")


def test_same_seed_same_frontier_with_one_or_two_workers(tmp_path):
    a = optimise("aravind", TWO, tmp_path / "one", workers=1, progress=False, uncertainty="seeds")
    b = optimise("aravind", TWO, tmp_path / "two", workers=2, progress=False, uncertainty="seeds")
    pd.testing.assert_frame_equal(_frontier(tmp_path / "one"), _frontier(tmp_path / "two"))
    pd.testing.assert_frame_equal(a.plans_table, b.plans_table)
    assert len(a.frontier) >= 2


def test_interrupted_and_resumed_ends_where_uninterrupted_ends(tmp_path, monkeypatch):
    whole = optimise("aravind", TWO, tmp_path / "whole", progress=False, uncertainty="seeds")
    calls = {"n": 0}
    real = Executor.evaluate

    def flaky(self, *args, **kw):
        calls["n"] += 1
        if calls["n"] == 5:  # in the middle of the fifth plan's runs
            raise KeyboardInterrupt
        return real(self, *args, **kw)

    monkeypatch.setattr(Executor, "evaluate", flaky)
    with pytest.raises(KeyboardInterrupt):
        optimise("aravind", TWO, tmp_path / "cut", progress=False, uncertainty="seeds")
    monkeypatch.setattr(Executor, "evaluate", real)
    with pytest.raises(CxError, match="--resume"):
        optimise("aravind", TWO, tmp_path / "cut", progress=False, uncertainty="seeds")
    part = optimise("aravind", {**TWO, "trials": 7}, tmp_path / "cut", resume=True, progress=False, uncertainty="seeds")
    assert len(part.plans) == 7
    resumed = optimise("aravind", TWO, tmp_path / "cut", resume=True, progress=False, uncertainty="seeds")
    pd.testing.assert_frame_equal(whole.plans_table, resumed.plans_table)
    pd.testing.assert_frame_equal(_frontier(tmp_path / "whole"), _frontier(tmp_path / "cut"))


def test_frontier_respects_every_constraint(tmp_path):
    spec = {**TWO, "trials": 12, "budget": 800.0, "constraints": ["intervention_cost <= budget", "cost_per_accepted <= 20"]}
    res = optimise("aravind", spec, tmp_path / "c", progress=False, uncertainty="seeds")
    assert res.frontier
    for p in res.frontier:
        assert p.cost <= 800.0
        assert p.mean("cost_per_accepted") <= 20
    plans = res.plans_table
    assert (~plans["feasible"]).any(), "the constraints should bind for some plans in this test"
    assert plans.loc[plans["on_frontier"], "feasible"].all()
    if res.best is not None:
        assert res.best.cost <= 800.0
    # another budget from the same plans, without runs
    cheap = res.recommend(500.0)
    assert cheap.best is None or cheap.best.cost <= 500.0


def test_cli_runs_a_file(tmp_path, capsys):
    f = tmp_path / "o.toml"
    f.write_text('customers = 300\nsteps = 12\nseeds = 2\nfresh_seeds = 2\ntrials = 4\ntop = 2\n'
                 '[levers.free_transport]\nsubsidy = [0.5, 1.0]\n[objectives]\nacceptance_rate = "maximise"\n')
    assert main(["optimise", "aravind", str(f), "--out", str(tmp_path / "r"), "--uncertainty", "seeds"]) == 0
    out = capsys.readouterr().out
    assert "best plan:" in out and (tmp_path / "r" / "report.md").exists()
    # re-report at another budget: no new trials
    assert main(["optimise", "aravind", str(f), "--out", str(tmp_path / "r"), "--resume", "--budget", "10", "--uncertainty", "seeds"]) == 0
    capsys.readouterr()
    assert main(["optimise", "aravind", str(f), "--out", str(tmp_path / "r"), "--resume", "--json", "--uncertainty", "seeds"]) == 0
    document = json.loads(capsys.readouterr().out)  # one JSON document on stdout, the human text on stderr
    assert document["trials"] == 4 and document["frontier"] and document["best"]["objective"] == "acceptance_rate"


BAD = [
    ('[levers.free_bus]\n[objectives]\nacceptance_rate = "max"\n', "levers.free_bus: unknown intervention"),
    ('[levers.free_transport]\nsubsidy = [0.9, 0.2]\n[objectives]\nacceptance_rate = "max"\n', "empty range"),
    ('[levers.free_transport]\nsubsidy = [0.5, 1.5]\n[objectives]\nacceptance_rate = "max"\n', "outside the allowed 0 to 1"),
    ('[levers.free_transport]\nwings = [0, 1]\n[objectives]\nacceptance_rate = "max"\n', "unknown field"),
    ('[levers.free_transport]\n[objectives]\nhappiness = "max"\n', "objectives.happiness: unknown measure"),
    ('[levers.free_transport]\n[objectives]\nacceptance_rate = "up"\n', "objectives.acceptance_rate"),
    ('budget = 1000\nconstraints = ["intervention_cost <= budget"]\n[levers.outreach_camps]\noptional = false\n[objectives]\nacceptance_rate = "max"\n',
     "below the fixed running cost"),
    ('constraints = ["intervention_cost <= 100"]\n[levers.outreach_camps]\n[objectives]\nacceptance_rate = "max"\n', "below the cheapest plan"),
    ('constraints = ["cost < lots"]\n[levers.free_transport]\n[objectives]\nacceptance_rate = "max"\n', "expected 'MEASURE <= NUMBER'"),
    ('constraints = ["intervention_cost <= budget"]\n[levers.free_transport]\n[objectives]\nacceptance_rate = "max"\n', "none is set"),
    ('[objectives]\nacceptance_rate = "max"\n', "levers: required field is missing"),
    ('compare = ["nope"]\n[levers.free_transport]\n[objectives]\nacceptance_rate = "max"\n', "compare = 'nope': unknown variant"),
    ('trials = 0\n[levers.free_transport]\n[objectives]\nacceptance_rate = "max"\n', "trials = 0"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m for _, m in BAD])
def test_bad_files_fail_in_one_line(tmp_path, capsys, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    assert main(["optimise", "aravind", str(f), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "r").exists()


def test_flags_without_a_file(tmp_path, capsys):
    assert main(["optimise", "aravind", "--uncertainty", "seeds", "--lever", "free_transport.subsidy=0.5:1", "--lever", "testimonials", "--objective", "acceptance_rate",
                 "--budget", "5000", "--customers", "300", "--steps", "12", "--seeds", "2", "--trials", "3", "--out", str(tmp_path / "f")]) == 0
    assert "best plan:" in capsys.readouterr().out
    assert main(["optimise", "aravind", "--lever", "free_transport.subsidy=0.5", "--out", str(tmp_path / "g")]) == 2


def test_named_plans_start_the_search_and_are_placed_against_the_frontier(tmp_path):
    spec = {**SMALL, "trials": 3, "population": 4, "compare": ["aravind_1980s", "counselling_only"],
            "levers": {n: {} for n in ("free_transport", "free_food_lodging", "free_medicine", "free_follow_up", "testimonials")},
            "objectives": {"acceptance_rate": "maximise", "intervention_cost": "minimise"}}
    res = optimise("aravind", spec, tmp_path / "n", progress=False, uncertainty="seeds")
    first = res.plans[0]
    assert first.text == "free_transport + free_food_lodging + free_medicine + free_follow_up"  # aravind_1980s, enqueued
    assert first.evaluation.values == res.compared["aravind_1980s"].values  # the same plan on the same seeds
    assert set(res.compared) == {"aravind_1980s", "counselling_only"}  # counselling is no lever: compared, not enqueued
    assert "Named plans against the frontier" in (tmp_path / "n" / "report.md").read_text()


def _wide_posterior():
    import numpy as np

    from cxsim import posterior

    rng = np.random.default_rng(5)
    return posterior.Posterior({"decision.w_cost": rng.uniform(0.5, 4.0, 200)}, np.ones(200), {"method": "synthetic"})


def test_over_a_posterior_plans_get_an_expected_and_a_worst_case_and_a_plan_best_in_the_worst_case(tmp_path):
    spec = {**SMALL, "seeds": 2, "fresh_seeds": 2, "trials": 6, "startup_trials": 6, "budget": 5000.0,
            "levers": {"free_transport": {"subsidy": [0.2, 1.0]}, "testimonials": {}},
            "objectives": {"acceptance_rate": "maximise"}, "constraints": ["intervention_cost <= budget"]}
    res = optimise("aravind", spec, tmp_path / "robust", progress=False, posterior=_wide_posterior(), draws=4)
    assert len(res.spec.draws) == 4 and len(res.spec.fresh_draws) == 4 and res.spec.draws != res.spec.fresh_draws
    ev = res.best.evaluation
    assert ev.draws == [0, 0, 1, 1, 2, 2, 3, 3] and len(ev.values["acceptance_rate"]) == 8  # draw-major, the same seeds in each
    per_draw = ev.per_draw("acceptance_rate")
    assert ev.worst("acceptance_rate", True) == pytest.approx(per_draw.min())  # 10% of 4 draws: the single worst
    assert ev.mean("acceptance_rate") == pytest.approx(per_draw.mean())
    sturdy = res.robust
    best_worst = max(p.evaluation.worst("acceptance_rate", True) for p in res.recommendation.ranked)
    assert sturdy.evaluation.worst("acceptance_rate", True) == pytest.approx(best_worst)
    assert sturdy.key in {p.key for p in res.top}  # checked on fresh draws and seeds too
    assert all(f.draws == [0, 0, 1, 1, 2, 2, 3, 3] for f in res.fresh)
    table = res.frontier_table
    assert {"acceptance_rate_worst10", "uncertainty"} <= set(table.columns) and set(table["uncertainty"]) == {"posterior"}
    assert "posterior draws" in res.spec.uncertainty
    seeds_only = optimise("aravind", {**spec, "trials": 2}, tmp_path / "seeds", progress=False, uncertainty="seeds")
    assert seeds_only.spec.draws == () and seeds_only.robust is None and "chance only" in seeds_only.spec.uncertainty


def test_cli_optimise_prints_the_worst_case_over_a_posterior_file(tmp_path, capsys):
    from cxsim import posterior

    path = posterior.save(_wide_posterior(), tmp_path / "p.posterior.parquet")
    assert main(["optimise", "aravind", "--lever", "free_transport.subsidy=0.5:1", "--objective", "acceptance_rate", "--budget", "5000",
                 "--customers", "300", "--steps", "12", "--seeds", "2", "--trials", "3", "--posterior", str(path), "--draws", "3",
                 "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "in the worst 10% of posterior draws" in out and "best in the worst case" in out and "fresh posterior draws" in out
    assert main(["optimise", "telco_churn", "--uncertainty", "posterior", "--out", str(tmp_path / "x")]) == 2
