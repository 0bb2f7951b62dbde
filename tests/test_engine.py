"""Rules on hand-made arrays, invariants, determinism and common random numbers."""

import numpy as np
import pytest

import cxsim
from cxsim.engine.scenario import Decision
from cxsim.rules import barriers, emotions
from cxsim.rules.journey import Stage
from cxsim.state.randomness import Streams


def _two_customers(**state):
    from cxsim.state.agents import Customers

    c = Customers(2)
    c.daily_wage[:], c.trust[:], c.need[:] = 1.0, 1.0, 1.0
    for name, values in state.items():
        getattr(c, name)[:] = values
    return c


def test_binding_reason_is_the_largest_barrier():
    from cxsim.rules.relief import Relief

    d = Decision(w_cost=1.0, w_fear=2.0, w_distance=1.0, w_distrust=1.0, w_need=1.0, cost_reference_days=1.0)
    c = _two_customers(fear=[0.1, 0.9], distance=[10.0, 10.0], reports=[0.0, 10.0])
    c.ledger[0, barriers.CASH_COSTS.index("transport")] = 100.0
    terms, p, reason = barriers.assess(d, c, np.arange(2), Relief(n=2))
    assert terms[0, 0] == pytest.approx(np.log(101.0), rel=1e-5)
    assert terms[1, 1] == pytest.approx(2.0 * 0.9)
    assert terms[1, 2] == pytest.approx(0.1)
    assert [barriers.BARRIERS[r] for r in reason] == ["cost", "fear"]
    u = np.log(p / (1 - p))  # logit recovers the utility
    assert u[1] - (d.intercept - terms[1].sum()) == pytest.approx(d.w_social * d.social_cap, rel=1e-4)
    assert u[0] == pytest.approx(d.intercept - terms[0].sum(), rel=1e-4)


def test_relief_scales_fear_distrust_and_adds_insight():
    from cxsim.rules.relief import Relief

    d = Decision()
    c = _two_customers(fear=[0.8, 0.8], trust=[0.5, 0.5], need=[0.2, 0.2], latent_need=[0.6, 0.6])
    relief = Relief(n=2, fear=np.array([1.0, 0.5], dtype=np.float32), distrust=np.array([1.0, 0.0], dtype=np.float32),
                    insight=np.array([0.0, 1.0], dtype=np.float32))
    terms, p, _ = barriers.assess(d, c, np.arange(2), relief)
    fear, distrust, low_need = (barriers.BARRIERS.index(b) for b in ("fear", "distrust", "low_need"))
    assert terms[1, fear] == pytest.approx(terms[0, fear] / 2)
    assert terms[1, distrust] == 0.0 < terms[0, distrust]
    assert terms[1, low_need] == pytest.approx(d.w_need * (1 - 0.8))
    assert p[1] > p[0]


def test_perceived_cost_discounts_wages_forgone_and_subtracts_relief():
    from cxsim.rules.relief import Relief

    d = Decision(w_forgone=0.5)
    ledger = np.zeros((2, len(barriers.CASH_COSTS)), dtype=np.float32)
    ledger[:, barriers.CASH_COSTS.index("transport")] = 10
    ledger[:, barriers.CASH_COSTS.index("own_wages")] = 10
    weights = barriers.perceived_weights(d)
    assert list(Relief(n=2).remaining(ledger, np.arange(2), weights)) == pytest.approx([15.0, 15.0])
    relief = Relief(n=2, cost_share={barriers.CASH_COSTS.index("transport"): np.array([0.0, 1.0], dtype=np.float32)})
    assert list(relief.remaining(ledger, np.arange(2), weights)) == pytest.approx([5.0, 15.0])
    assert list(relief.remaining(ledger, np.arange(2), barriers.CASH_SPENT)) == pytest.approx([0.0, 10.0])


def _coefficients(**emotions_set):
    from cxsim.engine.scenario import Emotions, Journey

    return emotions.coefficients(Emotions(**emotions_set), Journey())


def test_satisfaction_is_asymmetric_around_expectation():
    k = _coefficients(gain=1.0, loss_aversion=2.0, confirmed=0.7)
    s = emotions.satisfaction(np.array([0.7, 0.5, 0.3]), np.array([0.5, 0.5, 0.5]), k)
    assert s[1] == pytest.approx(0.7)
    assert s[1] - s[2] == pytest.approx(2 * (s[0] - s[1]), rel=1e-5)
    assert emotions.satisfaction(np.array([0.5]), np.array([0.5]), _coefficients(confirmed=0.6))[0] == pytest.approx(0.6)


