"""Rules pinned directly, outside the reference comparison (issue 22, item 8).

Each rule gets a check computed independently of the engine (by hand, on a few
customers of a small hand-built world). For the rules written in plain Python, each
check is also run against mutants of the rule (a sign flipped, a term dropped, a step
off by one, made by editing one line of the function's source): the check must fail
on every mutant, so it is a check that can fail. The compiled kernels (decision,
touchpoint) are pinned by exact values computed here from their formulas.
"""

from __future__ import annotations

import inspect
import textwrap
from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import pytest

from cxsim.engine.scenario import Decision, Emotions, Journey
from cxsim.rules import barriers, coverage, emotions, journey, relief, staff
from cxsim.rules.interventions import MotivationalPush, OutreachCamps, StaffCare
from cxsim.rules.relief import Relief
from cxsim.state.agents import NEVER
from cxsim.state.world import ActiveSet


def mutant(function, old: str, new: str):
    """``function`` with the one occurrence of ``old`` in its source replaced by ``new`` (in its module's namespace)."""
    source = textwrap.dedent(inspect.getsource(function))
    assert source.count(old) == 1, f"{old!r} must occur once in {function.__name__}"
    namespace = dict(inspect.getmodule(function).__dict__)
    exec(compile(source.replace(old, new), inspect.getsourcefile(function), "exec"), namespace)
    return namespace[function.__name__]


def caught(check, function, mutations: list[tuple[str, str]]) -> None:
    """``check`` passes on ``function`` and fails on each of its ``mutations``."""
    check(function)
    for old, new in mutations:
        with pytest.raises(AssertionError):
            check(mutant(function, old, new))


# -- staff: morale moves toward its set point; a push jumps it once -------------------------------
def _staff_programmes():
    """Staff care lifting the set point by 0.2 and a push of 0.3, each reaching half the staff."""
    care = StaffCare.model_validate({"enabled": True, "morale_lift": 0.2, "coverage": 0.5})
    push = MotivationalPush.model_validate({"enabled": True, "morale_push": 0.3, "coverage": 0.5})
    return [("care", care), ("push", push)]


def check_staff_update(update) -> None:
    pars = SimpleNamespace(staff=SimpleNamespace(morale=0.4, mirror=0.0, adapt=0.25), emotions=SimpleNamespace(confirmed=0.7))
    world = SimpleNamespace(pars=pars, staff=staff.Morale(0.4), active=_staff_programmes(), cohorts=np.zeros((3, 3)))
    update(world)
    set_point = 0.4 + 0.2 * 0.5
    level = 0.4 + 0.25 * (set_point - 0.4) + 0.3 * 0.5  # adapts, then the one-off push
    assert world.staff.set_point == pytest.approx(set_point)
    assert world.staff.level == pytest.approx(level)
    update(world)  # the push happens once
    assert world.staff.level == pytest.approx(level + 0.25 * (set_point - level))


def test_staff_update_is_pinned():
    caught(check_staff_update, staff.update, [
        ("m.level += p.adapt * (m.set_point - m.level)", "m.level -= p.adapt * (m.set_point - m.level)"),  # sign
        ("p.morale + lift + mirror", "p.morale + mirror"),  # missing term
        ("m.pushed.add(name)", "pass"),  # pushed every step
    ])


# -- relief.refresh: outreach and word of mouth set the awareness hazard, also when the active set changes --
def _campaign(start: int) -> OutreachCamps:
    return OutreachCamps.model_validate({"enabled": True, "start": start, "outreach_boost": 1.5, "cost_per_step": 10.0})


def check_refresh(refresh) -> None:
    n = 4
    covered = np.array([True, False, True, False])
    customers = SimpleNamespace(n=n, reach=np.array([1.0, 2.0, 0.5, 1.0], dtype=np.float32),
                                talk_count=np.array([0, 1, 2, 3], dtype=np.int16))
    world = SimpleNamespace(
        pars=SimpleNamespace(interventions={"campaign": _campaign(start=2)},
                             journey=SimpleNamespace(outreach=0.1, word_of_mouth=0.2)),
        t=1, active=ActiveSet(), costs=defaultdict(float), customers=customers,
        coverage=SimpleNamespace(covered=lambda name, iv, ids: covered[ids]),
        net=SimpleNamespace(listen_weight=np.float32(0.5)), aware_rate=np.zeros(n, dtype=np.float32))
    talk = customers.talk_count * 0.5 * 0.2
    refresh(world)  # no campaign yet
    assert np.allclose(world.aware_rate, customers.reach * 0.1 + talk)
    assert world.costs["campaign"] == 0
    world.t = 2  # the campaign starts mid-run: the set changes
    refresh(world)
    assert np.allclose(world.aware_rate, customers.reach * 0.1 * (1 + 1.5 * covered) + talk)
    assert world.costs["campaign"] == pytest.approx(10.0)
    world.t = 3
    refresh(world)
    assert world.costs["campaign"] == pytest.approx(20.0)  # running cost every step it acts


def test_refresh_is_pinned():
    caught(check_refresh, relief.refresh, [
        ("outreach * (1.0 + boost)", "outreach * (1.0 - boost)"),  # sign
        ("world.aware_rate += c.talk_count", "world.aware_rate -= c.talk_count"),  # sign of word of mouth
        ("np.multiply(c.reach, outreach, out=world.aware_rate)", "np.multiply(c.reach, sc.journey.outreach, out=world.aware_rate)"),  # boost dropped
        ("    if not changed:\n        return\n", "    if True:\n        return\n"),  # rates never refreshed when the set changes
    ])


