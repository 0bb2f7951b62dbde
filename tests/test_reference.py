"""The array engine and the pure-Mesa reference (cxsim.checks.reference) implement the same rules.

Both draw the same population, network and counter-based random numbers, so they
agree customer by customer: :func:`cxsim.checks.reference.compare` must find no
difference in any customer's stage, binding reason, stages visited, outcome,
score, satisfaction, loyalty, fear or trust, nor in the run's counts. Scenarios
using rules the reference lacks are refused with one line naming the feature.
A mutation test changes one rule of the engine at a time (the reference
untouched) and requires the comparison to catch it.
"""

from __future__ import annotations

import numpy as np
import pytest

import cxsim
from cxsim.engine import model as engine_model
from cxsim.rules import barriers, emotions, journey
from cxsim.rules.interventions import intervention_names
from cxsim.state.params import CxError
from cxsim.state.randomness import Streams
from cxsim.checks.reference import (
    FLOAT_TOLERANCE, LACKING, REFERENCE_INTERVENTIONS, REFERENCE_RULES, ReferenceModel, compare, lacking,
    largest_float_difference, run_reference,
)
from cxsim.engine.scenario import validate_scenario


def both(scenario, seed):
    """The engine's results and the reference model, run on the same scenario and seed."""
    return cxsim.run(scenario, seed), ReferenceModel(scenario, seed).run()


def with_added(scenario, section: str, name: str, spec: dict):
    """``scenario`` with one more entry in a table (an intervention, a touchpoint)."""
    data = scenario.model_dump()
    data[section][name] = spec
    return validate_scenario(data)


# -- 1. agreement customer by customer ------------------------------------------------------------
CASES = [  # (variant, seed, customers, steps): seeds and sizes no other test uses
    ("baseline", 13, 1500, 52),
    ("baseline", 47, 2600, 60),
    ("aravind_1980s", 13, 1500, 52),
    ("aravind_1980s", 58, 2900, 52),
    ("all_barriers_removed", 31, 1800, 52),
    ("counselling_only", 77, 2100, 45),
]


@pytest.mark.parametrize("variant,seed,customers,steps", CASES)
def test_engine_and_reference_agree_customer_by_customer(aravind, variant, seed, customers, steps):
    scenario = aravind.with_overrides({"population.customers": customers, "steps": steps}).variant(variant)
    engine, reference = both(scenario, seed)
    assert engine.model.tally["offered"] > 100  # something happened to compare
    assert compare(engine, reference) == []
    assert largest_float_difference(engine, reference) < FLOAT_TOLERANCE


def _other_rules(aravind):
    base = aravind.with_overrides({"population.customers": 1600}).variant("aravind_1980s")
    fix = {"kind": "fix_touchpoint", "enabled": True, "touchpoints": ["bus_journey"], "reliability": 0.99, "quality_gain": 0.2, "coverage": 0.6}
    keep = {"kind": "retention_program", "enabled": True, "churn_relief": 0.5, "coverage": 0.5, "cost_per_use": 0.1}
    return {
        "fully_mixed": base.with_overrides({"network.kind": "fully_mixed"}),
        "churn_and_retention": with_added(base.with_overrides({"loyalty.churn": 0.05}), "interventions", "keep", keep),
        "touchpoint_fix": with_added(base, "interventions", "fix", fix),
        "partial_coverage": aravind.with_overrides({"population.customers": 1600})
        .with_interventions(["outreach_camps", "testimonials", "counselling", "free_transport"], only=True)
        .with_overrides({"interventions.free_transport.coverage": 0.5, "interventions.testimonials.coverage": 0.3}),
        "segment_eligibility": aravind.with_overrides({"population.customers": 1600})
        .with_interventions(["free_medicine", "wage_compensation"], only=True)
        .with_overrides({"interventions.free_medicine.segments": ["destitute"]}),
        "no_reconsideration": base.with_overrides({"journey.reconsider": False}),
        "kano_categories": base.with_overrides({"touchpoints.bus_journey.kano": "must_be", "touchpoints.ward_and_staff.kano": "delighter",
                                                "emotions.delight_power": 1.5}),
        "touchpoint_segments": base.with_overrides({"touchpoints.bus_journey.segments": ["labourers", "destitute"],
                                                    "touchpoints.village_follow_up.segments": ["farmers"]}),
        "service_recovery": with_added(
            base.with_overrides({"touchpoints.bus_journey.recovery": 0.3, "touchpoints.bus_journey.reliability": 0.6,
                                 "touchpoints.bus_journey.kano": "must_be", "emotions.failure_memory": 0.8}),
            "interventions", "desk", {"kind": "service_recovery", "enabled": True, "touchpoints": ["bus_journey", "ward_and_staff"],
                                      "recovery": 0.7, "coverage": 0.5}),
    }