def test_peak_end_memory_and_recommend_score():
    assert emotions.remembered(np.array([0.8]), np.array([0.2]))[0] == pytest.approx(0.5)
    assert emotions.remembered(np.array([0.8]), np.array([0.2]), peak_weight=0.75)[0] == pytest.approx(0.65)
    k = _coefficients(peak_end=0.5)
    score = emotions.recommend_score(np.array([1.0, 0.0]), np.array([1.0, -1.0]), np.array([1.0, -1.0]), 0.0, k)
    assert list(score) == [10, 0]
    # the peak weighs peak_weight: a bad peak with a good end
    sat, peak, end = np.array([0.5, 0.5]), np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    low, high = (emotions.recommend_score(sat, peak, end, 0.0, _coefficients(peak_end=1.0, peak_weight=w)) for w in (0.9, 0.1))
    assert list(low) == [1, 1] and list(high) == [9, 9]


def test_judged_performance_neglects_duration():
    """Duration neglect (Fredrickson & Kahneman 1993): more moments of the same kind change nothing; peak and end decide."""
    k = _coefficients()
    short, long = _two_customers(expectation=[0.6, 0.6]), _two_customers(expectation=[0.6, 0.6])
    ids = np.arange(2)
    for c, moments in ((short, 1), (long, 6)):
        for _ in range(moments):
            emotions.feel(c, ids, np.array([0.9, 0.5], dtype=np.float32), 1.0, k)
    assert np.allclose(emotions.judged(short, ids, k), emotions.judged(long, ids, k))
    # a better end lifts the judgement; the peak is the most intense moment
    c = _two_customers(expectation=[0.6, 0.6])
    emotions.feel(c, ids, np.array([0.1, 0.1], dtype=np.float32), 2.0, k)  # an intense dip: the peak
    emotions.feel(c, ids, np.array([0.65, 0.9], dtype=np.float32), 0.2, k)  # a mild end
    assert np.allclose(c.peak_perf, [0.1, 0.1]) and np.allclose(c.end_perf, [0.65, 0.9])
    assert np.allclose(emotions.judged(c, ids, k), [(0.1 + 0.65) / 2, (0.1 + 0.9) / 2])
    emotions.begin_episode(c, ids, k)
    assert np.all(np.isnan(emotions.judged(c, ids, k)))


def test_memory_of_earlier_episodes_fades_at_each_encounter():
    k = _coefficients(memory_decay=0.25)
    c = _two_customers(peak=[-0.8, 0.4], trough=[-0.8, 0.0])
    emotions.begin_episode(c, np.array([0]), k)
    assert c.peak[0] == pytest.approx(-0.6) and c.trough[0] == pytest.approx(-0.6) and c.peak[1] == pytest.approx(0.4)


def test_an_installed_base_remembers_what_its_satisfaction_says():
    k = _coefficients(peak_end=0.4)
    c = _two_customers()
    sat = np.array([0.3, 0.9], dtype=np.float32)
    emotions.seed_memory(c, np.arange(2), sat)
    assert np.allclose(c.peak, [-0.4, 0.8]) and np.allclose(c.end, c.peak)
    assert list(emotions.recommend_score(sat, c.peak, c.end, c.trough, k)) == [3, 9]


def test_streams_are_counter_based_and_stable():
    s = Streams(7)
    a = s.uniform("x", np.arange(1000), 3)
    assert np.array_equal(a[500:], s.uniform("x", np.arange(500, 1000), 3))
    assert not np.array_equal(a, s.uniform("y", np.arange(1000), 3))
    assert not np.array_equal(a, s.uniform("x", np.arange(1000), 4))
    assert 0.45 < a.mean() < 0.55 and a.min() >= 0 and a.max() < 1
    with pytest.raises(ValueError):
        Streams(-1)


def test_per_customer_counters_give_fresh_draws_each_time():
    s = Streams(7)
    counts = np.array([0, 5, 0, 2], dtype=np.int8)
    ids = np.array([1, 3])
    first = s.uniform_next("d", ids, counts)
    assert list(counts) == [0, 6, 0, 3]
    assert np.array_equal(first, s.uniform("d", ids, np.array([5, 2])))
    assert np.array_equal(s.uniform_next("d", ids, counts), s.uniform("d", ids, np.array([6, 3])))
    exp = s.exponential("e", np.arange(4000), 2)
    assert 0.95 < exp.mean() < 1.05 and exp.min() >= 0


