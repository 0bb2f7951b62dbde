"""cxsim.ema: an EMA Workbench Model from a scenario's declarations, and PRIM's box of where a plan fails."""

import json

import numpy as np
import pytest

from cxsim import ema, posterior
from cxsim.cli import main
from cxsim.state.params import CxError

SMALL = {"customers": 300, "steps": 10}
PLAN = {"interventions.free_transport.enabled": True}


def test_model_takes_its_ranges_from_the_declarations_and_runs_in_ema():
    import ema_workbench as w

    model = ema.ema_model("aravind", ["decision.w_cost", "decision.w_fear"], levers=["free_transport", "free_transport.subsidy"],
                          outcomes=["acceptance_rate"], **SMALL)
    ranges = {u.name: (u.lower_bound, u.upper_bound) for u in model.uncertainties}
    assert ranges == {"decision__w_cost": (0.0, 20.0), "decision__w_fear": (0.0, 20.0)}  # as declared in cxsim.engine.scenario
    assert [lv.name for lv in model.levers] == ["free_transport", "interventions__free_transport__subsidy"]
    with w.SequentialEvaluator(model) as ev:
        experiments, outcomes = w.perform_experiments(model, scenarios=2, policies=2, evaluator=ev)
    acc = outcomes["acceptance_rate"]
    assert len(experiments) == 4 and np.all((acc >= 0) & (acc <= 1))


def test_ranges_come_from_the_posterior_or_a_narrower_given_range():
    post = posterior.Posterior({"decision.w_cost": np.array([1.0, 2.5, 3.0])}, np.ones(3))
    assert ema.parameter_ranges("aravind", posterior=post) == {"decision.w_cost": (1.0, 3.0)}
    assert ema.parameter_ranges("aravind", {"decision.w_cost": (0.5, 5)}) == {"decision.w_cost": (0.5, 5.0)}
    with pytest.raises(CxError, match="within its declared range 0 to 20"):
        ema.parameter_ranges("aravind", {"decision.w_cost": (0, 99)})
    with pytest.raises(CxError, match="no parameter 'w_nothing'"):
        ema.parameter_ranges("aravind", ["decision.w_nothing"])


def test_prim_finds_the_region_where_a_plan_fails():
    # w_fear has no part in whether free transport's plan meets the goal at w_cost's extremes; PRIM must name w_cost
    found = ema.where_plan_fails("aravind", PLAN, "acceptance_rate >= 0.1", uncertainties={"decision.w_cost": (0.0, 6.0), "decision.w_fear": (0.0, 0.5)},
                                 n=60, **SMALL)
    assert 0 < found.failures < 60
    assert "decision.w_cost" in found.limits
    above, below = found.limits["decision.w_cost"]
    assert above is not None and below is None  # fails where cost weighs more
    inside = found.x["decision.w_cost"] > above
    assert found.coverage == pytest.approx(found.y[inside].sum() / found.y.sum())
    assert found.mass == pytest.approx(inside.mean())
    assert found.sentence.startswith(f"fails when w_cost > {above:.3g}: {found.coverage:.0%} of failures, in {found.mass:.0%} of parameter sets")


def test_discover_over_a_posterior_file_and_bad_input(tmp_path, capsys):
    rng = np.random.default_rng(2)
    path = posterior.save(posterior.Posterior({"decision.w_cost": rng.uniform(0, 6, 100)}, np.ones(100)), tmp_path / "p.posterior.parquet")
    args = ["discover", "aravind", "-i", "free_transport", "--goal", "acceptance_rate >= 0.1", "--posterior", str(path),
            "--draws", "30", "--customers", "300", "--steps", "10", "--json"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["over"] == "posterior draws" and doc["sets"] == 30 and str(path) in doc["caption"]
    assert main(["discover", "telco_churn", "--goal", "retention >= 0.5"]) == 2  # telco_churn ships no posterior
    assert "has no posterior" in capsys.readouterr().err
    assert main(["discover", "aravind", "--goal", "acceptance_rate >= 0.1", "--vary", "decision.w_cost=0:99"]) == 2
    assert "declared range 0 to 20" in capsys.readouterr().err