@pytest.mark.parametrize("case", ["fully_mixed", "churn_and_retention", "touchpoint_fix", "partial_coverage",
                                  "segment_eligibility", "no_reconsideration", "kano_categories", "touchpoint_segments",
                                  "service_recovery"])
def test_agreement_holds_for_every_rule_the_reference_implements(aravind, case):
    scenario = _other_rules(aravind)[case]
    assert lacking(scenario) is None
    engine, reference = both(scenario, 19)
    assert compare(engine, reference) == []
    if case == "service_recovery":
        assert reference.tally["recoveries"] > 50  # the rule was exercised


def test_compare_reports_what_differs(aravind):
    """The comparison names the entry and the customers, and catches a change of one customer."""
    scenario = aravind.with_overrides({"population.customers": 500, "steps": 30})
    engine, reference = both(scenario, 3)
    assert compare(engine, reference) == []
    reference.customers[7].fear += 1e-3
    reference.customers[9].stage = journey.Stage.CHURNED
    reference.tally["warnings"] += 1
    found = compare(engine, reference)
    assert any(line.startswith("fear: 1 of 500 customers differ (#7:") for line in found), found
    assert any(line.startswith("stage: 1 of 500 customers differ (#9:") for line in found), found
    assert any(line.startswith("warnings: engine") for line in found), found


def test_reference_does_not_depend_on_agent_order(aravind):
    scenario = aravind.with_overrides({"population.customers": 400, "steps": 30}).variant("aravind_1980s")
    ordered = ReferenceModel(scenario, 5).run()
    shuffled = ReferenceModel(scenario, 5, shuffle=True).run()
    assert [a.stage for a in ordered.customers] == [a.stage for a in shuffled.customers]
    a, b = ordered.summary(), shuffled.summary()
    for key in ("offered", "accepted", "served", "referrals", "warnings", "reconsiderations", "stage_counts"):
        assert a[key] == b[key], key


# -- 2. scope: the rules it implements, the features it refuses ----------------------------------------
def test_the_reference_declares_its_rules_and_what_it_lacks():
    for rule in ("decision", "binding_reason", "cash_shortfall", "satisfaction", "score", "warnings", "reconsideration",
                 "kano", "service_recovery"):
        assert rule in REFERENCE_RULES
    assert {"installed_base", "relationship", "staff_morale", "improvement_loops", "intervention_kind"} <= set(LACKING)
    assert set(REFERENCE_INTERVENTIONS) <= set(intervention_names())


@pytest.mark.parametrize("name", cxsim.list_scenarios())
def test_every_builtin_scenario_agrees_or_is_refused_in_one_line(name):
    sc = cxsim.load_scenario(name).with_overrides({"population.customers": 700, "steps": 40})
    for variant in ["baseline", *sc.variants]:
        world = sc.variant(variant)
        missing = lacking(world)
        if missing is None:
            engine, reference = both(world, 8)
            assert compare(engine, reference) == [], (name, variant)
            continue
        with pytest.raises(CxError) as err:
            ReferenceModel(world, 8)
        message = str(err.value)
        assert "\n" not in message and missing in message, message
        with pytest.raises(CxError):
            run_reference(world, 8)


def test_which_builtin_scenarios_the_reference_runs():
    """The built-in scenarios the reference runs today (update when it implements more)."""
    runs = sorted(n for n in cxsim.list_scenarios()
                  if all(lacking(cxsim.load_scenario(n).variant(v)) is None for v in ["baseline", *cxsim.load_scenario(n).variants]))
    assert runs == ["aravind", "product_delight", "service_recovery", "value_proposition"]


