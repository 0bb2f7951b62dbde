"""The scenario library: every built-in scenario loads, runs small and tells its story;
each reproduces its stylised fact over several seeds (common random numbers: the
variants of a comparison run on the same seeds); and the mechanisms the library
added to the engine behave as documented on hand-made cases.
"""

import math
from functools import lru_cache

import numpy as np
import pytest

import cxsim
from cxsim.readouts.measures import check, measure
from cxsim.rules import emotions, journey
from cxsim.rules.journey import Stage

SCENARIOS = cxsim.list_scenarios()


# -- helpers -----------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _runs(name: str, variant: str, seeds: tuple[int, ...], measures: tuple[str, ...], customers=None, steps=None, overrides=()):
    sc = cxsim.load_scenario(name).variant(variant)
    if overrides:
        sc = sc.with_overrides(dict(overrides))
    rows = []
    for seed in seeds:
        res = cxsim.run(sc, seed, customers=customers, steps=steps, track=0)
        rows.append([measure(res, m) for m in measures])
    return np.array(rows, dtype=float)


def runs(name, variant, seeds, measures, **size) -> dict[str, np.ndarray]:
    """Each measure over the seeds (one value per seed), for one variant of a built-in scenario
    (``overrides``: a tuple of (parameter, value) pairs set on top of the variant)."""
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


def assert_about(x: np.ndarray, value: float, what: str, k: float = 3.0) -> None:
    """The mean of x over seeds is within k standard errors of ``value`` (a fact's "about ...")."""
    x = np.asarray(x, dtype=float)
    mean, se = float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))
    assert abs(mean - value) <= k * se, f"{what}: {mean:.4g} ± {se:.3g} (se), not about {value:g}"


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


# -- the facts ------------------------------------------------------------------------------------------------
# Each scenario's fact is one function of the seeds and a size factor on the test's customers: the default
# tests check it on the seeds below, the slow test on fresh seeds at 1.5× the customers (FRESH). Comparisons
# are paired differences over seeds (common random numbers), asserted in standard errors; a claim that
# something does not move is asserted as a small absolute difference. scripts/measure_facts.py prints the
# numbers of every fact on both seed sets (docs/scenarios.md, "Measured").
FACTS: list[tuple[str, object, list[int]]] = []
"""(scenario, the function checking (part of) its fact, the default test's seeds)."""


def fact(name: str, seeds=SEEDS):
    """Register a function checking (part of) scenario ``name``'s fact; the default test runs it on ``seeds``."""
    def register(check):
        FACTS.append((name, check, list(seeds)))
        return check
    return register


def size(name: str, customers: int | None, scale: float) -> dict:
    n = customers or cxsim.load_scenario(name).population.customers
    return dict(customers=int(round(scale * n)))


def fresh_seeds(seeds) -> list[int]:
    """Seeds no default test uses: as many as the test's (at least 8), from 101."""
    return list(range(101, 101 + max(8, len(seeds))))


# 1. product quality: useful, usable, sensuous (seed 000) ----------------------------------------------------
@fact("product_delight")
def product_design_beats_equal_spend_on_interaction_management(seeds, scale=1.0):
    ms = ("referrals", "referral_acceptances", "accepted", "mean_loyalty", "retention", "intervention_cost")
    n = size("product_delight", 2000, scale)
    product = runs("product_delight", "product_design", seeds, ms, **n)
    channels = runs("product_delight", "interaction_management", seeds, ms, **n)
    base = runs("product_delight", "baseline", seeds, ms, **n)
    quality_only = runs("product_delight", "interaction_management", seeds, ms,
                        overrides=(("interventions.interaction_management.reliability", 0.0),), **n)
    assert np.allclose(product["intervention_cost"], channels["intervention_cost"])  # equal spend
    for m in ("referrals", "referral_acceptances", "mean_loyalty", "retention"):
        assert_greater(channels[m], product[m], f"product design vs interaction management: {m}")
    # about two and a half times the referrals (measured 2.6×): more than twice
    assert_greater(2 * (channels["referrals"] - base["referrals"]), product["referrals"] - base["referrals"],
                   "product design: more than twice interaction management's referral gain")
    # making every channel reliable helps (a finding: how much it helps is not set) ...
    assert_greater(base["referrals"], channels["referrals"], "reliable channels raise referrals")
    # ... premise, not a finding (the must-be rule min(p, e)): a channel better than expected adds nothing, so the
    # channels' quality gain alone adds under a tenth of what their reliability adds
    assert_greater(quality_only["referrals"], channels["referrals"], "the channels' reliability is what is felt")
    assert paired(base["referrals"], quality_only["referrals"])[0] < 0.1 * paired(base["referrals"], channels["referrals"])[0]