def test_conclude_feels_the_outcome_then_judges_satisfaction_and_score():
    sc = cxsim.load_scenario("aravind")
    e, k = sc.emotions, emotions.coefficients(sc.emotions, sc.journey)
    state = dict(expectation=[0.6, 0.6], peak_perf=[0.9, 0.1], end_perf=[0.5, 0.7], episode_peak=[0.3, 0.4],
                 peak=[0.2, -0.4], end=[0.1, -0.4], trough=[0.0, -0.4])
    judged, felt = _two_customers(**state), _two_customers(**state)
    ids, good = np.arange(2), np.array([True, False])
    delta, score = emotions.conclude(judged, ids, good, k)
    core = np.array([1.0, sc.journey.poor_outcome], dtype=np.float32)
    expected = emotions.feel(felt, ids, core, sc.journey.core_weight, k)
    assert np.array_equal(delta, expected) and delta[0] > 0 > delta[1]
    assert np.array_equal(judged.peak, felt.peak) and np.array_equal(judged.end, felt.end)
    assert np.allclose(judged.peak_perf, state["peak_perf"]) and np.allclose(judged.end_perf, state["end_perf"])  # the outcome is not a touchpoint
    w, wp, we = sc.journey.core_weight, e.judge_peak, e.judge_end
    perf = (w * core + wp * np.array(state["peak_perf"]) + we * np.array(state["end_perf"])) / (w + wp + we)
    sat = emotions.satisfaction(perf, felt.expectation, k)
    assert np.allclose(judged.satisfaction, sat) and sat[0] > sat[1]
    assert np.array_equal(score, emotions.recommend_score(judged.satisfaction, felt.peak, felt.end, felt.trough, k))
    assert np.array_equal(judged.recommend, score)
def test_hearing_a_tie_moves_fear_and_trust_within_bounds():
    c = _two_customers(fear=[0.5, 0.95], trust=[0.02, 0.5])
    emotions.hear(c, np.array([0, 1]), fear_keep=1.0, fear_add=0.1, trust_add=-0.05)
    assert c.fear == pytest.approx([0.6, 1.0]) and c.trust == pytest.approx([0.0, 0.45])
    emotions.hear(c, np.array([1]), fear_keep=0.5, fear_add=0.0, trust_add=0.6)
    assert c.fear == pytest.approx([0.6, 0.5]) and c.trust == pytest.approx([0.0, 1.0])


def test_grid_draws_are_the_draws_of_each_customers_slots():
    s = Streams(3)
    ids = np.array([4, 0, 9])
    grid = s.uniform_grid("tell", ids, 6, 2)
    slots = (ids[:, None] * 6 + np.arange(6)).ravel()
    assert grid.shape == (3, 6) and np.array_equal(grid.ravel(), s.uniform("tell", slots, 2))


def test_row_entries_are_views_of_one_row_per_customer():
    from cxsim.state.agents import ROW, STATE, Customers

    c = Customers(5)
    assert set(ROW) - {"ledger"} <= set(STATE)
    for name in ROW:
        assert np.shares_memory(getattr(c, name), c.rows)
    c.fear[3] = 0.25
    c.ledger[3, 1] = 7.0
    assert c.rows["fear"][3] == np.float32(0.25) and c.rows["ledger"][3, 1] == 7.0 and c.row(3)["cost_transport"] == 7.0
    assert not np.shares_memory(c.aware_budget, c.rows) and not np.shares_memory(c.stage, c.rows)
    unpadded = sum(np.dtype(STATE[k][0]).itemsize for k in STATE) + c.ledger.itemsize * c.ledger.shape[1]
    assert c.nbytes() == 5 * unpadded  # the row adds no padding


@pytest.fixture(scope="module")
def freed_run(small):
    return cxsim.run(small.variant("aravind_1980s"), 5)


def test_every_customer_is_in_exactly_one_stage(freed_run):
    m = freed_run.model
    counts = np.bincount(m.customers.stage, minlength=len(Stage))
    assert np.array_equal(counts, m.counts)
    assert counts.sum() == m.customers.n
    ts = freed_run.timeseries
    stage_cols = [f"n_{s.name.lower()}" for s in Stage]
    assert (ts[stage_cols].sum(axis=1) == m.customers.n).all()