# -- journey.loyalty_now: loyalty approaches satisfaction geometrically from its anchor ----------------
def check_loyalty_now(loyalty_now) -> None:
    customers = SimpleNamespace(satisfaction=np.array([0.9, 0.2], dtype=np.float32),
                                loyalty=np.array([0.5, 0.6], dtype=np.float32), t_anchor=np.array([2, 5], dtype=np.int32))
    world = SimpleNamespace(customers=customers, pars=SimpleNamespace(loyalty=SimpleNamespace(learning=0.3)), t=6)
    expected = [0.9 + (0.5 - 0.9) * 0.7 ** 4, 0.2 + (0.6 - 0.2) * 0.7 ** 1]
    assert np.allclose(loyalty_now(world, np.arange(2)), expected)


def test_loyalty_now_is_pinned():
    caught(check_loyalty_now, journey.loyalty_now, [
        ("world.t - c.t_anchor[ids]", "world.t - c.t_anchor[ids] + 1"),  # off by one step
        ("(c.loyalty[ids] - sat)", "(sat - c.loyalty[ids])"),  # sign
        ("(1.0 - lo.learning) ** age", "(1.0 - lo.learning)"),  # the age dropped
    ])


# -- coverage.near_renewal: a contract ending within the window, counted in steps ------------------------
def check_near_renewal(near_renewal) -> None:
    c = SimpleNamespace(t_renew=np.array([10, 13, 14, 9, NEVER], dtype=np.int32))
    assert list(near_renewal(c, np.arange(5), 10, 3)) == [True, True, False, False, False]


def test_near_renewal_is_pinned():
    caught(check_near_renewal, coverage.near_renewal, [
        ("(due - t <= window)", "(due - t < window)"),  # off by one
        ("(due - t <= window)", "(t - due <= window)"),  # sign
        ("(due >= t)", "(due > t)"),  # off by one at the end
    ])


# -- the compiled kernels, pinned by their formulas -------------------------------------------------------
class _Row:
    """Two customers' entries as the decision reads them (the ledger keeps every cost kind)."""

    def __init__(self):
        n, kinds = 2, len(barriers.CASH_COSTS)
        self.ledger = np.zeros((n, kinds), dtype=np.float32)
        self.ledger[:, 0] = [70.0, 0.0]
        self.ledger_columns = None
        self.need = np.array([0.6, 0.2], dtype=np.float32)
        self.latent_need = np.array([0.2, 0.5], dtype=np.float32)
        self.insight = np.array([0.5, 0.0], dtype=np.float32)
        self.daily_wage = np.array([10.0, 5.0], dtype=np.float32)
        self.fear = np.array([0.3, 0.8], dtype=np.float32)
        self.distance = np.array([50.0, 200.0], dtype=np.float32)
        self.trust = np.array([0.9, 0.4], dtype=np.float32)
        self.reports = np.array([1.0, 5.0], dtype=np.float32)


def test_the_decision_is_the_formula_of_its_docstring():
    d, c = Decision(), _Row()
    r = Relief(n=2, fear=0.5, reports=np.array([0.0, 1.0], dtype=np.float32))
    terms, p, reason = barriers.assess(d, c, np.arange(2), r)
    weight = barriers.perceived_weights(d)
    cost = c.ledger @ weight
    felt_need = np.clip(c.need + c.latent_need * np.minimum(1.0, c.insight), 0, 1)
    expected = np.column_stack([
        d.w_cost * np.log1p(cost / (c.daily_wage * d.cost_reference_days)),
        d.w_fear * c.fear * 0.5,
        d.w_distance * c.distance / 100,
        d.w_distrust * (1 - c.trust),
        d.w_need * (1 - felt_need),
    ])
    assert np.allclose(terms, expected, rtol=1e-5)
    u = d.intercept - expected.sum(axis=1) + d.w_social * np.minimum(c.reports + [0.0, 1.0], d.social_cap)
    assert np.allclose(p, 1 / (1 + np.exp(-u)), rtol=1e-5)
    assert list(reason) == list(expected.argmax(axis=1))


def test_a_touchpoint_moves_feeling_fear_trust_and_failures_by_its_formula():
    k = emotions.coefficients(Emotions(), Journey())
    n = 2
    c = SimpleNamespace(**{f: np.zeros(n, dtype=np.float32) for f in emotions.Memory._fields},
                        fear=np.array([0.5, 0.5], dtype=np.float32), trust=np.array([0.5, 0.5], dtype=np.float32),
                        failures=np.zeros(n, dtype=np.int16))
    c.expectation[:] = 0.6
    c.peak_perf[:] = np.nan
    c.end_perf[:] = np.nan
    tp = SimpleNamespace(failure_quality=0.1, kano="must_be", weight=2.0, fear_effect=0.1, trust_effect=-0.2)
    felt, delta = emotions.meet(c, np.arange(n), np.array([True, False]), 0.9, tp, k)
    performance = np.array([min(0.9, 0.6), min(0.1, 0.6)])  # must-be: meeting expectation is taken for granted
    assert np.allclose(felt, performance)
    assert np.allclose(delta, k["reactivity"][0] * 2.0 * (performance - 0.6))
    assert np.allclose(c.valence, np.clip(delta, -1, 1))
    assert list(c.failures) == [0, 1]
    assert np.allclose(c.fear, 0.6) and np.allclose(c.trust, 0.3)


def test_no_kernel_takes_more_than_ten_arguments():
    """Kernels take named records (rows, coefficients, relief), not long positional lists (issue 22, item 4)."""
    import ast
    from pathlib import Path

    import cxsim

    long = []
    for path in Path(cxsim.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and any("njit" in ast.unparse(d) for d in node.decorator_list):
                if len(node.args.args) > 10:
                    long.append(f"{path.name}:{node.name} ({len(node.args.args)})")
    assert long == []