def test_product_design_beats_equal_spend_on_interaction_management():
    product_design_beats_equal_spend_on_interaction_management(SEEDS)


@fact("product_delight")
def product_design_makes_word_of_mouth_do_more_of_the_selling(seeds, scale=1.0):
    """Replaces "referrals more than 1.5× the baseline's" (true only under the old mean-of-touchpoints rule):
    what the runs show is that each buyer refers more and a larger share of buyers come through a referral."""
    ms = ("referrals", "referral_acceptances", "accepted")
    n = size("product_delight", 2000, scale)
    product = runs("product_delight", "product_design", seeds, ms, **n)
    base = runs("product_delight", "baseline", seeds, ms, **n)
    per_buyer = {k: r["referrals"] / r["accepted"] for k, r in (("base", base), ("product", product))}
    by_referral = {k: r["referral_acceptances"] / r["accepted"] for k, r in (("base", base), ("product", product))}
    assert_greater(per_buyer["base"], per_buyer["product"], "product design: referrals per buyer")
    assert_greater(by_referral["base"], by_referral["product"], "product design: share of buyers won by referral")
    assert_greater(base["accepted"], product["accepted"], "product design: buyers")


def test_product_design_makes_word_of_mouth_do_more_of_the_selling():
    product_design_makes_word_of_mouth_do_more_of_the_selling(SEEDS)


# 2. closed-loop feedback (seed 000: Sage, Richer Sounds) -----------------------------------------------------
UNTRACKED_BUT_DONE = (("interventions.untracked_actions.untracked", 0.9),)  # untracked actions done as often as tracked ones


@fact("closed_loop")
def only_tracked_actions_lift_satisfaction_and_repeat_business(seeds, scale=1.0):
    ms = ("current_satisfaction", "late_value", "churn_rate", "staff_morale", "actions_done")
    n = size("closed_loop", 1500, scale)
    base = runs("closed_loop", "baseline", seeds, ms, **n)
    rally = runs("closed_loop", "rally", seeds, ms, **n)
    loose = runs("closed_loop", "untracked_actions", seeds, ms, **n)
    loop = runs("closed_loop", "closed_loop", seeds, ms, **n)
    done = runs("closed_loop", "untracked_actions", seeds, ms, overrides=UNTRACKED_BUT_DONE, **n)
    status_quo = cxsim.load_scenario("closed_loop").staff.morale
    for r in (rally, loose, loop):  # premise: the emotional high fades back to the status quo (staff.adapt)
        assert np.allclose(r["staff_morale"], status_quo, atol=0.01)
    # premise: untracked actions are rarely done (untracked = 0.02 against completion = 0.9)
    assert loop["actions_done"].mean() > 5 * loose["actions_done"].mean()
    # findings: satisfaction barely moves after the rally ...
    assert abs(paired(base["current_satisfaction"], rally["current_satisfaction"])[0]) < 0.01
    # ... but the customers kept during the high leave a small lasting trace in churn
    assert_greater(rally["churn_rate"], base["churn_rate"], "a rally lowers churn a little")
    rally_cut, loop_cut = -paired(base["churn_rate"], rally["churn_rate"])[0], -paired(base["churn_rate"], loop["churn_rate"])[0]
    assert rally_cut < 0.4 * loop_cut, (rally_cut, loop_cut)  # small: well under half of what tracked actions do
    for m in ("current_satisfaction", "late_value"):
        assert_greater(base[m], loop[m], f"closed loop raises {m}")
        assert_greater(loose[m], loop[m], f"tracked beats untracked actions on {m}")
        assert_greater(done[m], loop[m], f"tracked beats untracked actions done as often on {m}")
    assert_greater(loop["churn_rate"], loose["churn_rate"], "tracked beats untracked actions on churn")
    assert_greater(loop["churn_rate"], done["churn_rate"], "tracked beats untracked actions done as often on churn")
    # untracked actions done as often as tracked ones: their fixes relapse, and they keep under half the satisfaction gain
    assert abs(done["actions_done"].mean() / loop["actions_done"].mean() - 1) < 0.15  # about as many actions done
    assert_greater(2 * (done["current_satisfaction"] - rally["current_satisfaction"]), loop["current_satisfaction"] - rally["current_satisfaction"],
                   "untracked actions done as often keep under half of the satisfaction gain")


