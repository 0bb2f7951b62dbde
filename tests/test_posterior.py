"""The posterior file format: weighted parameter sets kept beside a scenario (cxsim.posterior)."""

import numpy as np
import pytest

from cxsim import posterior
from cxsim.state.params import CxError


def _sample(n=400, seed=3):
    rng = np.random.default_rng(seed)
    return posterior.Posterior({"decision.w_cost": rng.normal(3.0, 0.5, n), "decision.intercept": rng.normal(1.0, 1.0, n)},
                               rng.random(n), {"scenario": "aravind", "command": "test"})


def test_round_trip_keeps_values_weights_and_record(tmp_path):
    post = _sample()
    back = posterior.read(posterior.save(post, tmp_path / "x.posterior.parquet"))
    assert back.parameters == post.parameters
    np.testing.assert_array_equal(back.weights, post.weights)
    np.testing.assert_array_equal(back.samples["decision.w_cost"], post.samples["decision.w_cost"])
    assert back.meta == {"scenario": "aravind", "command": "test"}


def test_draws_are_reproducible_and_follow_the_weights():
    n = 2000
    vals = np.arange(n, dtype=float)
    w = np.where(vals < n / 2, 3.0, 1.0)          # the lower half three times as likely
    post = posterior.Posterior({"x.a": vals, "hyper": vals}, w)
    d1, d2 = post.draws(400, seed=7), post.draws(400, seed=7)
    assert d1 == d2 and d1 != post.draws(400, seed=8)
    assert set(d1[0]) == {"x.a"}                 # draws are scenario overrides: the inference's own columns stay out
    low = np.mean([d["x.a"] < n / 2 for d in d1])
    assert abs(low - 0.75) <= 1 / 400           # systematic resampling: within one draw of the weights


def test_weighted_quantiles_and_effective_size():
    post = posterior.Posterior({"a": np.array([0.0, 1.0, 2.0, 3.0])}, np.array([1.0, 1.0, 1.0, 1.0]))
    assert post.effective_size == pytest.approx(4.0)
    assert post.quantiles("a", (0.5,))[0] == pytest.approx(1.5)
    skewed = posterior.Posterior({"a": np.array([0.0, 1.0])}, np.array([1.0, 0.0]))
    assert skewed.effective_size == pytest.approx(1.0)


def test_bad_files_and_weights_are_one_line(tmp_path):
    bad = tmp_path / "bad.posterior.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(CxError, match="not a readable Parquet file"):
        posterior.read(bad)
    with pytest.raises(CxError, match="weights"):
        posterior.Posterior({"a": np.array([1.0, 2.0])}, np.array([-1.0, 0.5]))
    with pytest.raises(CxError, match="draws = 0"):
        _sample().draws(0)


def test_where_a_posterior_lives(tmp_path):
    assert posterior.path_for("aravind").name == "aravind.posterior.parquet"
    assert posterior.path_for(tmp_path / "mine.toml") == tmp_path / "mine.posterior.parquet"
    assert posterior.load(tmp_path / "mine.toml") is None
