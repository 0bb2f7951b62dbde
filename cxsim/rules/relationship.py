"""The relationship after the first service: installed base, repeat encounters, drifting needs, contracts.

A customer who reaches LOYAL stays in a relationship with the provider. With the
``[relationship]`` parameters at their defaults nothing here runs, and the
journey is the one-off service of the founding case. Otherwise, in phase 7 of
:data:`cxsim.engine.model.PHASES`:

* **Installed base** (:func:`seed_installed_base`, at set-up). A share
  ``customers_at_start`` of each segment is already a customer at step 0, with
  satisfaction ~ Beta(``satisfaction_at_start``) and loyalty equal to it (a
  long relationship has converged), a remembered experience consistent with it
  (:func:`cxsim.rules.emotions.seed_memory`) and the score that follows; its promoters
  recommend and its detractors warn, as new customers do at their outcome. Contracts, if any, are at a random point of
  their term.
* **Drifting needs.** Each step loyal customers' expectations move by
  ``expectation_drift`` (needs move on, competitors raise the bar), except the
  share ``pace`` the provider keeps pace with (account management).
* **Repeat encounters.** Each step a loyal customer has an encounter (a purchase,
  a visit, a call, a service appointment) with probability ``encounters``. They
  meet the ``relationship`` touchpoints; what they remember of earlier episodes
  fades (``emotions.memory_decay``); the encounter's satisfaction follows
  expectation-confirmation on its judged performance (peak and end touchpoints,
  :func:`cxsim.rules.emotions.judged`), and their satisfaction becomes
  ``(1 − memory) · satisfaction + memory · encounter satisfaction``; their score
  to recommend is asked again (promoters recommend, detractors warn). Loyalty keeps
  moving toward satisfaction from where it is (it is re-anchored). Each encounter
  is worth the segment's ``basket`` · (1 + latent need · insight): recommendations
  that make latent needs visible fill the basket.
* **Moments of defection.** An encounter below expectation is a moment of
  defection: the customer leaves at once with probability
  ``defection · (1 − loyalty)`` (less any churn relief and defection relief).
* **Contracts.** With ``term_steps`` > 0 a contract ends every term; the customer
  lets it lapse with probability ``lapse · (1 − loyalty)`` (less churn relief),
  else renews for another term; a renewal is an encounter at which the score to
  recommend is asked again.

Loyalty is kept in closed form per anchor cohort (:func:`cxsim.rules.journey.loyalty`);
:func:`set_satisfaction` is the one way to change a customer's satisfaction after
the outcome: it re-anchors their loyalty path at its current value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import emotions, journey
from .emotions import clamp
from .relief import charge_use, relief_for

if TYPE_CHECKING:
    from ..state.world import World

NEVER = np.iinfo(np.int32).max


def seed_installed_base(world: "World") -> None:
    """Make the segments' ``customers_at_start`` loyal customers at step 0."""
    sc, c = world.pars, world.customers
    segs = list(sc.population.segments.values())
    share = np.array([s.customers_at_start for s in segs], dtype=np.float32)
    if not share.any():
        return
    everyone = np.arange(c.n)
    ids = np.flatnonzero(world.streams.uniform("installed_base", everyone) < share[c.segment])
    if len(ids) == 0:
        return
    mean = np.array([s.satisfaction_at_start for s in segs], dtype=np.float64)[c.segment]
    m = np.clip(mean, 1e-3, 1 - 1e-3)
    k = sc.population.concentration
    sat = world.streams.generator("population:satisfaction_at_start").beta(m * k, (1 - m) * k).astype(np.float32)[ids]
    journey.move(world, ids, journey.Stage.UNAWARE, journey.Stage.LOYAL)
    c.aware_budget[ids] = np.inf  # already customers: never "become aware" again
    c.satisfaction[ids] = sat
    c.loyalty[ids] = sat
    c.t_anchor[ids] = world.t
    c.outcome[ids] = 1
    emotions.seed_memory(c, ids, sat)
    score = emotions.recommend_score(sat, c.peak[ids], c.end[ids], c.trough[ids], world.feeling)
    c.recommend[ids] = score
    journey.join_cohort(world, ids, +1)
    world.tally["scored"] += len(ids)
    world.tally["installed_base"] += len(ids)
    journey.count_scores(world, score, +1)
    world.satisfaction_sum += float(sat.sum())
    journey.talk(world, ids[score > emotions.DETRACTOR], +1)
    journey.refer(world, ids[score >= emotions.PROMOTER], positive=True, occasion="installed_base")
    journey.refer(world, ids[score <= emotions.DETRACTOR], positive=False, occasion="installed_base")
    term = sc.relationship.term_steps
    if term:
        phase = world.streams.uniform("contract_phase", ids)
        c.t_renew[ids] = world.t + 1 + np.minimum((phase * term).astype(np.int32), term - 1)