def test_only_tracked_actions_lift_satisfaction_and_repeat_business():
    only_tracked_actions_lift_satisfaction_and_repeat_business(SEEDS)


# 3. employees are the first customers (seed 001 tenet 10) ----------------------------------------------------
@fact("employees_first")
def staff_morale_drives_quality_satisfaction_loyalty_and_revenue(seeds, scale=1.0):
    ms = ("staff_morale", "staffed_quality", "current_satisfaction", "mean_loyalty", "churn_rate", "revenue_per_step", "value_delivered")
    n = size("employees_first", 1500, scale)
    base = runs("employees_first", "baseline", seeds, ms, **n)
    care = runs("employees_first", "invest_in_staff", seeds, ms, **n)
    rally = runs("employees_first", "one_off_rally", seeds, ms, **n)
    for m in ("staff_morale", "staffed_quality", "current_satisfaction", "mean_loyalty", "revenue_per_step", "value_delivered"):
        assert_greater(base[m], care[m], f"investing in staff raises {m}")
    assert_greater(care["churn_rate"], base["churn_rate"], "investing in staff lowers churn")
    assert care["staff_morale"].mean() - base["staff_morale"].mean() > 0.1
    # a one-off rally fades: morale, service quality and satisfaction at the end as at the status quo ...
    status_quo = cxsim.load_scenario("employees_first").staff.morale
    assert abs(rally["staff_morale"].mean() - status_quo) < 0.02
    assert abs(paired(base["staffed_quality"], rally["staffed_quality"])[0]) < 0.005
    assert abs(paired(base["current_satisfaction"], rally["current_satisfaction"])[0]) < 0.01
    # ... but the customers it kept during the high leave a lasting trace: churn a little lower, well short of care's
    assert_greater(rally["churn_rate"], base["churn_rate"], "a rally leaves churn a little lower")
    assert_greater(care["churn_rate"], rally["churn_rate"], "steady investment lowers churn more than a rally")


def test_staff_morale_drives_quality_satisfaction_loyalty_and_revenue():
    staff_morale_drives_quality_satisfaction_loyalty_and_revenue(SEEDS)


# 4. neglected top accounts: "Ridiculous!" (seed 002) ----------------------------------------------------------
@fact("top_accounts", seeds=range(1, 25))  # ten top accounts: their churn is lumpy, so more seeds
def top_accounts_hold_the_revenue_at_risk_and_engaging_them_beats_acquisition(seeds, scale=1.0):
    ms = ("revenue_at_risk_share@top_accounts", "customers@top_accounts", "customer_base", "value_delivered",
          "revenue_per_step", "retention@top_accounts", "intervention_cost")
    n = size("top_accounts", None, scale)
    base = runs("top_accounts", "baseline", seeds, ms, **n)
    acquire = runs("top_accounts", "acquisition_push", seeds, ms, **n)
    engage = runs("top_accounts", "engage_top_accounts", seeds, ms, **n)
    # churn risk is concentrated in revenue: under 3% of the accounts hold 35–55% of the revenue at risk
    # (an outcome: revenue × (1 − loyalty) at the end, loyalty eroded by needs that drift untended)
    share_of_accounts = (base["customers@top_accounts"] / base["customer_base"]).mean()
    at_risk = base["revenue_at_risk_share@top_accounts"].mean()
    assert share_of_accounts < 0.03  # "under 3% of the customers"
    assert_about(base["revenue_at_risk_share@top_accounts"], 0.45, "the top accounts' share of the revenue at risk")  # "about 45%"
    assert at_risk > 10 * share_of_accounts
    # the same effort: engaging the top accounts keeps more of them and more revenue than acquisition
    assert np.allclose(engage["intervention_cost"], acquire["intervention_cost"])
    assert_greater(base["retention@top_accounts"], engage["retention@top_accounts"], "engagement keeps top accounts", k=2.5)
    assert_greater(acquire["revenue_per_step"], engage["revenue_per_step"], "engagement vs acquisition: revenue kept at the end", k=2.5)
    assert_greater(acquire["value_delivered"], engage["value_delivered"], "engagement vs acquisition: value delivered", k=2.0)


