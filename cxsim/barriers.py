"""Access barriers: the hidden-cost ledger and the perceived total cost of saying yes.

A customer offered the service weighs the benefit of the need met against every
barrier in the way, each in utility units:

    U = intercept − Σ_b barrier_b + w_social · min(reports, cap)

    cost      = w_cost · ln(1 + perceived cost / (daily wage · reference days))   (money vs means;
                wages forgone count w_forgone of cash spent: mental accounting)
    fear      = w_fear · fear
    distance  = w_distance · distance_km / 100 · (1 − escort)
    distrust  = w_distrust · (1 − trust)
    low_need  = w_need · (1 − perceived need)

and accepts with probability logistic(U). The *binding reason* of a decliner is
the barrier with the largest term: the one whose removal would raise the
chance to accept the most. That is what the non-user would say when asked.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .emotions import per_customer
from .kernels import njit
from .ledger import CASH_COSTS, CASH_SPENT, WAGE_KINDS, build_ledger  # noqa: F401  (the ledger the barriers weigh, re-exported)
from .prefetch import prefetch_ahead

BARRIERS = ("cost", "fear", "distance", "distrust", "low_need")
"""Perceived barriers at the decision, in the order of their columns."""

REASONS = BARRIERS + ("dissatisfaction",)
"""Reasons a customer gives for staying away or leaving (codes are indices)."""

def perceived_weights(decision) -> np.ndarray:
    """Weight of each cost kind in the perceived cost: cash 1, wages forgone ``w_forgone``."""
    return _weights(decision.w_forgone)


@lru_cache(maxsize=32)
def _weights(w_forgone: float) -> np.ndarray:
    w = np.where(np.isin(CASH_COSTS, WAGE_KINDS), w_forgone, 1.0).astype(np.float32)
    w.flags.writeable = False
    return w


def cost_borne(ledger: np.ndarray, ids: np.ndarray, weight: np.ndarray, share_left: dict[int, np.ndarray],
               columns: np.ndarray | None = None) -> np.ndarray:
    """Weighted cost customers ``ids`` still bear: Σ_kind weight · ledger · share left to them.

    ``share_left`` maps a cost column (its index in :data:`CASH_COSTS`) to the
    share each customer still pays after the interventions covering them (columns
    not in it are paid in full). ``columns`` gives the kinds ``ledger`` keeps
    (default: all, see :class:`cxsim.agents.Customers`).
    """
    weight, cols, shares = _kept(*_share_table(weight, share_left, len(ids)), columns)
    return _cost_borne(ledger, np.asarray(ids), weight, cols, shares)


def assess(decision, c, ids: np.ndarray, relief) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weigh the service for customers ``ids`` (state ``c``) under the interventions' ``relief``.

    Returns the barrier terms (customers × :data:`BARRIERS`, utility units, all ≥ 0),
    the chance to accept, logistic(U), and the binding reason (index of the
    largest term) – the formulas of this module's docstring. Relief multiplies
    fear, distance and distrust, adds latent-need insight and social reports, and
    leaves each cost kind's share in ``relief.cost_share``.
    """
    n = len(ids)
    weight, cols, shares = _kept(*_share_table(perceived_weights(decision), relief.cost_share, n), c.ledger_columns)
    d = decision
    coef = np.array([d.w_cost, d.cost_reference_days, d.w_fear, d.w_distance, d.w_distrust, d.w_need,
                     d.intercept, d.w_social, d.social_cap], dtype=np.float32)
    terms = np.empty((n, len(BARRIERS)), dtype=np.float32)
    p = np.empty(n, dtype=np.float32)
    reason = np.empty(n, dtype=np.int8)
    _assess(c.ledger, np.asarray(ids), weight, cols, shares,
            c.need, c.latent_need, c.insight, *per_customer(relief.insight), c.daily_wage,
            c.fear, *per_customer(relief.fear), c.distance, *per_customer(relief.distance),
            c.trust, *per_customer(relief.distrust), c.reports, *per_customer(relief.reports),
            coef, terms, p, reason)
    return terms, p, reason


