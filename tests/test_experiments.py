"""Experiments layer: pure entry points, designs, experiment files, sweeps, determinism across workers."""

import json
import math

import numpy as np
import pandas as pd
import pytest

import cxsim
from cxsim import CxError
from cxsim.cli import main
from cxsim.experiments import (list_experiments, load_experiment, load_results, load_timeseries, make_plan, query,
                               run_experiment, run_many, run_summary)
from cxsim.experiments.design import combinations, expand
from cxsim.experiments.reports import bass_curve, bass_discrete
from cxsim.experiments.spec import parse_experiment
from cxsim.readouts.metrics import SCALAR_OUTCOMES

SMALL = {"population.customers": 600, "steps": 15}


def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


SMALL_EXPERIMENT = """
name = "tiny"
scenario = "aravind"
customers = 500
steps = 12
replicates = 2
seed = 3
outcomes = ["acceptance_rate", "referrals"]
[uncertainties]
"decision.w_cost" = [1.5, 3.0]
"population.segments.*.fear" = { lo = 0.5, hi = 1.5, relative = true }
[levers]
interventions = ["free_transport", "free_medicine"]
combine = ["all"]
[design]
kind = "factorial"
levels = 2
"""


def test_run_summary_is_a_pure_function_of_its_arguments():
    a = run_summary("aravind", seed=4, customers=600, steps=15, decision__w_fear=1.0)
    b = run_summary("aravind", seed=4, customers=600, steps=15, **{"decision.w_fear": 1.0})
    assert a == b and set(a) == set(SCALAR_OUTCOMES)
    assert all(isinstance(v, float) for v in a.values())
    assert run_summary("aravind", seed=5, customers=600, steps=15, decision__w_fear=1.0) != a
    freed = run_summary("aravind", seed=4, customers=600, steps=15, interventions=["free_transport"], decision__w_fear=1.0)
    assert freed["intervention_cost"] > 0 == a["intervention_cost"]


def test_run_many_returns_aligned_tables(aravind):
    points = [{"decision.w_cost": 1.5}, {"decision.w_cost": 3.0}]
    runs, ts = run_many(aravind.with_overrides(SMALL), points, seeds=[1, 2])
    assert list(runs["run"]) == [0, 1, 2, 3]
    assert list(runs["decision.w_cost"]) == [1.5, 1.5, 3.0, 3.0] and list(runs["seed"]) == [1, 2, 1, 2]
    assert runs["acceptance_rate"].iloc[0] > runs["acceptance_rate"].iloc[2]  # cost weighs more, fewer accept
    assert set(ts["run"]) == {0, 1, 2, 3} and set(ts.columns) == {"run", "key", "step", "metric", "value"}
    last = ts[(ts["metric"] == "accepted") & (ts["step"] == 15)].set_index("run")["value"]
    assert np.allclose(last.sort_index().to_numpy(), runs["accepted"].to_numpy())
    one = run_summary(aravind.with_overrides({**SMALL, "decision.w_cost": 3.0}), seed=2)
    assert runs.iloc[3][list(SCALAR_OUTCOMES)].to_dict() == pytest.approx(one, nan_ok=True)


def test_lever_combinations():
    ivs = ["a", "b", "c"]
    assert combinations(ivs, ["each"]) == [("a",), ("b",), ("c",)]
    assert combinations(ivs, ["all"]) == [("a", "b", "c")]
    assert combinations(ivs, ["cumulative"]) == [("a",), ("a", "b"), ("a", "b", "c")]
    assert len(combinations(ivs, ["factorial"])) == 7


def test_relative_uncertainties_scale_every_segment(aravind):
    data = aravind.model_dump()
    out = expand(data, "population.segments.*.fear", 1.5, relative=True)
    assert set(out) == {f"population.segments.{s}.fear" for s in aravind.population.segments}
    assert out["population.segments.labourers.fear"] == pytest.approx(1.5 * aravind.population.segments["labourers"].fear)
    assert expand(data, "journey.access_steps", 2.6, relative=False) == {"journey.access_steps": 3}