def test_top_accounts_hold_the_revenue_at_risk_and_engaging_them_beats_acquisition():
    top_accounts_hold_the_revenue_at_risk_and_engaging_them_beats_acquisition(list(range(1, 25)))


# 5. value proposition as promise, experience as delivery (seed 000: John Lewis, Primark) ---------------------
@fact("value_proposition", seeds=SEEDS[:4])
def a_broken_bargain_reverses_the_value_ranking_of_the_two_retailers(seeds, scale=1.0):
    """The qualities are tuned by hand so both indices come out near 112 (seed 000): that level is an input, not
    tested. What no input sets: which retailer is ahead, by how much, once one of them breaks its bargain."""
    ms = ("value_index@quality_seekers", "value_index@price_seekers", "satisfaction@quality_seekers", "satisfaction@price_seekers")
    n = size("value_proposition", 2000, scale)
    base = runs("value_proposition", "baseline", seeds, ms, **n)
    over = runs("value_proposition", "primark_overpromises", seeds, ms, **n)
    under = runs("value_proposition", "john_lewis_underdelivers", seeds, ms, **n)
    jl, pm = "value_index@quality_seekers", "value_index@price_seekers"
    # Primark over-promising puts it far behind John Lewis; John Lewis under-delivering puts it behind Primark
    assert_greater(base[jl] - base[pm], over[jl] - over[pm], "over-promising widens John Lewis' lead")
    assert_greater(under[jl], under[pm], "under-delivering puts John Lewis behind Primark")
    assert_greater(over["satisfaction@price_seekers"], base["satisfaction@price_seekers"], "over-promising lowers satisfaction")
    assert_greater(under["satisfaction@quality_seekers"], base["satisfaction@quality_seekers"], "under-delivering lowers satisfaction")
    # premises, not findings: the separate segments (neither mismatch can reach the other retailer's shoppers)
    assert abs(paired(base["satisfaction@quality_seekers"], over["satisfaction@quality_seekers"])[0]) < 0.01
    assert abs(paired(base["satisfaction@price_seekers"], under["satisfaction@price_seekers"])[0]) < 0.01


def test_a_broken_bargain_reverses_the_value_ranking_of_the_two_retailers():
    a_broken_bargain_reverses_the_value_ranking_of_the_two_retailers(SEEDS[:4])


def test_the_broken_bargain_finding_does_not_hinge_on_loss_aversion_two():
    """The premise sets loss aversion 2; Zeif & Yechiam (2022, n = 2,001) measure 1.16 for small losses
    (cxsim/evidence/value_proposition/figures.toml). At their value the breaker still falls behind."""
    ms = ("value_index@quality_seekers", "value_index@price_seekers")
    low = (("emotions.loss_aversion", 1.16),)
    over = runs("value_proposition", "primark_overpromises", SEEDS[:4], ms, customers=2000, overrides=low)
    under = runs("value_proposition", "john_lewis_underdelivers", SEEDS[:4], ms, customers=2000, overrides=low)
    assert_greater(over["value_index@price_seekers"] + 20, over["value_index@quality_seekers"], "over-promising: Primark 20+ points behind")
    assert_greater(under["value_index@quality_seekers"] + 10, under["value_index@price_seekers"], "under-delivering: John Lewis 10+ points behind")


