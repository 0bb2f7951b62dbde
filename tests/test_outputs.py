"""Correct internals and outputs that survive: draws in [0, 1), many segments, columnar run outputs."""

import numpy as np
import pytest

import cxsim
from cxsim import randomness
from cxsim.scenario import scenario_dict, validate_scenario

M64 = 2**64 - 1


# -- uniform draws exactly in [0, 1) --------------------------------------------------------------
def _unxorshift(y: int, shift: int) -> int:
    x = y
    for _ in range(64 // shift + 1):
        x = y ^ (x >> shift)
    return x


def splitmix_preimage(out: int) -> int:
    """The state whose SplitMix64 finaliser is ``out`` (the finaliser is a bijection of uint64)."""
    x = _unxorshift(out, 31)
    x = (x * pow(int(randomness._MIX2), -1, 2**64)) & M64
    x = _unxorshift(x, 27)
    x = (x * pow(int(randomness._MIX1), -1, 2**64)) & M64
    return _unxorshift(x, 30)


WORST = [((2**53 - 1) << 11) | low for low in (0, 1, 2**10, 2**11 - 1)]  # top 53 bits all ones
NEAR_ONE = [((2**53 - k) << 11) for k in (1, 2, 2**27, 2**28, 2**29 + 1)]  # fractions within 2**-25 of 1 and just below


def test_splitmix_preimage_inverts_the_finaliser():
    for out in WORST + [0, 1, 12345678901234567]:
        state = np.array([splitmix_preimage(out)], dtype=np.uint64)
        assert int(randomness._splitmix(state)[0]) == out


@pytest.mark.parametrize("bits", WORST + NEAR_ONE)
def test_unit_is_below_one_for_the_worst_states(bits):
    u = randomness._to_unit(np.uint64(bits))
    assert 0 <= u < 1 and u <= np.float32(1 - 2**-24)
    state = np.uint64(splitmix_preimage(bits))
    assert randomness._unit(state) == u


def test_kernels_fed_the_worst_state_stay_in_range_and_finite():
    for bits in WORST:
        base = np.uint64(splitmix_preimage(bits))  # customer 0 at counter 0 draws from state == base
        ids = np.array([0], dtype=np.int64)
        u = randomness._uniform_at(ids, base, 0)[0]
        assert u == np.float32(1 - 2**-24)
        e = randomness._exponential_at(ids, base, 0)[0]
        assert np.isfinite(e) and 16 < e < 17  # −log(2**-24) ≈ 16.6
        assert randomness._uniform_counted(ids, np.zeros(1, dtype=np.int64), base)[0] == u
        assert randomness._uniform_next(ids, np.zeros(1, dtype=np.int64), base)[0] == u


def test_the_clamp_leaves_ordinary_draws_as_they_were():
    x = np.arange(1, 200_001, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    fractions = (x >> np.uint64(11)).astype(np.float64) * 2.0**-53
    exact = fractions.astype(np.float32)
    got = np.array([randomness._to_unit(v) for v in x[:2000]])
    assert np.array_equal(got, exact[:2000])
    assert np.array_equal(randomness._uniform_at(np.arange(50_000), np.uint64(7), 3),
                          np.minimum(_reference_uniform(np.arange(50_000), 7, 3), np.float32(1 - 2**-24)))


def _reference_uniform(ids, base, counter):
    with np.errstate(over="ignore"):  # wrapping uint64 arithmetic, as in the kernels
        key = np.uint64(base) + np.uint64(counter) * randomness._COUNTER
    state = ids.astype(np.uint64) * randomness._GOLDEN ^ key
    bits = randomness._splitmix(state)
    return ((bits >> np.uint64(11)).astype(np.float64) * 2.0**-53).astype(np.float32)


# -- any number of segments -------------------------------------------------------------------------
SEGMENTS = 200


def many_segments(order: list[int], distinct: bool) -> cxsim.Scenario:
    """Aravind with 200 equal-share segments listed in ``order``; ``distinct``: each its own reach and wage."""
    data = scenario_dict(cxsim.load_scenario("aravind"))
    base = data["population"]["segments"]["labourers"]
    segs = {}
    for k in order:
        seg = dict(base, share=1 / SEGMENTS)
        if distinct:
            seg.update(reach=0.5 + k / 100, daily_wage=1.0 + k)
        segs[f"s{k:03d}"] = seg
    data["population"] = {**data["population"], "customers": 20_000, "segments": segs}
    return validate_scenario({**data, "steps": 20})


def test_200_identical_segments_in_any_order_give_identical_results():
    """The segment index only picks attributes: listing identical segments in another order changes nothing but labels."""
    forward = list(range(SEGMENTS))
    shuffled = list(np.random.default_rng(5).permutation(SEGMENTS))
    a, b = (cxsim.run(many_segments(o, distinct=False), seed=3) for o in (forward, shuffled))
    numbers = [k for k, v in a.summary.items() if isinstance(v, (int, float))]
    assert {k: a.summary[k] for k in numbers} == {k: b.summary[k] for k in numbers}
    # customer i is in the i-th listed bin in both runs: its segment name maps through the permutation
    codes_a = a.model.customers.segment.astype(int)
    codes_b = b.model.customers.segment.astype(int)
    assert np.array_equal(codes_a, codes_b) and codes_a.max() >= 190  # indices beyond int8 are held
    names_b = np.array(b.scenario.segment_names)[codes_b]
    assert np.array_equal(names_b, np.array([f"s{shuffled[k]:03d}" for k in codes_a]))


def test_200_distinct_segments_keep_their_own_attributes_in_any_order():
    """Each customer carries its own segment's attributes (by name), and segments have their share, whatever the order."""
    n = 20_000
    for order in (list(range(SEGMENTS)), list(range(SEGMENTS))[::-1]):
        res = cxsim.run(many_segments(order, distinct=True), seed=3)
        table = res.customers
        k = table["segment"].astype(str).str[1:].astype(int).to_numpy()
        assert np.allclose(table["reach"], (0.5 + k / 100).astype(np.float32))
        median_wage = table.groupby(k)["daily_wage"].median()
        assert np.corrcoef(median_wage.index, median_wage.to_numpy())[0, 1] > 0.99
        sizes = table["segment"].value_counts()
        assert len(sizes) == SEGMENTS
        sd = np.sqrt(n / SEGMENTS * (1 - 1 / SEGMENTS))
        assert (abs(sizes - n / SEGMENTS) < 5 * sd).all()  # binomial: 100 ± 5 sd for every segment


def test_more_segments_than_the_index_holds_is_one_clear_error():
    from cxsim import CxError
    from cxsim.agents import populate
    from cxsim.randomness import Streams

    class Tiny:  # just what populate reads: more segments than int16 holds
        class population:
            customers = 10
            segments = {f"s{k}": None for k in range(2**15)}

    with pytest.raises(CxError, match="segments"):
        populate(Tiny, Streams(1))