def set_satisfaction(world: "World", ids: np.ndarray, new: np.ndarray, occasion: str) -> None:
    """Loyal customers ``ids`` now feel ``new`` satisfaction at an encounter (``occasion``).

    Their loyalty path is re-anchored now, and their score to recommend is asked
    again (:func:`cxsim.rules.journey.rescore`): the score lives with satisfaction.
    """
    if len(ids) == 0:
        return
    c = world.customers
    now = journey.loyalty_now(world, ids)
    journey.join_cohort(world, ids, -1)
    world.satisfaction_sum += float(new.sum() - c.satisfaction[ids].sum())
    c.satisfaction[ids] = new
    c.loyalty[ids] = now
    c.t_anchor[ids] = world.t
    journey.join_cohort(world, ids, +1)
    journey.rescore(world, ids, occasion)


def relationship(world: "World") -> None:
    """Phase 7: drifting needs, repeat encounters, moments of defection, contract renewals."""
    r = world.pars.relationship
    if not r.active:
        return
    c = world.customers
    ids = journey.in_stage(world, journey.Stage.LOYAL)
    if len(ids) == 0:
        return
    if r.term_steps:
        fresh = ids[c.t_renew[ids] == NEVER]
        c.t_renew[fresh] = world.t + r.term_steps
    if r.expectation_drift:
        pace = relief_for(world, ids).pace
        c.expectation[ids] = clamp(c.expectation[ids] + np.float32(r.expectation_drift) * (1.0 - pace), 0.0, 1.0)
    if r.encounters:
        meet = world.streams.uniform("encounter", ids, world.t) < r.encounters
        encounter(world, ids[meet])
    if r.term_steps:
        renew(world)


def encounter(world: "World", ids: np.ndarray) -> None:
    """Loyal customers ``ids`` have a repeat encounter."""
    if len(ids) == 0:
        return
    c, r = world.customers, world.pars.relationship
    relief = relief_for(world, ids)
    emotions.begin_episode(c, ids, world.feeling)
    journey.meet_touchpoints(world, ids, "relationship")
    perf = emotions.judged(c, ids, world.feeling)  # peak and end of the encounter (duration neglect)
    felt = ~np.isnan(perf)
    expectation = c.expectation[ids]
    met = emotions.satisfaction(perf[felt], expectation[felt], world.feeling)
    sat = ((1.0 - r.memory) * c.satisfaction[ids[felt]] + r.memory * met).astype(np.float32)
    set_satisfaction(world, ids[felt], sat, "encounter")
    basket = world.basket[c.segment[ids]] * (1.0 + c.latent_need[ids] * np.minimum(1.0, c.insight[ids] + relief.insight))
    value = float(basket.sum())
    world.value_delivered += value
    world.encounter_value += value
    c.spend[ids] += basket.astype(np.float32)
    c.encounters[ids] += 1
    world.tally["encounters"] += len(ids)
    charge_use(world, ids, relief, "relationship")
    if r.defection:
        low = felt & (perf < expectation)
        world.tally["disappointments"] += int(low.sum())
        at_risk = ids[low]
        now = journey.loyalty_now(world, at_risk)
        p = r.defection * (1.0 - now) * _at(relief.churn, low) * _at(relief.defection, low)
        gone = world.streams.uniform("defection", at_risk, world.t) < p
        world.tally["defections"] += int(gone.sum())
        journey.leave(world, at_risk[gone], now[gone], "relationship", "left after a disappointing encounter")


def renew(world: "World") -> None:
    """Contracts ending now lapse with probability ``lapse · (1 − loyalty)``, else renew."""
    c, r = world.customers, world.pars.relationship
    ids = journey.in_stage(world, journey.Stage.LOYAL)
    due = ids[c.t_renew[ids] <= world.t]
    if len(due) == 0:
        return
    now = journey.loyalty_now(world, due)
    relief = relief_for(world, due)
    p = r.lapse * (1.0 - now) * relief.churn
    lapse = world.streams.uniform("renewal", due, world.t) < p
    world.tally["renewals_due"] += len(due)
    world.tally["lapses"] += int(lapse.sum())
    c.t_renew[due[~lapse]] += r.term_steps
    journey.leave(world, due[lapse], now[lapse], "relationship", "did not renew")
    journey.rescore(world, due[~lapse], "renewal")


def _at(x, mask: np.ndarray):
    return x[mask] if isinstance(x, np.ndarray) else x