# 6. journey stages, priority touchpoints, early-warning system (seed 003: Bliss) -----------------------------
@fact("journey_reliability")
def fixing_priority_touchpoints_first_pays_more_than_spreading_effort(seeds, scale=1.0):
    ms = ("value_delivered", "revenue_per_step", "churn_rate", "failure_rate", "intervention_cost")
    n = size("journey_reliability", 1500, scale)
    base = runs("journey_reliability", "baseline", seeds, ms, **n)
    reliable = runs("journey_reliability", "reliable_journey", seeds, ms, **n)
    priority = runs("journey_reliability", "early_warning_priority", seeds, ms, **n)
    spread = runs("journey_reliability", "spread_effort", seeds, ms, **n)
    extras = runs("journey_reliability", "differentiate_first", seeds, ms, **n)
    assert_greater(base["revenue_per_step"], reliable["revenue_per_step"], "unreliable touchpoints erode revenue")
    assert np.allclose(priority["intervention_cost"], spread["intervention_cost"])
    assert np.allclose(priority["intervention_cost"], extras["intervention_cost"])
    for other, what in ((spread, "spreading effort"), (extras, "differentiating first")):
        assert_greater(other["value_delivered"], priority["value_delivered"], f"priority first vs {what}: value")
        assert_greater(other["revenue_per_step"], priority["revenue_per_step"], f"priority first vs {what}: revenue")
    assert_greater(priority["failure_rate"], spread["failure_rate"], "priority first removes more failures")
    assert_greater(priority["churn_rate"], spread["churn_rate"], "priority first keeps more customers")


def test_fixing_priority_touchpoints_first_pays_more_than_spreading_effort():
    fixing_priority_touchpoints_first_pays_more_than_spreading_effort(SEEDS)


def test_priority_first_still_pays_at_the_churn_ofcom_measures():
    """The scenario's subscribers leave about 16% a year, Ofcom's broadband customers 9%; a chance of leaving
    after a bad month of 0.012 instead of 0.1 meets that (the fit in cxsim/evidence/journey_reliability).
    At that value priority first still earns more and keeps more than either other programme."""
    ms = ("value_delivered", "revenue_per_step", "churn_rate")
    fitted = (("relationship.defection", 0.012),)
    priority = runs("journey_reliability", "early_warning_priority", SEEDS, ms, customers=1500, overrides=fitted)
    for variant in ("spread_effort", "differentiate_first"):
        other = runs("journey_reliability", variant, SEEDS, ms, customers=1500, overrides=fitted)
        assert_greater(other["revenue_per_step"], priority["revenue_per_step"], f"priority first vs {variant}: revenue")
        assert_greater(other["value_delivered"], priority["value_delivered"], f"priority first vs {variant}: value")
        assert_greater(priority["churn_rate"], other["churn_rate"], f"priority first vs {variant}: churn")


# 7. the CEM examples (seed 004): telco churn, retail basket, auto lease ---------------------------------------
@fact("telco_churn")
def telco_responding_at_moments_of_defection_beats_a_blanket_discount(seeds, scale=1.0):
    ms = ("churn_rate", "churned", "defections", "value_delivered", "intervention_cost")
    n = size("telco_churn", 1500, scale)
    base = runs("telco_churn", "baseline", seeds, ms, **n)
    desk = runs("telco_churn", "save_desk", seeds, ms, **n)
    discount = runs("telco_churn", "loyalty_discount", seeds, ms, **n)
    assert np.allclose(desk["intervention_cost"], discount["intervention_cost"])
    assert (base["defections"] / base["churned"]).mean() > 0.5  # most leavers go right after a bad call
    assert_greater(discount["churn_rate"], base["churn_rate"], "a discount lowers churn a little")
    assert_greater(desk["churn_rate"], discount["churn_rate"], "the save desk lowers churn more")
    assert_greater(discount["value_delivered"], desk["value_delivered"], "and keeps more revenue")


def test_telco_responding_at_moments_of_defection_beats_a_blanket_discount():
    telco_responding_at_moments_of_defection_beats_a_blanket_discount(SEEDS)


