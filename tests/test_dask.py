"""Sweeps on a Dask cluster give exactly the local results (one LocalCluster for the module)."""

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from cxsim.experiments import load_timeseries, run_experiment, run_many  # noqa: E402
from cxsim.experiments.runner import SCHEDULER_ENV  # noqa: E402

EXPERIMENT = """
name = "on_dask"
scenario = "aravind"
customers = 500
steps = 12
replicates = 2
seed = 5
[uncertainties]
"decision.w_fear" = [1.0, 3.0]
[levers]
interventions = ["free_transport"]
[design]
kind = "lhs"
samples = 3
"""


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


def test_run_many_on_dask_equals_local(cluster, small):
    sc = small.with_overrides({"population.customers": 500, "steps": 12})
    points = [{"decision.w_cost": 1.5}, {"decision.w_cost": 3.0}]
    local = run_many(sc, points, seeds=[1, 2])
    remote = run_many(sc, points, seeds=[1, 2], scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(local.runs, remote.runs)
    pd.testing.assert_frame_equal(local.timeseries, remote.timeseries)


def test_sweep_uses_the_scheduler_from_the_environment(cluster, tmp_path, monkeypatch):
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT)
    local = run_experiment(path, tmp_path / "local", workers=1, scheduler=None, report=False, progress=False)
    monkeypatch.setenv(SCHEDULER_ENV, cluster.scheduler_address)
    remote = run_experiment(path, tmp_path / "dask", report=False, progress=False)
    assert len(remote.runs) == 3 * 2 * 2
    pd.testing.assert_frame_equal(local.runs, remote.runs)
    pd.testing.assert_frame_equal(load_timeseries(tmp_path / "local"), load_timeseries(tmp_path / "dask"))


def test_an_unreachable_scheduler_is_one_clear_error(tmp_path, monkeypatch):
    from cxsim import CxError

    monkeypatch.setenv("CXSIM_SCHEDULER_TIMEOUT", "1")
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT)
    with pytest.raises(CxError, match="cannot reach the Dask scheduler"):
        run_experiment(path, tmp_path / "nowhere", scheduler="tcp://127.0.0.1:9", report=False, progress=False)
