"""Set-up draws: threaded and compiled, the same population and ties as the plain numpy formulas."""

import numpy as np

import cxsim
from cxsim.state import agents
from cxsim.state.network import VillageTies
from cxsim.state.randomness import Streams


def test_threaded_draws_give_the_same_population(monkeypatch):
    sc = cxsim.load_scenario("telco_churn").with_overrides({"population.customers": 20_000})
    monkeypatch.setattr(agents, "THREADED_FROM", 10**9)
    serial = agents.populate(sc, Streams(4))
    monkeypatch.setattr(agents, "THREADED_FROM", 1)
    threaded = agents.populate(sc, Streams(4))
    assert serial.rows.tobytes() == threaded.rows.tobytes()
    for name in agents.STATE:
        assert np.array_equal(getattr(serial, name), getattr(threaded, name), equal_nan=True), name


def test_beta_kernel_draws_what_numpy_draws():
    sc = cxsim.load_scenario("aravind").with_overrides({"population.customers": 5000})
    c = agents.populate(sc, Streams(9))
    segs = list(sc.population.segments.values())
    for attr in agents.BETA_ATTRIBUTES:
        m = np.clip(np.array([getattr(s, attr) for s in segs], dtype=np.float32)[c.segment], 1e-3, 1 - 1e-3)
        k = sc.population.concentration
        expected = Streams(9).generator(f"population:{attr}").beta(m * k, (1 - m) * k).astype(np.float32)
        assert np.array_equal(getattr(c, attr), expected), attr


def test_village_ties_are_numpys_formula():
    n, k, size = 1037, 5, 100  # a short last village
    net = VillageTies(n, k, size, Streams(3))
    n_villages = max(1, n // size)
    ids = np.arange(n, dtype=np.int32)
    village = np.minimum(ids // size, n_villages - 1)
    start = village * np.int32(size)
    members = np.where(village == n_villages - 1, n - start, size).astype(np.int32)
    draw = Streams(3).generator("network").random((n, k), dtype=np.float32)
    draw *= (members - 1)[:, None]
    ties = draw.astype(np.int32)
    ties += ties >= (ids - start)[:, None]
    ties += start[:, None]
    assert np.array_equal(net.ties, ties) and np.array_equal(net.village, village)
    assert np.array_equal(net.listen_weight, (1.0 / np.maximum(np.bincount(ties.ravel(), minlength=n), 1)).astype(np.float32))
    assert not (net.ties == ids[:, None]).any()  # nobody talks to themselves