def test_plan_crosses_points_policies_and_replicates(tmp_path):
    exp, src = load_experiment(write(tmp_path, SMALL_EXPERIMENT))
    plan = make_plan(exp, src)
    assert list(plan.policies) == ["baseline", "free_transport+free_medicine"]
    assert len(plan.points) == 4 and len(plan.tasks) == 4 * 2 * 2
    assert len({t.key for t in plan.tasks}) == len(plan.tasks)
    assert plan.seeds == [3, 4]
    again = make_plan(*load_experiment(src))
    assert [t.key for t in again.tasks] == [t.key for t in plan.tasks]  # keys are stable


@pytest.mark.parametrize("kind, n, expected", [("lhs", 20, 20), ("sobol", 16, 16 * 4), ("morris", 5, 5 * 3)])
def test_salib_designs_stay_in_range(tmp_path, kind, n, expected):
    text = SMALL_EXPERIMENT.replace('kind = "factorial"', f'kind = "{kind}"\nsamples = {n}').replace("levels = 2", "levels = 4")
    exp, src = load_experiment(write(tmp_path, text))
    plan = make_plan(exp, src)
    assert len(plan.points) == expected
    assert plan.points["decision.w_cost"].between(1.5, 3.0).all()
    assert plan.points["population.segments.*.fear"].between(0.5, 1.5).all()


BAD = [
    ('replicates = 0', "replicates = 0"),
    ('replicatse = 3', "replicatse: unknown field"),
    ('outcomes = ["happiness"]', "unknown outcome 'happiness'"),
    ('[uncertainties]\n"decision.w_cost" = [1.0, 2.0]\n[design]\nkind = "sobol"\nsamples = 100', "design.samples = 100"),
    ('[design]\nkind = "grid"', "design.kind"),
    ('[uncertainties]\n"decision.w_cost" = [3.0, 1.0]', "uncertainties.decision.w_cost"),
    ('[uncertainties]\n"decision.w_cost" = [1.0, 30.0]', "uncertainties.decision.w_cost = 30.0"),
    ('[uncertainties]\n"decision.w_kost" = [1.0, 2.0]', "decision.w_kost"),
    ('[levers]\ninterventions = ["free_lunch"]', "unknown intervention 'free_lunch'"),
    ('[set]\n"population.customers" = 5', "population.customers = 5"),
    ('customers = 3', "customers = 3"),
    ('[levers]\nvariants = ["nope"]', "unknown variant 'nope'"),
    ('scenario = "atlantis"', "unknown scenario 'atlantis'"),
    ('seed = "one"', "seed"),
    ('[ab]\ntreatment = ["outreach_camps"]', "ab.treatment"),
    ('this is = not toml', "not valid TOML"),
    ('report = "sensitivity"', "report = 'sensitivity' needs design.kind"),
]


@pytest.mark.parametrize("text, needle", BAD)
def test_malformed_experiment_files_give_one_line_naming_the_field(tmp_path, text, needle):
    head = "" if text.startswith("scenario") else 'scenario = "aravind"\n'
    path = write(tmp_path, f'name = "bad"\n{head}{text}\n', "bad.toml")
    with pytest.raises(CxError) as info:
        make_plan(*load_experiment(path))
    msg = str(info.value)
    assert "\n" not in msg and needle in msg and msg.startswith("bad.toml"), msg
    if "unknown field" not in needle and "TOML" not in needle and "scenario" not in needle:
        assert len(msg) < 300


def test_cli_reports_a_malformed_file_in_one_line(tmp_path, capsys):
    path = write(tmp_path, 'scenario = "aravind"\n[design]\nkind = "lhs"\n', "bad.toml")
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "needs at least one uncertainty with a range" in err


def test_ready_made_experiments_are_valid():
    names = list_experiments()
    assert {"aravind_waterfall", "bass", "aravind_sensitivity", "ab_free_transport"} <= set(names)
    for name in names:
        exp, src = load_experiment(name)
        assert len(make_plan(exp, src).tasks) > 0


def test_results_are_identical_whatever_the_number_of_workers(tmp_path):
    path = write(tmp_path, SMALL_EXPERIMENT)
    one = run_experiment(path, tmp_path / "one", workers=1, report=False, progress=False)
    two = run_experiment(path, tmp_path / "two", workers=2, report=False, progress=False)
    pd.testing.assert_frame_equal(one.runs, two.runs)
    pd.testing.assert_frame_equal(load_timeseries(tmp_path / "one"), load_timeseries(tmp_path / "two"))
    assert len(one.runs) == 16 and one.runs["key"].is_unique


