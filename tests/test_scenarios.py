"""The scenario library: every built-in scenario loads, runs small and tells its story;
each reproduces its stylised fact over several seeds (common random numbers: the
variants of a comparison run on the same seeds); and the mechanisms the library
added to the engine behave as documented on hand-made cases.
"""

import math
import re
import tomllib
from functools import lru_cache

import numpy as np
import pytest

import cxsim
from cxsim import emotions, journey
from cxsim.journey import Stage
from cxsim.measures import check, measure
from cxsim.scenario import SCENARIO_DIR

SCENARIOS = cxsim.list_scenarios()
LIBRARY = [s for s in SCENARIOS if s != "aravind"]


# -- helpers -----------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _runs(name: str, variant: str, seeds: tuple[int, ...], measures: tuple[str, ...], customers=None, steps=None):
    sc = cxsim.load_scenario(name).variant(variant)
    rows = []
    for seed in seeds:
        res = cxsim.run(sc, seed, customers=customers, steps=steps, track=0)
        rows.append([measure(res, m) for m in measures])
    return np.array(rows, dtype=float)


def runs(name, variant, seeds, measures, **size) -> dict[str, np.ndarray]:
    """Each measure over the seeds (one value per seed), for one variant of a built-in scenario."""
    table = _runs(name, variant, tuple(seeds), tuple(measures), **size)
    return {m: table[:, k] for k, m in enumerate(measures)}


def paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the paired difference b − a over seeds."""
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))


def assert_greater(a: np.ndarray, b: np.ndarray, what: str, k: float = 3.0) -> None:
    """b exceeds a by more than k standard errors of the paired difference (and is not tied)."""
    diff, se = paired(a, b)
    assert diff > 0 and diff > k * se, f"{what}: difference {diff:.4g} ± {se:.3g} (se)"


SEEDS = list(range(1, 7))


# -- every scenario -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_loads_runs_small_and_has_a_story(name):
    sc = cxsim.load_scenario(name)
    st = sc.story
    for part in ("fact", "inside_out", "outside_in", "what_changed", "source"):
        assert getattr(st, part).strip(), f"{name}: story.{part} is empty"
    check(list(st.measures), sc)
    for variant in ["baseline", *sc.variants]:
        res = cxsim.run(sc.variant(variant), 1, customers=400, steps=min(sc.steps, 12), track=20)
        m = res.model
        assert np.array_equal(np.bincount(m.customers.stage, minlength=len(Stage)), m.counts), variant
        assert m.counts.sum() == 400
        s = res.summary
        assert s["intervention_cost"] >= 0 and math.isfinite(s["value_delivered"])
        for k in ("satisfaction", "mean_loyalty", "retention"):
            assert s[k] is None or 0.0 <= s[k] <= 1.0, (variant, k, s[k])
        for mname in st.measures:
            assert not math.isinf(measure(res, mname)), (variant, mname)


@pytest.mark.parametrize("name", LIBRARY)
def test_every_number_in_a_library_scenario_has_a_comment(name):
    """Each number gives its source or says it is an assumption (a trailing comment)."""
    text = (SCENARIO_DIR / f"{name}.toml").read_text(encoding="utf-8")
    tomllib.loads(text)
    bare = [
        line for line in text.splitlines()
        if re.match(r"^\s*[A-Za-z_]+\s*=\s*-?[0-9][0-9_.eE+-]*\s*$", line)
    ]
    assert not bare, f"{name}: numbers without a comment: {bare}"


# -- 1. product quality: useful, usable, sensuous (seed 000) ---------------------------------------
def test_product_design_beats_equal_spend_on_interaction_management():
    ms = ("referrals", "referral_acceptances", "mean_loyalty", "retention", "intervention_cost")
    size = dict(customers=2000)
    product = runs("product_delight", "product_design", SEEDS, ms, **size)
    channels = runs("product_delight", "interaction_management", SEEDS, ms, **size)
    base = runs("product_delight", "baseline", SEEDS, ms, **size)
    assert np.allclose(product["intervention_cost"], channels["intervention_cost"])  # equal spend
    for m in ("referrals", "referral_acceptances", "mean_loyalty", "retention"):
        assert_greater(channels[m], product[m], f"product design vs interaction management: {m}")
    assert_greater(base["referrals"], product["referrals"], "product design raises referrals")


@pytest.mark.xfail(strict=False, reason=(
    "depended on the old satisfaction rule (mean of all touchpoints): with peak-end judgement (duration neglect) "
    "product design raises referrals 1.47× (1146 vs 778, 6 seeds × 2000), not more than 1.5×"))
def test_product_design_sets_off_a_referral_cascade():
    size = dict(customers=2000)
    product = runs("product_delight", "product_design", SEEDS, ("referrals",), **size)
    base = runs("product_delight", "baseline", SEEDS, ("referrals",), **size)
    # the cascade: referrals more than grow in proportion to customers
    assert product["referrals"].mean() > 1.5 * base["referrals"].mean()


# -- 2. closed-loop feedback (seed 000: Sage, Richer Sounds) ------------------------------------------
def test_only_tracked_actions_lift_satisfaction_and_repeat_business():
    ms = ("current_satisfaction", "late_value", "staff_morale", "actions_done")
    size = dict(customers=1500)
    base = runs("closed_loop", "baseline", SEEDS, ms, **size)
    rally = runs("closed_loop", "rally", SEEDS, ms, **size)
    loose = runs("closed_loop", "untracked_actions", SEEDS, ms, **size)
    loop = runs("closed_loop", "closed_loop", SEEDS, ms, **size)
    status_quo = cxsim.load_scenario("closed_loop").staff.morale
    for r in (rally, loose, loop):  # the emotional high has faded by the end
        assert np.allclose(r["staff_morale"], status_quo, atol=0.01)
    for m in ("current_satisfaction", "late_value"):
        assert_greater(base[m], loop[m], f"closed loop raises {m}")
        assert_greater(loose[m], loop[m], f"tracked beats untracked actions on {m}")
        # both loops come with the same rally: what the actions add on top of it
        tracked, untracked = paired(rally[m], loop[m])[0], paired(rally[m], loose[m])[0]
        assert tracked > 2.5 * max(untracked, 0.0), (m, tracked, untracked)
    assert abs(paired(base["current_satisfaction"], rally["current_satisfaction"])[0]) < 0.01  # a push alone fades
    assert loop["actions_done"].mean() > 5 * loose["actions_done"].mean()


# -- 3. employees are the first customers (seed 001 tenet 10) -------------------------------------------
def test_staff_morale_drives_quality_satisfaction_loyalty_and_revenue():
    ms = ("staff_morale", "staffed_quality", "current_satisfaction", "mean_loyalty", "churn_rate", "revenue_per_step", "value_delivered")
    size = dict(customers=1500)
    base = runs("employees_first", "baseline", SEEDS, ms, **size)
    care = runs("employees_first", "invest_in_staff", SEEDS, ms, **size)
    rally = runs("employees_first", "one_off_rally", SEEDS, ms, **size)
    for m in ("staff_morale", "staffed_quality", "current_satisfaction", "mean_loyalty", "revenue_per_step", "value_delivered"):
        assert_greater(base[m], care[m], f"investing in staff raises {m}")
    assert_greater(care["churn_rate"], base["churn_rate"], "investing in staff lowers churn")
    assert care["staff_morale"].mean() - base["staff_morale"].mean() > 0.1
    status_quo = cxsim.load_scenario("employees_first").staff.morale
    assert abs(rally["staff_morale"].mean() - status_quo) < 0.02  # a one-off rally fades
    assert abs(paired(base["current_satisfaction"], rally["current_satisfaction"])[0]) < 0.01


# -- 4. neglected top accounts: "Ridiculous!" (seed 002) --------------------------------------------------
def test_top_accounts_hold_the_revenue_at_risk_and_engaging_them_beats_acquisition():
    seeds = list(range(1, 25))  # ten top accounts: their churn is lumpy, so more seeds
    ms = ("revenue_at_risk_share@top_accounts", "customers@top_accounts", "customer_base", "value_delivered",
          "revenue_per_step", "retention@top_accounts", "intervention_cost")
    base = runs("top_accounts", "baseline", seeds, ms)
    acquire = runs("top_accounts", "acquisition_push", seeds, ms)
    engage = runs("top_accounts", "engage_top_accounts", seeds, ms)
    # churn risk concentrated in revenue: ~1% of accounts hold about half the revenue at risk
    share_of_accounts = (base["customers@top_accounts"] / base["customer_base"]).mean()
    assert share_of_accounts < 0.05
    assert base["revenue_at_risk_share@top_accounts"].mean() > 0.35
    assert base["revenue_at_risk_share@top_accounts"].mean() > 10 * share_of_accounts
    # the same effort: engaging the top accounts protects more lifetime value than acquisition
    assert np.allclose(engage["intervention_cost"], acquire["intervention_cost"])
    assert_greater(acquire["revenue_per_step"], engage["revenue_per_step"], "engagement vs acquisition: revenue kept at the end", k=2.5)
    assert_greater(acquire["value_delivered"], engage["value_delivered"], "engagement vs acquisition: value delivered", k=2.0)
    assert_greater(base["retention@top_accounts"], engage["retention@top_accounts"], "engagement keeps top accounts", k=2.5)


# -- 5. value proposition as promise, experience as delivery (seed 000: John Lewis, Primark) ---------------
def test_two_propositions_reach_similar_value_and_a_mismatch_lowers_satisfaction():
    ms = ("value_index@quality_seekers", "value_index@price_seekers", "satisfaction@quality_seekers", "satisfaction@price_seekers")
    seeds = SEEDS[:4]
    size = dict(customers=2000)
    base = runs("value_proposition", "baseline", seeds, ms, **size)
    jl, pm = base["value_index@quality_seekers"].mean(), base["value_index@price_seekers"].mean()
    assert 105 < jl < 120 and 105 < pm < 120, (jl, pm)  # both near 112 (seed 000)
    assert abs(jl - pm) < 4, (jl, pm)
    over = runs("value_proposition", "primark_overpromises", seeds, ms, **size)
    under = runs("value_proposition", "john_lewis_underdelivers", seeds, ms, **size)
    assert_greater(over["satisfaction@price_seekers"], base["satisfaction@price_seekers"], "over-promising lowers satisfaction")
    assert_greater(under["satisfaction@quality_seekers"], base["satisfaction@quality_seekers"], "under-delivering lowers satisfaction")
    assert over["value_index@price_seekers"].mean() < pm - 10
    assert under["value_index@quality_seekers"].mean() < jl - 10
    # the other provider's customers are untouched by a mismatch that is not theirs
    assert abs(paired(base["satisfaction@quality_seekers"], over["satisfaction@quality_seekers"])[0]) < 0.01


# -- 6. journey stages, priority touchpoints, early-warning system (seed 003: Bliss) ---------------------------
def test_fixing_priority_touchpoints_first_pays_more_than_spreading_effort():
    ms = ("value_delivered", "revenue_per_step", "churn_rate", "failure_rate", "intervention_cost")
    size = dict(customers=1500)
    base = runs("journey_reliability", "baseline", SEEDS, ms, **size)
    reliable = runs("journey_reliability", "reliable_journey", SEEDS, ms, **size)
    priority = runs("journey_reliability", "early_warning_priority", SEEDS, ms, **size)
    spread = runs("journey_reliability", "spread_effort", SEEDS, ms, **size)
    extras = runs("journey_reliability", "differentiate_first", SEEDS, ms, **size)
    assert_greater(base["revenue_per_step"], reliable["revenue_per_step"], "unreliable touchpoints erode revenue")
    assert np.allclose(priority["intervention_cost"], spread["intervention_cost"])
    assert np.allclose(priority["intervention_cost"], extras["intervention_cost"])
    for other, what in ((spread, "spreading effort"), (extras, "differentiating first")):
        assert_greater(other["value_delivered"], priority["value_delivered"], f"priority first vs {what}: value")
        assert_greater(other["revenue_per_step"], priority["revenue_per_step"], f"priority first vs {what}: revenue")
    assert_greater(priority["failure_rate"], spread["failure_rate"], "priority first removes more failures")
    assert_greater(priority["churn_rate"], spread["churn_rate"], "priority first keeps more customers")


# -- 7. the CEM examples (seed 004): telco churn, retail basket, auto lease ---------------------------------
def test_telco_responding_at_moments_of_defection_beats_a_blanket_discount():
    ms = ("churn_rate", "defections", "value_delivered", "intervention_cost")
    base = runs("telco_churn", "baseline", SEEDS, ms, customers=1500)
    desk = runs("telco_churn", "save_desk", SEEDS, ms, customers=1500)
    discount = runs("telco_churn", "loyalty_discount", SEEDS, ms, customers=1500)
    assert np.allclose(desk["intervention_cost"], discount["intervention_cost"])
    assert base["defections"].mean() > 0.3 * base["churn_rate"].mean() * 1500  # churn concentrates at moments of defection
    assert_greater(discount["churn_rate"], base["churn_rate"], "a discount lowers churn a little")
    assert_greater(desk["churn_rate"], discount["churn_rate"], "the save desk lowers churn more")
    assert_greater(discount["value_delivered"], desk["value_delivered"], "and keeps more revenue")


def test_retail_kiosk_raises_the_average_basket_and_pays_for_itself():
    ms = ("average_basket", "value_delivered", "intervention_cost")
    base = runs("retail_basket", "baseline", SEEDS[:4], ms, customers=2000)
    kiosk = runs("retail_basket", "kiosk", SEEDS[:4], ms, customers=2000)
    assert_greater(base["average_basket"], kiosk["average_basket"], "kiosk raises the average basket")
    assert kiosk["average_basket"].mean() > 1.03 * base["average_basket"].mean()
    gain, _ = paired(base["value_delivered"], kiosk["value_delivered"])
    assert gain > kiosk["intervention_cost"].mean()


def test_auto_lease_detailing_before_expiry_raises_renewals_more_than_untargeted():
    ms = ("renewal_rate", "lapses", "value_delivered", "intervention_cost")
    base = runs("auto_lease", "baseline", SEEDS, ms, customers=1500)
    targeted = runs("auto_lease", "detail_expiring_leases", SEEDS, ms, customers=1500)
    untargeted = runs("auto_lease", "detail_at_random", SEEDS, ms, customers=1500)
    assert_greater(base["renewal_rate"], targeted["renewal_rate"], "detailing before expiry raises renewals")
    assert abs(targeted["intervention_cost"].mean() / untargeted["intervention_cost"].mean() - 1) < 0.1  # about equal spend
    assert_greater(untargeted["renewal_rate"], targeted["renewal_rate"], "targeted beats untargeted", k=2.5)
    assert_greater(untargeted["value_delivered"], targeted["value_delivered"], "and keeps more lease revenue", k=2.5)


# -- 8. service recovery (de Matos et al. 2007) ------------------------------------------------------------
RECOVERY_MEASURES = ("satisfaction@no_failure", "satisfaction@recovered", "satisfaction@unrecovered", "promoters@no_failure",
                     "promoters@recovered", "referrals@no_failure", "referrals@recovered", "satisfaction")


def test_recovery_lifts_satisfaction_but_not_word_of_mouth():
    rec = runs("service_recovery", "empowered_recovery", SEEDS, RECOVERY_MEASURES, customers=2000)
    base = runs("service_recovery", "baseline", SEEDS, RECOVERY_MEASURES, customers=2000)
    assert_greater(rec["satisfaction@unrecovered"], rec["satisfaction@recovered"], "recovery restores satisfaction")
    # ... but recovered guests do not recommend more than guests with no failure
    for m in ("promoters", "referrals"):
        d, s = paired(rec[f"{m}@no_failure"], rec[f"{m}@recovered"])
        assert d < 3 * s, (m, d, s)
    assert_greater(base["satisfaction"], rec["satisfaction"], "empowered recovery lifts satisfaction overall")


def test_without_a_remembered_failure_recovered_guests_do_not_refer_more_than_the_never_failed():
    """Recovery performs as the touchpoint does when it works: no mechanism makes recovered guests refer more."""
    sc = cxsim.load_scenario("service_recovery").variant("empowered_recovery").with_overrides({"emotions.failure_memory": 0.0})
    rows = np.array([[measure(cxsim.run(sc, seed, customers=2000, track=0), m) for m in RECOVERY_MEASURES] for seed in SEEDS[:4]])
    got = {m: rows[:, k] for k, m in enumerate(RECOVERY_MEASURES)}
    for m in ("promoters", "referrals", "satisfaction"):
        d, s = paired(got[f"{m}@no_failure"], got[f"{m}@recovered"])
        assert d < 2 * s, (m, d, s)


@pytest.mark.xfail(strict=False, reason=(
    "restated an input: recovered guests were as satisfied as faultless ones only because recovery_quality (0.95) was set "
    "above quality (0.75); at equal quality, judged by peak and end, recovery lifts satisfaction 0.64 → 0.71 but the dip "
    "stays the peak: no-failure guests 0.89 (8 seeds × 3000)"))
def test_recovered_guests_are_as_satisfied_as_guests_with_no_failure():
    rec = runs("service_recovery", "empowered_recovery", SEEDS, RECOVERY_MEASURES, customers=2000)
    diff, se = paired(rec["satisfaction@no_failure"], rec["satisfaction@recovered"])
    assert diff > -3 * se


# -- the mechanisms, on hand-made cases ---------------------------------------------------------------
def test_kano_categories():
    e = np.array([0.6, 0.6, 0.6], dtype=np.float32)
    p = np.array([0.1, 0.6, 0.9], dtype=np.float32)
    assert np.allclose(emotions.kano("performance", p, e, 2.0), p)
    assert np.allclose(emotions.kano("must_be", p, e, 2.0), [0.1, 0.6, 0.6])  # never above expectation
    d = emotions.kano("delighter", np.array([0.0, 0.5, 1.0], dtype=np.float32), e, 2.0)
    assert np.allclose(d, [0.6, 0.6 + 0.4 * 0.25, 1.0])  # absent: neutral; convex; full: top
    assert d[1] - d[0] < d[2] - d[1]


class _Feelings:
    def __init__(self, n):
        for k in ("valence", "peak", "end", "trough", "episode_peak"):
            setattr(self, k, np.zeros(n, dtype=np.float32))
        self.peak_perf, self.end_perf = np.full(n, np.nan, dtype=np.float32), np.full(n, np.nan, dtype=np.float32)
        self.expectation = np.full(n, 0.6, dtype=np.float32)


def test_a_recovery_is_a_new_moment_and_the_trough_stays():
    from cxsim.scenario import Emotions

    k = emotions.coefficients(Emotions(peak_end=0.4, failure_memory=1.0))
    plain_k = emotions.coefficients(Emotions(peak_end=0.4))
    c, ids = _Feelings(2), np.arange(2)
    emotions.feel(c, ids, np.array([0.75, 0.1], dtype=np.float32), 1.0, k)  # customer 1 meets a failure
    trough = float(c.trough[1])
    emotions.recover(c, ids[1:], np.array([0.75], dtype=np.float32), 1.0, k)  # put right, as good as working
    assert c.trough[1] == trough < 0
    assert c.end_perf[1] == pytest.approx(0.75) and c.peak_perf[1] == pytest.approx(0.1)  # the dip stays the episode's peak
    judged = emotions.judged(c, ids, k)
    assert judged[1] < judged[0]  # no recovery paradox by construction: recovery at normal quality repairs the end only
    sat = emotions.satisfaction(judged, c.expectation, k)
    plain = emotions.recommend_score(sat, c.peak, c.end, c.trough, plain_k)
    scarred = emotions.recommend_score(sat, c.peak, c.end, c.trough, k)
    assert scarred[0] == plain[0] and scarred[1] <= plain[1]


def test_loyalty_bookkeeping_stays_consistent_when_satisfaction_changes():
    sc = cxsim.load_scenario("closed_loop").variant("closed_loop").with_overrides({"population.customers": 600, "steps": 30})
    m = cxsim.CxModel(sc, seed=2, track=0)
    for _ in range(30):
        m.step()
        loyal = np.flatnonzero(m.customers.stage == Stage.LOYAL)
        assert m.loyalty_sum == pytest.approx(float(journey.loyalty_now(m, loyal).sum()), rel=1e-4)
        assert m.cohorts[:, 0].sum() == len(loyal) == m.counts[Stage.LOYAL]
        assert m.satisfaction_sum == pytest.approx(float(np.nansum(m.customers.satisfaction)), rel=1e-4)
    assert m.tally["encounters"] > 0 and m.tally["actions_done"] > 0


def test_installed_base_starts_loyal_and_contracts_are_staggered():
    sc = cxsim.load_scenario("auto_lease").with_overrides({"population.customers": 500})
    m = cxsim.CxModel(sc, seed=1, track=0)
    c = m.customers
    assert m.counts[Stage.LOYAL] == 500 and m.tally["scored"] == 500
    assert np.all((c.t_renew >= 1) & (c.t_renew <= sc.relationship.term_steps))
    assert len(np.unique(c.t_renew)) > sc.relationship.term_steps // 2
    assert np.allclose(c.loyalty, c.satisfaction)


def test_staff_morale_push_fades_and_care_lifts_the_set_point():
    sc = cxsim.load_scenario("employees_first").with_overrides({"population.customers": 300, "staff.mirror": 0.0})
    quo = sc.staff.morale
    pushed = cxsim.CxModel(sc.variant("one_off_rally"), seed=1, track=0)
    levels = []
    for _ in range(60):
        pushed.step()
        levels.append(pushed.staff.level)
    assert max(levels) > quo + 0.2 and abs(levels[-1] - quo) < 0.01
    cared = cxsim.CxModel(sc.variant("invest_in_staff"), seed=1, track=0).run(60)
    assert cared.staff.level == pytest.approx(quo + sc.interventions["invest_in_staff"].morale_lift, abs=0.01)


def test_segment_touchpoints_are_met_only_by_their_segment():
    sc = cxsim.load_scenario("value_proposition").with_overrides({"population.customers": 400, "steps": 8})
    res = cxsim.run(sc, 1, track=400)
    ev, cust = res.events, res.customers.set_index("customer")
    seg = cust.loc[ev["customer"], "segment"].to_numpy()
    assert set(seg[ev["event"].str.startswith("jl_")]) == {"quality_seekers"}
    assert set(seg[ev["event"].str.startswith("primark_")]) == {"price_seekers"}


@pytest.mark.parametrize("name,iv", [
    ("telco_churn", "save_desk"), ("retail_basket", "kiosk"), ("auto_lease", "detail_expiring_leases"),
    ("service_recovery", "empowered_recovery"), ("top_accounts", "engage_top_accounts"),
])
def test_new_interventions_with_zero_coverage_change_nothing(name, iv):
    sc = cxsim.load_scenario(name).with_overrides({"population.customers": 400, "steps": 20})
    base = cxsim.run(sc.variant("baseline"), 3, track=0)
    off = sc.variant("baseline").with_interventions([iv]).with_overrides({f"interventions.{iv}.coverage": 0.0, f"interventions.{iv}.cost_per_step": 0.0})
    res = cxsim.run(off, 3, track=0)
    assert res.customers.equals(base.customers)
    assert res.summary["value_delivered"] == base.summary["value_delivered"]