def test_rates_in_unit_interval_and_counts_conserved(freed_run):
    s = freed_run.summary
    for k in ("reach", "acceptance_rate", "completion_rate", "satisfaction", "mean_loyalty", "retention", "follow_up_rate"):
        assert 0.0 <= s[k] <= 1.0, k
    assert -100 <= s["nps"] <= 100
    assert s["served"] <= s["accepted"] <= s["offered"] <= s["customers"]
    f = freed_run.funnel.set_index("milestone")["customers"]
    assert (np.diff(f[["aware", "offered", "accepted", "served"]].to_numpy()) <= 0).all()
    decided_no = sum(s["dropout_reasons"].values())
    assert decided_no == s["stage_counts"]["declined"] + s["stage_counts"]["dropped"] + s["stage_counts"]["churned"]
    ts = freed_run.timeseries
    assert ts["accepted"].is_monotonic_increasing and ts["referrals"].is_monotonic_increasing


def test_same_scenario_and_seed_give_identical_results(small):
    a, b = cxsim.run(small, 11), cxsim.run(small, 11)
    assert a.summary == b.summary
    assert a.timeseries.equals(b.timeseries)
    assert a.customers.equals(b.customers)
    assert cxsim.run(small, 12).summary != a.summary


def test_zero_coverage_intervention_changes_nothing(small):
    base = cxsim.run(small.variant("baseline"), 4)
    for iv in ("free_transport", "counselling", "outreach_camps", "free_follow_up"):
        off = small.variant("baseline").with_interventions([iv]).with_overrides({f"interventions.{iv}.coverage": 0.0, f"interventions.{iv}.cost_per_step": 0.0})
        res = cxsim.run(off, 4)
        assert res.summary["acceptance_rate"] == base.summary["acceptance_rate"], iv
        assert res.customers.drop(columns=[]).equals(base.customers), iv


def test_intervention_changes_only_through_its_effect(small):
    """CRN: population and network are identical with and without an intervention."""
    a = cxsim.CxModel(small.variant("baseline"), seed=3)
    b = cxsim.CxModel(small.variant("aravind_1980s"), seed=3)
    for name in ("daily_wage", "distance", "fear", "aware_budget"):
        assert np.array_equal(getattr(a.customers, name), getattr(b.customers, name))
    assert np.array_equal(a.net.ties, b.net.ties)


def test_customer_agent_views_one_customer(freed_run):
    m = freed_run.model
    agent = m.customer(0)
    assert agent.stage == m.stage_of(0)
    assert agent.segment in m.pars.segment_names
    assert sum(agent.ledger().values()) > 0
    assert "Customer 0" in agent.story()
    with pytest.raises(cxsim.CxError):
        m.customer(10**9)


def test_fully_mixed_network_and_no_ties_scenario_run(small):
    res = cxsim.run(small.with_overrides({"network.kind": "fully_mixed", "steps": 10}), 1)
    assert res.summary["steps"] == 10


def test_overrides_keep_every_intervention_parameter(aravind):
    changed = aravind.with_overrides({"interventions.free_transport.escort": 0.25}).variant("aravind_1980s")
    assert changed.interventions["free_transport"].escort == 0.25
    assert changed.interventions["counselling"].cost_per_use == aravind.interventions["counselling"].cost_per_use
    assert changed.interventions["free_transport"].enabled and not changed.interventions["counselling"].enabled


def _same_outcomes(a, b) -> None:
    assert a.summary == b.summary
    assert a.timeseries.equals(b.timeseries)


def test_population_drawn_in_slices_is_the_population_drawn_at_once(small, monkeypatch):
    from cxsim.state import tallies as state

    whole = cxsim.run(small, 6)
    monkeypatch.setattr(state, "SLICE", 37)  # many slices, none aligned with anything
    sliced = cxsim.run(small, 6)
    _same_outcomes(whole, sliced)
    assert whole.customers.equals(sliced.customers)