def test_sweep_cli_writes_queryable_results_and_a_manifest(tmp_path, capsys):
    path = write(tmp_path, SMALL_EXPERIMENT)
    out = tmp_path / "res"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "--replicates", "1"]) == 0
    printed = capsys.readouterr().out
    assert "8 of 8 runs" in printed
    runs = load_results(out)
    assert len(runs) == 8 and list(runs["run"]) == list(range(8))
    by_policy = query(out, 'SELECT policy, avg(acceptance_rate) AS a FROM runs GROUP BY policy ORDER BY a')
    assert list(by_policy["policy"]) == ["baseline", "free_transport+free_medicine"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["finished"] == 8 == manifest["planned"] and manifest["seeds"] == [3]
    assert manifest["cxsim_version"] == cxsim.__version__ and "git_hash" in manifest
    assert manifest["scenario"]["population"]["customers"] == 500
    assert {p.name for p in out.iterdir()} >= {"summary.csv", "figure.png", "report.md", "differences.csv"}
    # a second sweep into the same folder needs --resume, which then has nothing left to do
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "--replicates", "1"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "--replicates", "1", "--resume"]) == 0
    assert "0 run now, 8 already there" in capsys.readouterr().out
    # a changed experiment is not mixed into old results
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "--replicates", "1", "--customers", "400", "--resume"]) == 2
    assert "does not plan" in capsys.readouterr().err


def test_bass_check_matches_the_discrete_recursion_and_converges_to_the_closed_form(tmp_path):
    res = run_experiment("bass", tmp_path / "bass", workers=1, customers=4000, replicates=3, progress=False)
    table = res.tables["bass"].set_index("steps_per_period")
    assert (table["largest_gap_discrete"].abs() < 0.03).all()  # sampling noise of 4,000 customers
    gaps = table["largest_gap_closed_form"].abs()
    assert gaps.loc[1.0] > 0.08 and gaps.loc[10.0] < 0.025  # the discretisation gap shrinks like 1/k
    assert (res.out / "figure.png").stat().st_size > 10_000


def test_bass_formulas():
    t = np.linspace(0, 30, 61)
    f = bass_curve(t, 0.03, 0.38)
    assert f[0] == 0 and f[-1] == pytest.approx(1, abs=1e-4)
    peak = t[np.argmax(np.gradient(f, t))]
    assert peak == pytest.approx(math.log(0.38 / 0.03) / 0.41, abs=0.3)
    fine = bass_discrete(3000, 0.03 / 100, 0.38 / 100)[::100]
    assert np.abs(fine - bass_curve(np.arange(31), 0.03, 0.38)).max() < 0.002


def test_parse_accepts_nested_or_dotted_paths():
    a = parse_experiment({"set": {"decision": {"w_cost": 2.0}}, "uncertainties": {"decision": {"w_fear": [1, 2]}}})
    b = parse_experiment({"set": {"decision.w_cost": 2.0}, "uncertainties": {"decision.w_fear": {"lo": 1, "hi": 2}}})
    assert a == b


def test_the_pool_runs_every_task_once_while_this_process_works_until_it_has_started():
    from cxsim.experiments.core import make_tasks
    from cxsim.experiments.runner import _pool, run_task

    base = cxsim.load_scenario("aravind").with_overrides({"population.customers": 300, "steps": 8})
    tasks = make_tasks(base, [{}], list(range(12)), None, False)
    seen: list[int] = []
    _pool(base, tasks, lambda result: seen.append(result[0]["seed"]), 2)
    assert sorted(seen) == list(range(12))
    serial = {t.seed: run_task(base, t)[0] for t in tasks}
    again: dict[int, dict] = {}
    _pool(base, tasks, lambda result: again.__setitem__(result[0]["seed"], result[0]), 2)
    pd.testing.assert_frame_equal(pd.DataFrame([again[s] for s in range(12)]), pd.DataFrame([serial[s] for s in range(12)]))  # NaN-aware