KIOSK_UNFELT = (("touchpoints.kiosk.weight", 0.0),)  # the same baskets, the kiosk's moment felt by nobody
KIOSK_RELIABLE = (("touchpoints.kiosk.reliability", 1.0),)  # a kiosk whose recommendations never fail


@fact("retail_basket")
def retail_kiosk_pays_its_basket_arithmetic_and_is_a_wash_as_an_experience(seeds, scale=1.0):
    """Premise: a user's basket is worth 15% more (arithmetic). Findings: what the kiosk does as a moment of the visit."""
    ms = ("average_basket", "value_delivered", "intervention_cost", "satisfaction@kiosk_users", "retention@kiosk_users")
    n = size("retail_basket", 2000, scale)
    base = runs("retail_basket", "baseline", seeds, ms, **n)
    kiosk = runs("retail_basket", "kiosk", seeds, ms, **n)
    unfelt = runs("retail_basket", "kiosk", seeds, ms, overrides=KIOSK_UNFELT, **n)
    reliable = runs("retail_basket", "kiosk", seeds, ms, overrides=KIOSK_RELIABLE, **n)
    # premise (arithmetic): users' baskets 15% larger, 40% of shoppers: the average basket about 6% larger
    assert kiosk["average_basket"].mean() > 1.03 * base["average_basket"].mean()
    # the extra sales exceed the kiosks' cost
    assert_greater(base["value_delivered"] + kiosk["intervention_cost"], kiosk["value_delivered"], "the extra sales exceed the kiosks' cost")
    # as an experience, a wash: felt or not, the kiosk earns the same (the difference under 5% of its value)
    gain, _ = paired(base["value_delivered"], kiosk["value_delivered"])
    felt, _ = paired(unfelt["value_delivered"], kiosk["value_delivered"])
    assert abs(felt) < 0.05 * gain, (felt, gain)
    # users are no more satisfied than without a kiosk (under a hundredth higher)
    assert paired(base["satisfaction@kiosk_users"], kiosk["satisfaction@kiosk_users"])[0] < 0.01
    # a kiosk that never failed keeps more of its users and satisfies them more
    assert_greater(kiosk["retention@kiosk_users"], reliable["retention@kiosk_users"], "a reliable kiosk keeps more users")
    assert_greater(kiosk["satisfaction@kiosk_users"], reliable["satisfaction@kiosk_users"], "a reliable kiosk satisfies more")


def test_retail_kiosk_pays_its_basket_arithmetic_and_is_a_wash_as_an_experience():
    retail_kiosk_pays_its_basket_arithmetic_and_is_a_wash_as_an_experience(SEEDS)


@fact("auto_lease")
def auto_lease_detailing_before_expiry_raises_renewals_more_than_untargeted(seeds, scale=1.0):
    ms = ("renewal_rate", "lapses", "value_delivered", "intervention_cost")
    n = size("auto_lease", 1500, scale)
    base = runs("auto_lease", "baseline", seeds, ms, **n)
    targeted = runs("auto_lease", "detail_expiring_leases", seeds, ms, **n)
    untargeted = runs("auto_lease", "detail_at_random", seeds, ms, **n)
    assert_greater(base["renewal_rate"], targeted["renewal_rate"], "detailing before expiry raises renewals")
    assert abs(targeted["intervention_cost"].mean() / untargeted["intervention_cost"].mean() - 1) < 0.1  # about equal spend
    assert_greater(untargeted["renewal_rate"], targeted["renewal_rate"], "targeted beats untargeted", k=2.5)
    assert_greater(untargeted["value_delivered"], targeted["value_delivered"], "and keeps more lease revenue", k=2.5)


def test_auto_lease_detailing_before_expiry_raises_renewals_more_than_untargeted():
    auto_lease_detailing_before_expiry_raises_renewals_more_than_untargeted(SEEDS)


# 8. service recovery (de Matos et al. 2007) --------------------------------------------------------------------
RECOVERY_MEASURES = ("satisfaction@no_failure", "satisfaction@recovered", "satisfaction@unrecovered", "promoters@no_failure",
                     "promoters@recovered", "referrals@no_failure", "referrals@recovered", "satisfaction")
NO_FAILURE_MEMORY = (("emotions.failure_memory", 0.0),)