def _share_table(weight: np.ndarray, share_left: dict, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights with the shares that are the same for everyone folded in, and the columns whose share varies."""
    weight = np.array(weight, dtype=np.float32)
    varying = {col: share for col, share in share_left.items() if isinstance(share, np.ndarray)}
    for col, share in share_left.items():
        if col not in varying:
            weight[col] *= np.float32(share)
    cols = np.fromiter(varying, dtype=np.int64, count=len(varying))
    shares = np.empty((len(cols), n), dtype=np.float32)
    for row, share in zip(shares, varying.values()):
        row[:] = share
    return weight, cols, shares


def _kept(weight: np.ndarray, cols: np.ndarray, shares: np.ndarray, columns: np.ndarray | None):
    """The weights and varying shares of :func:`_share_table` for the kinds a ledger keeps, indexed by its columns.

    A kind it does not keep costs everyone zero, so leaving it out of the sum
    changes no total.
    """
    if columns is None or len(columns) == len(CASH_COSTS):
        return weight, cols, shares
    position = {int(k): j for j, k in enumerate(columns)}
    keep = [m for m, col in enumerate(cols.tolist()) if col in position]
    return weight[columns], np.array([position[int(cols[m])] for m in keep], dtype=np.int64), shares[keep]


# -- compiled kernels (float32 throughout, one pass over the customers) -------------
_ONE, _ZERO, _CENTS = np.float32(1.0), np.float32(0.0), np.float32(100.0)


@njit(cache=True, inline="always")
def _borne(ledger, i, j, weight, cols, shares):
    total = _ZERO
    for k in range(ledger.shape[1]):
        f = weight[k]
        for m in range(len(cols)):
            if cols[m] == k:
                f *= shares[m, j]
        total += ledger[i, k] * f
    return total


@njit(cache=True)
def _cost_borne(ledger, ids, weight, cols, shares):
    out = np.empty(len(ids), dtype=np.float32)
    for j in range(len(ids)):
        out[j] = _borne(ledger, ids[j], j, weight, cols, shares)
    return out


@njit(cache=True)
def _assess(ledger, ids, weight, cols, shares, need, latent_need, insight, insight_add, ia, daily_wage,
            fear, fear_mult, fm, distance, distance_mult, dm, trust, distrust_mult, tm, reports, reports_add, ra,
            coef, terms, p, reason):
    w_cost, reference_days, w_fear, w_distance, w_distrust, w_need, intercept, w_social, social_cap = coef
    for j in range(len(ids)):
        prefetch_ahead(ids, j, fear, reports)  # the row's start and its reports, next to its ledger
        i = ids[j]
        cost = _borne(ledger, i, j, weight, cols, shares)
        seen = min(_ONE, insight[i] + insight_add[j * ia])
        felt_need = min(max(need[i] + latent_need[i] * seen, _ZERO), _ONE)
        terms[j, 0] = w_cost * np.log1p(cost / (daily_wage[i] * reference_days))
        terms[j, 1] = w_fear * (fear[i] * fear_mult[j * fm])
        terms[j, 2] = w_distance * (distance[i] * distance_mult[j * dm]) / _CENTS
        terms[j, 3] = w_distrust * ((_ONE - trust[i]) * distrust_mult[j * tm])
        terms[j, 4] = w_need * (_ONE - felt_need)
        total, top = terms[j, 0], 0
        for b in range(1, terms.shape[1]):
            total += terms[j, b]
            if terms[j, b] > terms[j, top]:
                top = b
        u = intercept - total + w_social * min(reports[i] + reports_add[j * ra], social_cap)
        p[j] = _ONE / (_ONE + np.exp(-u))
        reason[j] = top


def days_of_wages(amount, daily_wage):
    return amount / np.maximum(daily_wage, 1e-6)
