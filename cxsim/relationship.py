"""The relationship after the first service: installed base, repeat encounters, drifting needs, contracts.

A customer who reaches LOYAL stays in a relationship with the provider. With the
``[relationship]`` parameters at their defaults nothing here runs, and the
journey is the one-off service of the founding case. Otherwise, in phase 7 of
:data:`cxsim.model.PHASES`:

* **Installed base** (:func:`seed_installed_base`, at set-up). A share
  ``customers_at_start`` of each segment is already a customer at step 0, with
  satisfaction ~ Beta(``satisfaction_at_start``) and loyalty equal to it (a
  long relationship has converged), a remembered experience consistent with it
  (:func:`cxsim.emotions.seed_memory`) and the score that follows; its promoters
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
  :func:`cxsim.emotions.judged`), and their satisfaction becomes
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

Loyalty is kept in closed form per anchor cohort (:func:`cxsim.journey.loyalty`);
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
    from .state import World as CxModel

NEVER = np.iinfo(np.int32).max


def seed_installed_base(model: "CxModel") -> None:
    """Make the segments' ``customers_at_start`` loyal customers at step 0."""
    sc, c = model.pars, model.customers
    segs = list(sc.population.segments.values())
    share = np.array([s.customers_at_start for s in segs], dtype=np.float32)
    if not share.any():
        return
    everyone = np.arange(c.n)
    ids = np.flatnonzero(model.streams.uniform("installed_base", everyone) < share[c.segment])
    if len(ids) == 0:
        return
    mean = np.array([s.satisfaction_at_start for s in segs], dtype=np.float64)[c.segment]
    m = np.clip(mean, 1e-3, 1 - 1e-3)
    k = sc.population.concentration
    sat = model.streams.generator("population:satisfaction_at_start").beta(m * k, (1 - m) * k).astype(np.float32)[ids]
    journey.move(model, ids, journey.Stage.UNAWARE, journey.Stage.LOYAL)
    c.aware_budget[ids] = np.inf  # already customers: never "become aware" again
    c.satisfaction[ids] = sat
    c.loyalty[ids] = sat
    c.t_anchor[ids] = model.t
    c.outcome[ids] = 1
    emotions.seed_memory(c, ids, sat)
    score = emotions.recommend_score(sat, c.peak[ids], c.end[ids], c.trough[ids], model.feeling)
    c.recommend[ids] = score
    journey.join_cohort(model, ids, +1)
    model.tally["scored"] += len(ids)
    model.tally["installed_base"] += len(ids)
    journey.count_scores(model, score, +1)
    model.satisfaction_sum += float(sat.sum())
    journey.talk(model, ids[score > emotions.DETRACTOR], +1)
    journey.refer(model, ids[score >= emotions.PROMOTER], positive=True, occasion="installed_base")
    journey.refer(model, ids[score <= emotions.DETRACTOR], positive=False, occasion="installed_base")
    term = sc.relationship.term_steps
    if term:
        phase = model.streams.uniform("contract_phase", ids)
        c.t_renew[ids] = model.t + 1 + np.minimum((phase * term).astype(np.int32), term - 1)


def set_satisfaction(model: "CxModel", ids: np.ndarray, new: np.ndarray, occasion: str) -> None:
    """Loyal customers ``ids`` now feel ``new`` satisfaction at an encounter (``occasion``).

    Their loyalty path is re-anchored now, and their score to recommend is asked
    again (:func:`cxsim.journey.rescore`): the score lives with satisfaction.
    """
    if len(ids) == 0:
        return
    c = model.customers
    now = journey.loyalty_now(model, ids)
    journey.join_cohort(model, ids, -1)
    model.satisfaction_sum += float(new.sum() - c.satisfaction[ids].sum())
    c.satisfaction[ids] = new
    c.loyalty[ids] = now
    c.t_anchor[ids] = model.t
    journey.join_cohort(model, ids, +1)
    journey.rescore(model, ids, occasion)


def relationship(model: "CxModel") -> None:
    """Phase 7: drifting needs, repeat encounters, moments of defection, contract renewals."""
    r = model.pars.relationship
    if not r.active:
        return
    c = model.customers
    ids = journey.in_stage(model, journey.Stage.LOYAL)
    if len(ids) == 0:
        return
    if r.term_steps:
        fresh = ids[c.t_renew[ids] == NEVER]
        c.t_renew[fresh] = model.t + r.term_steps
    if r.expectation_drift:
        pace = relief_for(model, ids).pace
        c.expectation[ids] = clamp(c.expectation[ids] + np.float32(r.expectation_drift) * (1.0 - pace), 0.0, 1.0)
    if r.encounters:
        meet = model.streams.uniform("encounter", ids, model.t) < r.encounters
        encounter(model, ids[meet])
    if r.term_steps:
        renew(model)


def encounter(model: "CxModel", ids: np.ndarray) -> None:
    """Loyal customers ``ids`` have a repeat encounter."""
    if len(ids) == 0:
        return
    c, r = model.customers, model.pars.relationship
    relief = relief_for(model, ids)
    emotions.begin_episode(c, ids, model.feeling)
    journey.meet_touchpoints(model, ids, "relationship")
    perf = emotions.judged(c, ids, model.feeling)  # peak and end of the encounter (duration neglect)
    felt = ~np.isnan(perf)
    expectation = c.expectation[ids]
    met = emotions.satisfaction(perf[felt], expectation[felt], model.feeling)
    sat = ((1.0 - r.memory) * c.satisfaction[ids[felt]] + r.memory * met).astype(np.float32)
    set_satisfaction(model, ids[felt], sat, "encounter")
    basket = model.basket[c.segment[ids]] * (1.0 + c.latent_need[ids] * np.minimum(1.0, c.insight[ids] + relief.insight))
    value = float(basket.sum())
    model.value_delivered += value
    model.encounter_value += value
    c.spend[ids] += basket.astype(np.float32)
    c.encounters[ids] += 1
    model.tally["encounters"] += len(ids)
    charge_use(model, ids, relief, "relationship")
    if r.defection:
        low = felt & (perf < expectation)
        model.tally["disappointments"] += int(low.sum())
        at_risk = ids[low]
        now = journey.loyalty_now(model, at_risk)
        p = r.defection * (1.0 - now) * _at(relief.churn, low) * _at(relief.defection, low)
        gone = model.streams.uniform("defection", at_risk, model.t) < p
        model.tally["defections"] += int(gone.sum())
        journey.leave(model, at_risk[gone], now[gone], "relationship", "left after a disappointing encounter")


def renew(model: "CxModel") -> None:
    """Contracts ending now lapse with probability ``lapse · (1 − loyalty)``, else renew."""
    c, r = model.customers, model.pars.relationship
    ids = journey.in_stage(model, journey.Stage.LOYAL)
    due = ids[c.t_renew[ids] <= model.t]
    if len(due) == 0:
        return
    now = journey.loyalty_now(model, due)
    relief = relief_for(model, due)
    p = r.lapse * (1.0 - now) * relief.churn
    lapse = model.streams.uniform("renewal", due, model.t) < p
    model.tally["renewals_due"] += len(due)
    model.tally["lapses"] += int(lapse.sum())
    c.t_renew[due[~lapse]] += r.term_steps
    journey.leave(model, due[lapse], now[lapse], "relationship", "did not renew")
    journey.rescore(model, due[~lapse], "renewal")


def _at(x, mask: np.ndarray):
    return x[mask] if isinstance(x, np.ndarray) else x
