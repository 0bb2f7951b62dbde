"""The living score to recommend: asked again at every encounter, so NPS follows satisfaction;
the installed base starts with a memory consistent with its satisfaction and recommends and warns."""

import math

import numpy as np
import pytest

import cxsim
from cxsim.rules import emotions
from cxsim.rules.journey import TALKING, Stage

INSTALLED_BASE = [  # scenario, a variant that raises satisfaction
    ("closed_loop", "closed_loop"),
    ("auto_lease", "detail_expiring_leases"),
    ("telco_churn", "save_desk"),
]
SEEDS = (11, 12, 13, 14)


def _summaries(name, variant, customers=1200):
    sc = cxsim.load_scenario(name).variant(variant)
    return [cxsim.run(sc, seed, customers=customers, track=0).summary for seed in SEEDS]


@pytest.mark.parametrize("name,variant", INSTALLED_BASE)
def test_nps_responds_where_satisfaction_does(name, variant):
    base, better = _summaries(name, "baseline"), _summaries(name, variant)
    for metric in ("satisfaction", "nps"):
        d = np.array([b[metric] - a[metric] for a, b in zip(base, better)])
        assert d.mean() > 3 * d.std(ddof=1) / math.sqrt(len(d)) and d.mean() > 0, (metric, d)


@pytest.mark.parametrize("name", ["closed_loop", "auto_lease", "telco_churn", "aravind", "service_recovery"])
def test_promoter_and_detractor_tallies_follow_current_scores(name):
    sc = cxsim.load_scenario(name)
    variant = next(iter(sc.variants), "baseline")
    m = cxsim.CxModel(sc.variant(variant).with_overrides({"population.customers": 800}), seed=3, track=0).run()
    c = m.customers
    scored = c.recommend >= 0
    assert m.tally["scored"] == int(scored.sum())
    assert m.tally["promoters"] == int((c.recommend >= emotions.PROMOTER).sum())
    assert m.tally["detractors"] == int((scored & (c.recommend <= emotions.DETRACTOR)).sum())
    nps = 100 * ((c.recommend >= 9).sum() - (scored & (c.recommend <= 6)).sum()) / scored.sum()
    assert cxsim.run(sc.variant(variant), 3, customers=800, track=0).summary["nps"] == pytest.approx(nps)


@pytest.mark.parametrize("name", ["closed_loop", "telco_churn"])
def test_only_non_detractors_talk_as_scores_change(name):
    sc = cxsim.load_scenario(name).variant(next(iter(cxsim.load_scenario(name).variants)))
    m = cxsim.CxModel(sc.with_overrides({"population.customers": 600}), seed=2, track=0)
    for _ in range(30):
        m.step()
        c = m.customers
        talking = np.isin(c.stage, [int(s) for s in TALKING]) & ((c.recommend > emotions.DETRACTOR) | (c.recommend < 0))
        assert m.net.talkers == int(talking.sum())


def test_the_installed_base_remembers_its_satisfaction_and_has_promoters():
    sc = cxsim.load_scenario("closed_loop").with_overrides({"population.customers": 2000})
    m = cxsim.CxModel(sc, seed=1, track=0)
    c = m.customers
    assert np.all(c.recommend == np.rint(10 * c.satisfaction))  # memory consistent with satisfaction (no failure remembered)
    assert (c.recommend >= emotions.PROMOTER).any()
    assert m.tally["referrals"] > 0 and m.tally["warnings"] > 0  # promoters recommend, detractors warn, as new customers do


def test_an_installed_base_refers_prospects():
    sc = cxsim.load_scenario("telco_churn").with_overrides({
        "population.customers": 2000, "population.segments.subscribers.customers_at_start": 0.5,
        "population.segments.subscribers.satisfaction_at_start": 0.85,
    })
    m = cxsim.CxModel(sc, seed=1, track=0)
    c = m.customers
    heard = (c.stage != Stage.LOYAL) & (c.reports > 0)
    assert heard.any() and (c.stage[heard] != Stage.UNAWARE).all()  # recommended to: aware of the service


def test_each_encounter_re_asks_the_score():
    sc = cxsim.load_scenario("closed_loop").with_overrides({"population.customers": 500, "relationship.encounters": 1.0})
    m = cxsim.CxModel(sc, seed=4, track=0)
    before = m.customers.recommend.copy()
    m.step()
    c = m.customers
    loyal = c.stage == Stage.LOYAL
    expected = emotions.recommend_score(c.satisfaction[loyal], c.peak[loyal], c.end[loyal], c.trough[loyal], m.feeling)
    assert np.array_equal(c.recommend[loyal], expected)
    assert (c.recommend[loyal] != before[loyal]).any()