@fact("service_recovery")
def recovery_lifts_satisfaction_but_not_to_a_faultless_stay_nor_word_of_mouth(seeds, scale=1.0):
    """Recovery performs at the check-in's normal quality (no bonus): it repairs the end of the stay, not its worst moment."""
    n = size("service_recovery", 2000, scale)
    rec = runs("service_recovery", "empowered_recovery", seeds, RECOVERY_MEASURES, **n)
    base = runs("service_recovery", "baseline", seeds, RECOVERY_MEASURES, **n)
    forgetful = runs("service_recovery", "empowered_recovery", seeds, RECOVERY_MEASURES, overrides=NO_FAILURE_MEMORY, **n)
    assert_greater(rec["satisfaction@unrecovered"], rec["satisfaction@recovered"], "recovery lifts satisfaction above a guest left waiting")
    assert_greater(base["satisfaction"], rec["satisfaction"], "empowered recovery lifts satisfaction overall")
    # not to a faultless stay's: the dip stays the stay's most intense moment, and recovery closes under half the gap
    assert_greater(rec["satisfaction@recovered"], rec["satisfaction@no_failure"], "recovered guests are less satisfied than faultless ones")
    lift = rec["satisfaction@recovered"] - rec["satisfaction@unrecovered"]
    still = rec["satisfaction@no_failure"] - rec["satisfaction@recovered"]
    assert_greater(lift, still, "recovery closes less than half the gap a failure opens")
    # recovered guests recommend less than guests who had no failure ...
    for m in ("promoters", "referrals"):
        assert_greater(rec[f"{m}@recovered"], rec[f"{m}@no_failure"], f"recovered guests: fewer {m}")
    # ... and without a remembered failure (failure_memory = 0) they do not recommend more
    for m in ("promoters", "referrals"):
        d, s = paired(forgetful[f"{m}@no_failure"], forgetful[f"{m}@recovered"])
        assert d < 2 * s, (m, d, s)


def test_recovery_lifts_satisfaction_but_not_to_a_faultless_stay_nor_word_of_mouth():
    recovery_lifts_satisfaction_but_not_to_a_faultless_stay_nor_word_of_mouth(SEEDS)


# every fact again, on seeds and a size no default test uses ----------------------------------------------------
def measure_facts_script(monkeypatch):
    """scripts/measure_facts.py, loaded as a module."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "measure_facts.py"
    spec = importlib.util.spec_from_file_location("measure_facts", path)
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "measure_facts", script)  # its dataclasses look their module up
    spec.loader.exec_module(script)
    return script


def test_every_library_scenario_has_a_fact_test_and_is_measured_on_its_seeds(monkeypatch):
    """Aravind's facts are tests/test_aravind.py's; scripts/measure_facts.py measures each fact on the test's seeds."""
    library = sorted(s for s in SCENARIOS if s != "aravind")
    assert sorted({name for name, _, _ in FACTS}) == library
    script = measure_facts_script(monkeypatch)
    assert sorted(script.FACTS) == library
    for name, check, seeds in FACTS:
        assert list(script.FACTS[name].seeds) == seeds, name
        assert list(script.fresh_seeds(seeds)) == fresh_seeds(seeds)


# -- published figures (cxsim/evidence/<scenario>/figures.toml) ------------------------------------------------
def test_published_figures_are_well_formed_and_cited_in_the_reference_list(monkeypatch):
    from pathlib import Path

    script = measure_facts_script(monkeypatch)
    docs = (Path(__file__).resolve().parents[1] / "docs" / "scenarios.md").read_text()
    references = docs[docs.index("## References"):]
    found = {name: script.read_figures(name) for name in script.FACTS}
    assert all(found.values()), f"scenarios meeting no published figure: {[n for n, f in found.items() if not f]}"
    without_n = {name for name, figures in found.items() if not any(isinstance(f.get("n"), int) for f in figures)}
    assert without_n == set(), f"scenarios whose figures all lack a sample size: {sorted(without_n)}"
    for name, figures in found.items():
        for fig in figures:
            assert f"**{fig['reference']}**" in references, (name, fig["reference"])
            assert script.names_in(fig["quantity"]), fig["quantity"]