UNSUPPORTED = {  # one feature switched on in Aravind → the key the refusal must name
    "installed base": ({"population.segments.farmers.customers_at_start": 0.2}, "customers_at_start"),
    "repeat encounters": ({"relationship.encounters": 0.1}, "[relationship]"),
    "contracts": ({"relationship.term_steps": 26}, "[relationship]"),
    "drifting expectations": ({"relationship.expectation_drift": 0.01}, "[relationship]"),
    "staff morale": ({"touchpoints.ward_and_staff.staff_effect": 0.3}, "touchpoints.ward_and_staff.staff_effect"),
}

UNSUPPORTED_INTERVENTIONS = {
    "improvement_loop": {"kind": "improvement_loop", "enabled": True},
    "staff_care": {"kind": "staff_care", "enabled": True},
    "motivational_push": {"kind": "motivational_push", "enabled": True},
    "save_desk": {"kind": "save_desk", "enabled": True, "touchpoints": ["bus_journey"]},
    "account_management": {"kind": "account_management", "enabled": True},
    "personal_recommendations": {"kind": "personal_recommendations", "enabled": True},
    "renewal_delight": {"kind": "renewal_delight", "enabled": True},
}


@pytest.mark.parametrize("feature", sorted(UNSUPPORTED))
def test_a_scenario_feature_the_reference_lacks_is_refused(aravind, feature):
    changes, key = UNSUPPORTED[feature]
    scenario = aravind.with_overrides({"population.customers": 300, **changes})
    with pytest.raises(CxError) as err:
        ReferenceModel(scenario)
    message = str(err.value)
    assert "\n" not in message and key in message and "aravind" in message, message


def test_a_relationship_touchpoint_is_refused(aravind):
    scenario = with_added(aravind, "touchpoints", "repeat_visit", {"stage": "relationship"})
    with pytest.raises(CxError, match=r"touchpoints\.repeat_visit\.stage"):
        ReferenceModel(scenario)


@pytest.mark.parametrize("kind", sorted(UNSUPPORTED_INTERVENTIONS))
def test_an_intervention_kind_the_reference_lacks_is_refused_when_enabled(aravind, kind):
    spec = UNSUPPORTED_INTERVENTIONS[kind]
    assert kind in intervention_names() and kind not in REFERENCE_INTERVENTIONS
    off = with_added(aravind, "interventions", "extra", {**spec, "enabled": False})
    assert lacking(off) is None  # a kind that is switched off changes nothing
    on = with_added(aravind, "interventions", "extra", spec)
    with pytest.raises(CxError, match=rf"interventions\.extra\.kind = '{kind}'") as err:
        ReferenceModel(on)
    assert "\n" not in str(err.value)


# -- 3. mutation test: a changed engine rule makes the agreement fail -------------------------------------
MUTATION_CASES = (("aravind", "baseline", 2000, 23), ("aravind", "aravind_1980s", 2000, 23),
                  ("service_recovery", "empowered_recovery", 1500, 23))


@pytest.fixture(scope="module")
def references():
    """Reference runs of the mutation cases (the reference is never mutated, so run once)."""
    out = {}
    for name, variant, customers, seed in MUTATION_CASES:
        scenario = cxsim.load_scenario(name).with_overrides({"population.customers": customers}).variant(variant)
        out[f"{name}/{variant}"] = (scenario, seed, ReferenceModel(scenario, seed).run())
    return out


def judgement_coefficients(k: np.ndarray, changes: dict[str, float]) -> np.ndarray:
    """The coefficient record ``k`` (:data:`cxsim.rules.emotions.COEFFICIENT_RECORD`) with emotion parameters changed.

    ``peak_end`` sets the score's two weights (satisfaction 1 − peak_end, memory peak_end),
    ``peak_weight`` memory's two (peak peak_weight, end 1 − peak_weight); any other parameter
    is the coefficient of the same name.
    """
    pairs = {"peak_end": ("w_memory", "w_satisfaction"), "peak_weight": ("peak_weight", "end_weight")}
    k = k.copy()
    for name, value in changes.items():
        entries = {pairs[name][0]: value, pairs[name][1]: 1.0 - value} if name in pairs else {name: value}
        for entry, v in entries.items():
            k[entry] = v
    return k


def mutate_judgement(monkeypatch, **changes):
    """The engine judges the experience with other emotion parameters (satisfaction and score rules).

    The one place that knows where the engine applies them (``emotions.conclude``, which reads
    the coefficient array): update it if that rule moves.
    """
    original = emotions.conclude

    def conclude(c, ids, good, k, *args, **kwargs):
        return original(c, ids, good, judgement_coefficients(k, changes), *args, **kwargs)

    monkeypatch.setattr(emotions, "conclude", conclude)


