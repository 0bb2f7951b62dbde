"""SALib sampling and analysis through cxsim's wrappers, on functions with known sensitivity indices."""

import numpy as np
import pytest

from cxsim.experiments import morris_indices, sobol_indices
from cxsim.experiments.design import salib_sample

PI = np.pi
ISHIGAMI = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-PI, PI]] * 3}


def ishigami(x, a=7.0, b=0.1):
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_indices_of_the_ishigami_function():
    """Analytic values (a = 7, b = 0.1): S1 = 0.314, 0.442, 0; ST = 0.558, 0.442, 0.244."""
    x = salib_sample("sobol", ISHIGAMI, 2048, seed=1)
    t = sobol_indices(ISHIGAMI, ishigami(x), seed=1).set_index("parameter")
    assert t["S1"].to_numpy() == pytest.approx([0.314, 0.442, 0.0], abs=0.04)
    assert t["ST"].to_numpy() == pytest.approx([0.558, 0.442, 0.244], abs=0.04)
    assert (t["S1_conf"] > 0).all() and (t["S1_conf"] < 0.1).all()
    for name, st in zip(["x1", "x2", "x3"], [0.558, 0.442, 0.244]):
        assert abs(t.loc[name, "ST"] - st) < 3 * t.loc[name, "ST_conf"] + 0.01


def test_sobol_indices_of_a_linear_function():
    """y = 4·x1 + 2·x2 + 0·x3 on U(0,1): S_i = a_i² / Σ a² = 0.8, 0.2, 0 (first order = total)."""
    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1]] * 3}
    x = salib_sample("sobol", problem, 1024, seed=2)
    t = sobol_indices(problem, 4 * x[:, 0] + 2 * x[:, 1], seed=2)
    assert t["S1"].to_numpy() == pytest.approx([0.8, 0.2, 0.0], abs=0.03)
    assert t["ST"].to_numpy() == pytest.approx([0.8, 0.2, 0.0], abs=0.03)


def test_morris_ranks_parameters_by_their_effect():
    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1]] * 3}
    x = salib_sample("morris", problem, 40, seed=3, levels=4)
    t = morris_indices(problem, x, 4 * x[:, 0] + 2 * x[:, 1] + 0.0 * x[:, 2], levels=4, seed=3).set_index("parameter")
    assert t["mu_star"].to_numpy() == pytest.approx([4, 2, 0], abs=1e-9)  # linear: elementary effects are the slopes
    assert (t["sigma"] < 1e-9).all()


def test_latin_hypercube_fills_every_stratum():
    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 10], [5, 6]]}
    x = salib_sample("lhs", problem, 50, seed=4)
    for j, (lo, hi) in enumerate(problem["bounds"]):
        strata = np.floor((x[:, j] - lo) / (hi - lo) * 50).astype(int)
        assert sorted(strata) == list(range(50))
