"""The customer journey: stages, and the order of everything that happens in one step.

Stages (every customer is in exactly one)::

    UNAWARE ─awareness→ AWARE ─consideration→ OFFERED ─decision→ ACCEPTED ─access→ SERVED ─follow-up→ LOYAL
                                                  │                  │                              │
                                                  └→ DECLINED        └→ DROPPED                     └→ CHURNED
                                                       │ (a tie's recommendation: back to OFFERED)

One step (a week by default) runs these phases (:data:`cxsim.engine.model.PHASES`), in this order, each on the
customers that are due; a customer can pass several stages in one step when a
delay is 0:

1. **interventions** – which interventions act this step (``start ≤ t < stop``);
   outreach rates are refreshed when that set changes. **Staff morale** moves
   toward its set point; one-off pushes jump it (:mod:`cxsim.rules.staff`).
2. **awareness** – every unaware customer accumulates the hazard
   ``outreach · reach + word_of_mouth · share of the people who talk to them that
   use the service`` and becomes aware once it exceeds their Exp(1) budget.
   Touchpoints of stage ``awareness``.
3. **consideration** – a recall active from this step offers decliners the service again
   (its own step); aware customers are screened / offered the service at the
   screening hazard (same budget technique). Touchpoints of ``consideration``.
4. **decision** – offered customers weigh need against every barrier
   (:mod:`cxsim.rules.barriers`) under the interventions that cover them; accept, or
   decline and record the binding reason.
5. **access** – accepted customers due to travel: those whose cash falls short of
   the out-of-pocket cost may drop out (reason ``cost``); the rest meet the
   ``access`` and ``service`` touchpoints and are served. Providers pay the
   subsidies of the interventions that cover them.
6. **follow-up** – served customers due for follow-up attend it (always, if it
   comes to their village); the core outcome is drawn; satisfaction, memory and
   the 0–10 score to recommend are set; they become LOYAL. Promoters (9–10)
   recommend to their ties (awareness, less fear, more trust, decliners
   reconsider); detractors (0–6) warn them.
7. **relationship** – (only with ``[relationship]`` set, :mod:`cxsim.rules.relationship`)
   loyal customers' expectations drift; those due a repeat encounter meet the
   ``relationship`` touchpoints, their satisfaction is updated (loyalty is
   re-anchored), their score to recommend is asked again (:func:`rescore`) and
   the encounter's basket is valued; an encounter below
   expectation is a moment of defection; contracts ending now renew or lapse.
8. **loyalty** – loyal customers' loyalty moves toward their satisfaction; they
   churn at ``churn · (1 − loyalty)``; loyal customers yield repeat value.
9. **feedback** – (only with an ``improvement_loop``: its step, :class:`cxsim.rules.interventions.ImprovementLoop`) actions
   due are done or lapse, fixing touchpoints from the next step; untracked fixes
   relapse; at review steps new actions go to the touchpoints heard failing.
10. **record** – the model's DataCollector records the step's metrics.

At every touchpoint (any phase): only customers of its ``segments`` meet it; it
works with its reliability (after fixes and interventions) at its quality (plus
the staff-morale shift), else at ``failure_quality``; its Kano category shapes
the performance felt (:func:`cxsim.rules.emotions.kano`); a failure may be put right on
the spot (service recovery, :func:`cxsim.rules.emotions.recover`) and is heard by the
improvement loops that cover the customer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..state.kernels import njit
from ..state.network import scatter_add, unique_ids
from ..state.prefetch import prefetch_ahead
from . import barriers, emotions, staff
from .barriers import BARRIERS, REASONS
from .emotions import DETRACTOR, PROMOTER
from .relief import charge_use, recovery_chance, relief_for, take_steps, touchpoint_lift
from ..state.stages import STAGES, TALKING, Stage, reached  # noqa: F401  (the journey's stages, re-exported)

if TYPE_CHECKING:
    from ..state.world import World


_COST = BARRIERS.index("cost")


# -- transitions -----------------------------------------------------------------
def move(world: "World", ids: np.ndarray, old: Stage, new: Stage) -> None:
    """Move customers ``ids`` (all in stage ``old``) to stage ``new``."""
    c = world.customers
    _move(c.stage, c.visited, c.t_stage, ids, int(new), world.t)
    world.counts[old] -= len(ids)
    world.counts[new] += len(ids)


@njit(cache=True)
def _move(stage, visited, t_stage, ids, new, t):
    bit = np.uint16(1 << new)
    for j in range(len(ids)):
        prefetch_ahead(ids, j, stage, visited)  # the stage array and the row
        i = ids[j]
        stage[i] = new
        visited[i] |= bit
        t_stage[i] = t


def in_stage(world: "World", stage: Stage) -> np.ndarray:
    return np.flatnonzero(world.customers.stage == stage)




# -- phases ------------------------------------------------------------------------
def awareness(world: "World") -> None:
    mixed = world.pars.journey.word_of_mouth * world.net.global_share()
    become_aware(world, _spend(world.customers.aware_budget, world.aware_rate, np.float32(mixed)))  # budgets of the aware are inf


@njit(cache=True)
def _spend(budget, rate, extra):
    """``budget -= rate + extra`` (per customer, in that order); returns who ran out (budget ≤ 0)."""
    spent = 0
    for i in range(len(budget)):
        b = budget[i] - rate[i]
        if extra:
            b -= extra
        budget[i] = b
        spent += b <= 0
    return _at_most(budget, np.float32(0.0), spent)


@njit(cache=True)
def _take_due(due_at, now):
    """Customers whose time has come (``due_at ≤ now``); their ``due_at`` becomes inf."""
    due = 0
    for i in range(len(due_at)):
        due += due_at[i] <= now
    out = _at_most(due_at, now, due)
    for i in out:
        due_at[i] = np.inf
    return out


@njit(cache=True, inline="always")
def _at_most(values, limit, count):
    """Indices of the ``count`` entries of ``values`` that are ≤ ``limit``, in order."""
    out = np.empty(count, dtype=np.int64)
    k, i = 0, 0
    while k < count:
        if values[i] <= limit:
            out[k] = i
            k += 1
        i += 1
    return out


def become_aware(world: "World", ids: np.ndarray) -> None:
    if len(ids) == 0:
        return
    c = world.customers
    move(world, ids, Stage.UNAWARE, Stage.AWARE)
    c.aware_budget[ids] = np.inf
    budget = world.streams.exponential("screening", ids)
    c.screen_at[ids] = world.screen_hazard + budget
    world.log(ids, "awareness", "became aware")
    meet_touchpoints(world, ids, "awareness")


def talk(world: "World", talkers: np.ndarray, sign: int) -> None:
    """Customers start (+1) or stop (−1) talking about the service to the people they talk to."""
    if len(talkers) == 0:
        return
    world.net.add_talk(world.customers.talk_count, world.aware_rate, talkers, sign, world.pars.journey.word_of_mouth)


def consideration(world: "World") -> None:
    take_steps(world, "consideration")  # a recall offers decliners the service again, before screening
    c = world.customers
    boost = sum(iv.across_organisation("screening_boost") for _, iv in world.active)
    world.screen_hazard += world.pars.journey.screening * (1.0 + boost)
    ids = _take_due(c.screen_at, np.float32(world.screen_hazard))  # inf unless aware and unscreened
    if len(ids) == 0:
        return
    move(world, ids, Stage.AWARE, Stage.OFFERED)
    world.agenda.book("decision", world.t, ids)
    world.tally["offered"] += len(ids)
    world.log(ids, "consideration", "screened and offered the service")
    meet_touchpoints(world, ids, "consideration")


def decision(world: "World") -> None:
    ids = world.agenda.due("decision", world.t)
    if len(ids) == 0:
        return
    c, sc = world.customers, world.pars
    relief = relief_for(world, ids)
    _, p, reason = barriers.assess(sc.decision, c, ids, relief)
    draw = world.streams.uniform_next("decision", ids, c.decisions)
    yes = draw < p
    charge_use(world, ids, relief, "decision")
    accept(world, ids[yes])
    decline(world, ids[~yes], reason[~yes])


def accept(world: "World", ids: np.ndarray) -> None:
    if len(ids) == 0:
        return
    c = world.customers
    move(world, ids, Stage.OFFERED, Stage.ACCEPTED)
    world.tally["accepted"] += len(ids)
    c.reason[ids] = -1
    world.agenda.book("access", world.t + world.pars.journey.access_steps, ids)
    world.tally["referral_acceptances"] += int(c.referred[ids].sum())
    talk(world, ids, +1)
    world.log(ids, "decision", "accepted")


def decline(world: "World", ids: np.ndarray, reasons: np.ndarray) -> None:
    if len(ids) == 0:
        return
    c = world.customers
    move(world, ids, Stage.OFFERED, Stage.DECLINED)
    c.reason[ids] = reasons
    world.log(ids, "decision", "declined", reasons=reasons)


def access(world: "World") -> None:
    ids = world.agenda.due("access", world.t)
    if len(ids) == 0:
        return
    c, j = world.customers, world.pars.journey
    relief = relief_for(world, ids)
    cash_needed = relief.remaining(c.ledger, ids, barriers.CASH_SPENT, c.ledger_columns)
    short = cash_needed > c.cash[ids]
    drop = short & (world.streams.uniform("shortfall", ids) < j.shortfall_dropout)
    dropped = ids[drop]
    if len(dropped):
        move(world, dropped, Stage.ACCEPTED, Stage.DROPPED)
        c.reason[dropped] = _COST
        talk(world, dropped, -1)
        world.log(dropped, "access", "could not raise the cash to travel")
    served = ids[~drop]
    if len(served) == 0:
        return
    charge_use(world, served, relief.subset(~drop), "access")
    world.costs["service"] += world.pars.value.service_cost * len(served)
    meet_touchpoints(world, served, "access")
    meet_touchpoints(world, served, "service")
    move(world, served, Stage.ACCEPTED, Stage.SERVED)
    world.tally["served"] += len(served)
    world.agenda.book("follow_up", world.t + j.follow_up_steps, served)
    world.log(served, "service", "served")


def follow_up(world: "World") -> None:
    ids = world.agenda.due("follow_up", world.t)
    if len(ids) == 0:
        return
    c, sc = world.customers, world.pars
    j, e = sc.journey, sc.emotions
    relief = relief_for(world, ids)
    attend = (world.streams.uniform("follow_up", ids) < j.follow_up_attendance) | relief.at_home
    c.followed_up[ids] = attend
    charge_use(world, ids[attend], relief.subset(attend), "follow_up")
    meet_touchpoints(world, ids[attend], "follow_up")
    good = world.streams.uniform("outcome", ids) < j.success + j.follow_up_success * attend
    c.outcome[ids] = good
    delta, score = emotions.conclude(c, ids, good, world.feeling)
    world.log(ids, "follow_up", "outcome", delta=delta, flag=good, labels=("poor outcome", "good outcome"))
    world.value_delivered += sc.value.per_good_outcome * float(good.sum())
    c.loyalty[ids] = sc.loyalty.initial
    c.t_anchor[ids] = world.t
    move(world, ids, Stage.SERVED, Stage.LOYAL)
    join_cohort(world, ids, +1)
    world.tally["scored"] += len(ids)
    world.tally["good_outcomes"] += int(good.sum())
    world.tally["followed_up"] += int(attend.sum())
    count_scores(world, score, +1)
    world.satisfaction_sum += float(c.satisfaction[ids].sum())
    detractors = ids[score <= DETRACTOR]
    talk(world, detractors, -1)
    refer(world, ids[score >= PROMOTER], positive=True)
    refer(world, detractors, positive=False)


def count_scores(world: "World", scores: np.ndarray, sign: int) -> None:
    """Add (+1) or remove (−1) scores from the promoter and detractor tallies (NPS follows current scores)."""
    world.tally["promoters"] += sign * int(np.count_nonzero(scores >= PROMOTER))
    world.tally["detractors"] += sign * int(np.count_nonzero(scores <= DETRACTOR))


def rescore(world: "World", ids: np.ndarray, occasion: str) -> None:
    """Loyal customers ``ids`` are asked again at an encounter (the living score to recommend).

    Their 0–10 score follows their satisfaction and remembered experience now; the
    promoter and detractor tallies follow; those who become detractors stop talking
    about the service and those who stop being detractors start again. As a new
    customer does at the outcome, a customer who becomes a promoter recommends the
    service to their ties and one who becomes a detractor warns them (draws of
    their own per ``occasion``); one who stays what they were has told their ties
    already and keeps talking (or not) as before.
    """
    if len(ids) == 0:
        return
    c = world.customers
    old = c.recommend[ids].copy()
    new = emotions.recommend_score(c.satisfaction[ids], c.peak[ids], c.end[ids], c.trough[ids], world.feeling)
    c.recommend[ids] = new
    count_scores(world, old, -1)
    count_scores(world, new, +1)
    became_detractor = (old > DETRACTOR) & (new <= DETRACTOR)
    talk(world, ids[(old <= DETRACTOR) & (new > DETRACTOR)], +1)
    talk(world, ids[became_detractor], -1)
    refer(world, ids[(old < PROMOTER) & (new >= PROMOTER)], positive=True, occasion=occasion)
    refer(world, ids[became_detractor], positive=False, occasion=occasion)


def refer(world: "World", tellers: np.ndarray, positive: bool, occasion: str = "") -> None:
    """Promoters recommend the service to their ties; detractors warn them.

    ``occasion`` names the moment after the outcome (an encounter, a renewal, ...)
    so that its draws are its own.
    """
    if len(tellers) == 0:
        return
    c, r = world.customers, world.pars.referral
    targets = world.net.targets(tellers, world.streams, world.t)
    stream = f"tell:{occasion}" if occasion else "tell"
    told = world.streams.uniform_grid(stream, tellers, targets.shape[1], world.t) < r.tell
    heard = targets[told]
    if len(heard) == 0:
        return
    who = unique_ids(heard, c.n)
    if not positive:
        world.tally["warnings"] += len(heard)
        emotions.hear(c, who, fear_keep=1.0, fear_add=r.warn_fear, trust_add=-r.warn_trust)
        return
    world.tally["referrals"] += len(heard)
    c.referrals_made[tellers] += told.sum(axis=1, dtype=np.int16)
    scatter_add(c.reports, heard, 1.0)
    emotions.hear(c, who, fear_keep=1.0 - r.fear_relief, fear_add=0.0, trust_add=r.trust_gain)
    stage = c.stage[who]
    c.referred[who[stage <= Stage.OFFERED]] = True
    become_aware(world, who[stage == Stage.UNAWARE])
    if world.pars.journey.reconsider:
        again = reconsidering(world, who[stage == Stage.DECLINED])
        c.referred[again] = True
        move(world, again, Stage.DECLINED, Stage.OFFERED)
        world.agenda.book("decision", world.t + 1, again)
        world.tally["reconsiderations"] += len(again)


def reconsidering(world: "World", told: np.ndarray) -> np.ndarray:
    """Which decliners ``told`` of a good outcome are offered the service again (``journey.reconsider_chance``).

    At a chance of 1 (the default) all are, and no draw is made, so that runs without the
    setting are unchanged.
    """
    chance = world.pars.journey.reconsider_chance
    if chance >= 1.0 or len(told) == 0:
        return told
    return told[world.streams.uniform("reconsider", told, world.t) < chance]


def loyalty(world: "World") -> None:
    """Loyalty approaches satisfaction geometrically; churn; repeat value.

    Loyalty k steps after its anchor (becoming a customer, or the last change of
    satisfaction) is ``sat + (anchor loyalty − sat)(1 − learning)^k``, so the mean
    is kept per anchor cohort and no customer is touched unless churn is on.
    """
    lo = world.pars.loyalty
    decay = 1.0 - lo.learning
    ages = world.t - np.arange(len(world.cohorts))
    n, sat, extra = world.cohorts[:, 0], world.cohorts[:, 1], world.cohorts[:, 2]
    world.loyalty_sum = float((sat + (lo.initial * n + extra - sat) * decay ** np.maximum(ages, 0)).sum())
    world.value_delivered += float(world.loyal_by_segment @ world.value_per_step)
    if lo.churn <= 0:
        return
    ids = in_stage(world, Stage.LOYAL)
    now = loyalty_now(world, ids)
    relief = relief_for(world, ids)
    hazard = lo.churn * (1.0 - now) * relief.churn
    gone_mask = world.streams.uniform("churn", ids, world.t) < -np.expm1(-hazard)
    charge_use(world, ids, relief, "loyalty")
    gone = ids[gone_mask]
    if len(gone) == 0:
        return
    world.loyalty_sum -= float(now[gone_mask].sum())
    leave(world, gone, now[gone_mask])


def leave(world: "World", gone: np.ndarray, now: np.ndarray, stage: str = "loyalty", what: str = "left") -> None:
    """Loyal customers ``gone`` (current loyalty ``now``) churn, dissatisfied."""
    if len(gone) == 0:
        return
    c = world.customers
    join_cohort(world, gone, -1)
    c.loyalty[gone] = now
    move(world, gone, Stage.LOYAL, Stage.CHURNED)
    c.reason[gone] = REASONS.index("dissatisfaction")
    talk(world, gone[c.recommend[gone] > DETRACTOR], -1)
    world.log(gone, stage, what)


def join_cohort(world: "World", ids: np.ndarray, sign: int) -> None:
    """Add (+1) or remove (−1) loyal customers from their anchor cohort's sums.

    Columns: customers, sum of their satisfaction, sum of (anchor loyalty − initial loyalty).
    """
    c = world.customers
    entry = c.t_anchor[ids]
    need = int(entry.max()) + 1
    if need > len(world.cohorts):
        world.cohorts = np.vstack([world.cohorts, np.zeros((need - len(world.cohorts), 3))])
    scatter_add(world.cohorts[:, 0], entry, sign)
    scatter_add(world.cohorts[:, 1], entry, sign * c.satisfaction[ids].astype(np.float64))
    extra = c.loyalty[ids].astype(np.float64) - float(np.float32(world.pars.loyalty.initial))
    if extra.any():
        scatter_add(world.cohorts[:, 2], entry, sign * extra)
    world.loyal_by_segment += sign * np.bincount(c.segment[ids], minlength=len(world.loyal_by_segment))


def loyalty_now(world: "World", ids: np.ndarray) -> np.ndarray:
    """Current loyalty of loyal customers ``ids`` (closed form from their anchor step)."""
    c, lo = world.customers, world.pars.loyalty
    sat = c.satisfaction[ids]
    age = world.t - c.t_anchor[ids]
    return (sat + (c.loyalty[ids] - sat) * (1.0 - lo.learning) ** age).astype(np.float32)


def meet_touchpoints(world: "World", ids: np.ndarray, stage: str) -> None:
    """Customers ``ids`` meet every touchpoint of ``stage`` (moments of truth)."""
    if len(ids) == 0:
        return
    c, e = world.customers, world.pars.emotions
    everyone = ids
    for name, tp in world.touchpoints_by_stage.get(stage, ()):
        ids = everyone[world.touchpoint_segments[name][c.segment[everyone]]] if tp.segments else everyone
        if len(ids) == 0:
            continue
        reliability, quality = touchpoint_levels(world, name, tp, ids)
        works = world.streams.uniform(f"touchpoint:{name}", ids, world.t) < reliability
        perf, delta = emotions.meet(c, ids, works, quality, tp, world.feeling)
        if not works.all():
            touchpoint_failed(world, stage, name, tp, ids, works, perf)
        world.log(ids, stage, name, delta=delta, flag=works, labels=("failed", "worked"))


def touchpoint_levels(world: "World", name: str, tp, ids: np.ndarray):
    """Reliability and quality of touchpoint ``name`` for customers ``ids``.

    The touchpoint's levels (after the fixes of the improvement loops covering
    each customer), its quality moved by staff morale, then the interventions
    covering each customer.
    """
    reliability, quality = world.loops.levels(world, name, ids)
    if tp.staff_effect:
        shifted = quality + staff.quality_shift(world, tp)
        quality = min(1.0, max(0.0, shifted)) if np.isscalar(shifted) else np.clip(shifted, 0.0, 1.0)
    return touchpoint_lift(world, name, ids, reliability, quality)


def touchpoint_failed(world: "World", stage: str, name: str, tp, ids: np.ndarray, works: np.ndarray, perf: np.ndarray) -> None:
    """Touchpoint ``name`` failed some of ``ids`` (felt at ``perf``): let loops hear it, recover some on the spot."""
    c, e = world.customers, world.pars.emotions
    failed = ids[~works]
    world.tally["failures"] += len(failed)
    if world.loops:
        world.loops.observe(world, name, ids, works)
    chance = recovery_chance(world, name, tp, failed)
    some = (chance > 0).any() if isinstance(chance, np.ndarray) else chance > 0
    if not some:
        return
    fixed = world.streams.uniform(f"recovery:{name}", failed, world.t) < chance
    rec = failed[fixed]
    if len(rec) == 0:
        return
    recovered = np.full(len(rec), tp.recovery_quality, dtype=np.float32)
    if tp.kano != "performance":
        recovered = emotions.kano(tp.kano, recovered, c.expectation[rec], e.delight_power)
    delta = emotions.recover(c, rec, recovered, tp.weight, world.feeling)
    c.recoveries[rec] += 1
    world.tally["recoveries"] += len(rec)
    world.log(rec, stage, name, delta=delta, flag=np.ones(len(rec), dtype=bool), labels=("", "put right"))