def no_cash_shortfall_dropout(monkeypatch):
    """The engine's cash-shortfall draw never falls under the dropout chance."""

    class NoShortfall(Streams):
        def uniform(self, stream, ids, counter=0):
            if stream == "shortfall":
                return np.ones(len(ids))
            return super().uniform(stream, ids, counter)

    monkeypatch.setattr(engine_model, "Streams", NoShortfall)


def _wrap_refer(monkeypatch, before):
    original = journey.refer

    def refer(model, tellers, positive, occasion=""):
        if before(model, tellers, positive):
            original(model, tellers, positive, occasion)

    monkeypatch.setattr(journey, "refer", refer)


def no_warnings(monkeypatch):
    _wrap_refer(monkeypatch, lambda model, tellers, positive: positive)


def no_recommendations(monkeypatch):
    _wrap_refer(monkeypatch, lambda model, tellers, positive: not positive)


def no_reconsideration(monkeypatch):
    original = journey.refer

    def refer(model, tellers, positive, occasion=""):
        scenario = model.pars
        model.pars = scenario.model_copy(update={"journey": scenario.journey.model_copy(update={"reconsider": False})})
        try:
            original(model, tellers, positive, occasion)
        finally:
            model.pars = scenario

    monkeypatch.setattr(journey, "refer", refer)


def smallest_barrier_binds(monkeypatch):
    original = barriers.assess

    def assess(*args, **kwargs):
        terms, p, reason = original(*args, **kwargs)
        return terms, p, terms.argmin(axis=1).astype(reason.dtype)

    monkeypatch.setattr(barriers, "assess", assess)


def no_word_of_mouth(monkeypatch):
    """Users never start or stop talking about the service, so nobody hears of it from a tie."""
    monkeypatch.setattr(journey, "talk", lambda model, talkers, sign: None)


def first_detractor_warns(monkeypatch):
    """Only the first detractor of each step warns (the others keep silent)."""
    original = journey.refer

    def refer(model, tellers, positive, occasion=""):
        if positive:
            return original(model, tellers, positive, occasion)
        return original(model, tellers[:1], positive, occasion)

    monkeypatch.setattr(journey, "refer", refer)


def recovery_forgotten(monkeypatch):
    """A failure put right leaves feeling and the episode's peak and end as they were (recovery not felt)."""
    monkeypatch.setattr(emotions, "recover", lambda c, ids, recovered, weight, k: np.zeros(len(ids), dtype=np.float32))


MUTATIONS = {
    "loss aversion treated as 1": lambda mp: mutate_judgement(mp, loss_aversion=1.0),
    "peak-end weight 0 in the score": lambda mp: mutate_judgement(mp, peak_end=0.0),
    "no cash-shortfall dropout": no_cash_shortfall_dropout,
    "no warnings from detractors": no_warnings,
    "no recommendations from promoters": no_recommendations,
    "binding reason = smallest barrier": smallest_barrier_binds,
    "reconsideration off": no_reconsideration,
    "word of mouth off": no_word_of_mouth,
    "warnings from the first detractor only": first_detractor_warns,
    "service recovery not felt": recovery_forgotten,
    "worst moment forgotten in the score": lambda mp: mutate_judgement(mp, failure_memory=0.0),
    "end touchpoint ignored in judged performance": lambda mp: mutate_judgement(mp, judge_end=0.0),
    "memory keeps the peak only": lambda mp: mutate_judgement(mp, peak_weight=1.0),
    "confirmation satisfies less": lambda mp: mutate_judgement(mp, confirmed=0.6),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_a_changed_engine_rule_makes_the_agreement_fail(references, monkeypatch, mutation):
    differences = {}
    for variant, (scenario, seed, reference) in references.items():
        assert compare(cxsim.run(scenario, seed), reference) == [], f"{variant}: unmutated engine must agree"
    MUTATIONS[mutation](monkeypatch)
    for variant, (scenario, seed, reference) in references.items():
        differences[variant] = compare(cxsim.run(scenario, seed), reference)
    assert any(differences.values()), f"{mutation}: the comparison did not notice"