@pytest.mark.parametrize("text,field", [
    ('scenario = "telco_churn"\n[[figures]]\nname = "x"\n', "figures[0].reference: missing"),
    ('scenario = "auto_lease"\n', "scenario = 'auto_lease'"),
    ('scenario = "telco_churn"\n[[figures]]\nname = "x"\nreference = "r"\ncitation = "c"\nfigure = "f"\nobserved = 0.4\n'
     'likelihood = "binomial"\nrole = "predicted"\nvariant = "baseline"\nquantity = "churn_rate"\n', "figures[0].n = None"),
    ('scenario = "telco_churn"\n[[figures]]\nname = "x"\nreference = "r"\ncitation = "c"\nfigure = "f"\nobserved = 0.4\nn = 10\n'
     'likelihood = "binomial"\nrole = "guessed"\nvariant = "baseline"\nquantity = "churn_rate"\n', "figures[0].role = 'guessed'"),
])
def test_a_bad_figures_file_is_one_line_naming_the_field_and_exit_2(monkeypatch, tmp_path, capsys, text, field):
    script = measure_facts_script(monkeypatch)
    (tmp_path / "cxsim" / "evidence" / "telco_churn").mkdir(parents=True)
    (tmp_path / "cxsim" / "evidence" / "telco_churn" / "figures.toml").write_text(text)
    monkeypatch.setattr(script, "EVIDENCE", tmp_path / "cxsim" / "evidence")
    assert script.main(["telco_churn", "--figures"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field in err and "figures.toml" in err, err


def test_a_binomial_figure_is_compared_through_its_sampling_error(monkeypatch):
    script = measure_facts_script(monkeypatch)
    fig = {"observed": 0.5, "n": 100, "likelihood": "binomial"}
    row = script.compare(fig, np.array([0.4, 0.4]))  # no seed noise: z = 0.1 / sqrt(0.24 / 100)
    assert row["z"] == pytest.approx(0.1 / math.sqrt(0.0024))
    assert row["interval"][0] < 0.5 < row["interval"][1]
    assert math.isnan(script.compare({**fig, "likelihood": "none"}, np.array([0.4, 0.4]))["z"])
    assert script.evaluate("(2 - 1) / 4", None) == 0.25


@pytest.mark.slow
def test_auto_lease_renewals_meet_the_published_share_of_lessees_who_lease_again(monkeypatch):
    """Held out: no auto_lease parameter was set to J.D. Power's 68% (its n, 2,848, is the whole study's)."""
    script = measure_facts_script(monkeypatch)
    (fig,) = script.read_figures("auto_lease")
    fact = script.FACTS["auto_lease"]
    row = script.compare(fig, script.simulate("auto_lease", fig, fact.seeds, fact.customers))
    assert abs(row["z"]) < 3, row


@pytest.mark.slow
def test_product_delight_retention_meets_cirps_loyalty_and_not_bankmycells(monkeypatch):
    """Held out: no product_delight parameter was set to either figure. The better product's buyers stay as often as
    CIRP's upgrading iPhone owners (|z| < 3) and far more often than BankMyCell's trade-ins (z < −10)."""
    script = measure_facts_script(monkeypatch)
    cirp, bankmycell = script.read_figures("product_delight")
    fact = script.FACTS["product_delight"]
    sims = script.simulate("product_delight", cirp, fact.seeds, fact.customers)
    assert abs(script.compare(cirp, sims)["z"]) < 3
    assert script.compare(bankmycell, sims)["z"] < -10


@pytest.mark.slow
@pytest.mark.parametrize("check,seeds", [(c, s) for _, c, s in FACTS], ids=[f"{n}:{c.__name__}" for n, c, _ in FACTS])
def test_facts_hold_on_fresh_seeds_and_a_larger_size(check, seeds):
    check(fresh_seeds(seeds), scale=1.5)


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
    from cxsim.engine.scenario import Emotions, Journey

    k = emotions.coefficients(Emotions(peak_end=0.4, failure_memory=1.0), Journey())
    plain_k = emotions.coefficients(Emotions(peak_end=0.4), Journey())
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