def test_the_ledger_keeps_only_the_kinds_the_scenario_prices(small):
    m = cxsim.CxModel(small, seed=2)
    c = m.customers
    assert small.costs.price == 0 and "price" not in c.cost_kinds and c.ledger.shape[1] == len(c.cost_kinds)
    assert np.all(c.cost("price") == 0) and np.array_equal(c.cost("transport"), c.ledger[:, c.cost_kinds.index("transport")])
    full = c.full_ledger()
    assert full.shape == (c.n, len(barriers.CASH_COSTS))
    assert np.array_equal(full[:, list(c.ledger_columns)], c.ledger) and np.all(full[:, barriers.CASH_COSTS.index("price")] == 0)
    priced = cxsim.CxModel(small.with_overrides({"costs.price": 10.0}), seed=2).customers
    assert "price" in priced.cost_kinds and np.all(priced.cost("price") == np.float32(10.0))
    free = cxsim.CxModel(small.with_overrides({f"costs.{k}": 0.0 for k in ("price", "fare_per_km", "food_per_day", "lodging_per_day",
                                                                         "medicine", "stay_days", "follow_up_trips")}), seed=2).customers
    assert free.cost_kinds == () and free.ledger.shape == (free.n, 0)


def test_an_attribute_no_mechanism_reads_is_not_drawn_and_changes_no_result(small, monkeypatch):
    from cxsim.engine.scenario import Scenario

    weightless = small.with_overrides({"decision.w_fear": 0.0, "decision.w_distrust": 0.0, "decision.w_need": 0.0})
    assert weightless.unread_attributes() == {"fear", "trust", "need", "latent_need"}
    assert small.unread_attributes() == frozenset()
    skipped = cxsim.run(weightless, 8)
    means = {attr: np.array([getattr(s, attr) for s in weightless.population.segments.values()], dtype=np.float32)
             for attr in ("fear", "trust", "need")}
    c = cxsim.CxModel(weightless, seed=8).customers
    for attr, mean in means.items():
        assert np.array_equal(getattr(c, attr), mean[c.segment]), attr  # the segment's mean, not drawn
    monkeypatch.setattr(Scenario, "unread_attributes", lambda self: frozenset())
    drawn = cxsim.run(weightless, 8)
    _same_outcomes(skipped, drawn)
    assert not np.array_equal(cxsim.CxModel(weightless, seed=8).customers.fear, c.fear)


def test_a_tally_raises_on_a_key_not_declared():
    from cxsim.state.tallies import TALLIES, Tally

    t = Tally()
    t["offered"] += 3
    assert t["offered"] == 3 and t["accepted"] == 0
    with pytest.raises(KeyError):
        t["ofered"] += 1  # a misspelt count fails, it does not read 0
    with pytest.raises(KeyError):
        t["ofered"] = 1
    assert set(t) == set(TALLIES)


def test_every_tally_key_the_code_names_is_declared_and_every_declared_one_is_counted():
    import re
    from pathlib import Path

    from cxsim.state.tallies import TALLIES

    source = "\n".join(p.read_text() for p in (Path(cxsim.__file__).parent).rglob("*.py"))
    named = set(re.findall(r'tally\["([a-z_]+)"\]', source))
    written = set(re.findall(r'tally\["([a-z_]+)"\] \+=', source))
    assert named <= set(TALLIES)
    assert written == set(TALLIES)


def test_the_phases_receive_the_world_never_the_model(monkeypatch):
    import dataclasses

    from cxsim.engine import model as engine_model
    from cxsim.state.world import ActiveSet, World

    seen = []
    phases = tuple(dataclasses.replace(p, rule=(lambda rule: (lambda world: (seen.append(type(world)), rule(world))))(p.rule))
                   for p in engine_model.PHASES)
    monkeypatch.setattr(engine_model, "PHASES", phases)
    m = engine_model.CxModel("aravind", seed=1, customers=300, steps=2).run()
    assert seen and set(seen) == {World}
    assert isinstance(m.world.active, ActiveSet) and m.world.t == m.steps == 2
    assert m.customers is m.world.customers and m.tally is m.world.tally  # readouts see the world's fields
    assert not hasattr(m.world, "active_key") and not hasattr(m.world, "relief_for_all")  # caches live in ActiveSet


def test_the_plan_keeps_the_phases_a_scenario_switches_on_in_order():
    from cxsim.engine.model import PHASES, CxModel

    plain = CxModel("aravind", seed=1, customers=200)
    table = plain.plan_table()
    assert list(table["order"]) == list(range(1, len(table) + 1))
    assert list(table["phase"]) == sorted(table["phase"])  # the order of docs/model.md §3.3
    assert "relationship.relationship" not in set(table["rule"])  # aravind: one service, no relationship
    assert {"relief.refresh", "journey.decision", "journey.loyalty"} <= set(table["rule"])
    telco = CxModel("telco_churn", seed=1, customers=200)
    assert "relationship.relationship" in set(telco.plan_table()["rule"])
    assert len(telco.plan) <= len(PHASES)
