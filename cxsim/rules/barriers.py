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
from operator import attrgetter
from typing import NamedTuple

import numpy as np

from ..state.kernels import njit
from ..state.ledger import CASH_COSTS, CASH_SPENT, WAGE_KINDS, build_ledger  # noqa: F401  (the ledger the barriers weigh, re-exported)
from ..state.prefetch import prefetch_ahead

BARRIERS = ("cost", "fear", "distance", "distrust", "low_need")
"""Perceived barriers at the decision, in the order of their columns."""

REASONS = BARRIERS + ("dissatisfaction",)
"""Reasons a customer gives for staying away or leaving (codes are indices)."""

COEFFICIENTS = ("w_cost", "reference_days", "w_fear", "w_distance", "w_distrust", "w_need", "intercept", "w_social", "social_cap")
"""The decision's coefficients as the kernel reads them, by name (``reference_days`` is ``cost_reference_days``)."""
COEFFICIENT_RECORD = np.dtype([(name, np.float32) for name in COEFFICIENTS])
"""One float32 field per coefficient: the kernel reads ``k[0].w_cost``, never a position."""


def coefficients(decision) -> np.ndarray:
    """The coefficients of a scenario's ``[decision]`` as one :data:`COEFFICIENT_RECORD` (float32, as the kernel computes).

    Kept for the last ``decision`` asked about (a run asks about the same one at every step; the kernel only reads it).
    """
    global _last
    if _last[0] is not decision:
        names = {"reference_days": "cost_reference_days"}
        record = np.array([tuple(getattr(decision, names.get(f, f)) for f in COEFFICIENTS)], dtype=COEFFICIENT_RECORD)
        record.flags.writeable = False
        _last = (decision, record)
    return _last[1]


_last: tuple = (None, None)


class Row(NamedTuple):
    """The entries of customers' rows (:data:`cxsim.state.agents.ROW`) that the decision reads."""

    ledger: np.ndarray
    need: np.ndarray
    latent_need: np.ndarray
    insight: np.ndarray
    daily_wage: np.ndarray
    fear: np.ndarray
    distance: np.ndarray
    trust: np.ndarray
    reports: np.ndarray


_ROW = attrgetter(*Row._fields)

RELIEF = ("insight", "fear", "distance", "distrust", "reports")
"""The :class:`cxsim.rules.relief.Relief` entries the decision reads, in the columns of the relief array."""
_R_INSIGHT, _R_FEAR, _R_DISTANCE, _R_DISTRUST, _R_REPORTS = (RELIEF.index(name) for name in
                                                            ("insight", "fear", "distance", "distrust", "reports"))


_RELIEF = attrgetter(*RELIEF)


def relief_array(relief) -> tuple[np.ndarray, int]:
    """The entries :data:`RELIEF` of ``relief`` as one float32 array (a row per customer, or one row for
    all when none varies) and its step per customer (1 or 0)."""
    values = _RELIEF(relief)
    if not any(isinstance(v, np.ndarray) for v in values):
        return _same_for_all(*values), 0
    out = np.empty((relief.n, len(RELIEF)), dtype=np.float32)
    for col, v in enumerate(values):
        out[:, col] = v
    return out, 1


@lru_cache(maxsize=64)
def _same_for_all(*values) -> np.ndarray:
    out = np.array([values], dtype=np.float32)
    out.flags.writeable = False
    return out


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
    (default: all, see :class:`cxsim.state.agents.Customers`).
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
    cost = _kept(*_share_table(perceived_weights(decision), relief.cost_share, n), c.ledger_columns)
    row = Row._make(_ROW(c))
    terms = np.empty((n, len(BARRIERS)), dtype=np.float32)
    p = np.empty(n, dtype=np.float32)
    reason = np.empty(n, dtype=np.int8)
    _assess(row, np.asarray(ids), cost, *relief_array(relief), coefficients(decision), terms, p, reason)
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
def _assess(row, ids, cost, relief, each, k, terms, p, reason):
    """``cost``: the (weight, cols, shares) of :func:`_kept`; ``relief``: :func:`relief_array`; ``k``: a :data:`COEFFICIENT_RECORD`."""
    weight, cols, shares = cost
    k = k[0]
    for j in range(len(ids)):
        prefetch_ahead(ids, j, row.fear, row.reports)  # the row's start and its reports, next to its ledger
        i = ids[j]
        r = j * each
        borne = _borne(row.ledger, i, j, weight, cols, shares)
        seen = min(_ONE, row.insight[i] + relief[r, _R_INSIGHT])
        felt_need = min(max(row.need[i] + row.latent_need[i] * seen, _ZERO), _ONE)
        terms[j, 0] = k.w_cost * np.log1p(borne / (row.daily_wage[i] * k.reference_days))
        terms[j, 1] = k.w_fear * (row.fear[i] * relief[r, _R_FEAR])
        terms[j, 2] = k.w_distance * (row.distance[i] * relief[r, _R_DISTANCE]) / _CENTS
        terms[j, 3] = k.w_distrust * ((_ONE - row.trust[i]) * relief[r, _R_DISTRUST])
        terms[j, 4] = k.w_need * (_ONE - felt_need)
        total, top = terms[j, 0], 0
        for b in range(1, terms.shape[1]):
            total += terms[j, b]
            if terms[j, b] > terms[j, top]:
                top = b
        u = k.intercept - total + k.w_social * min(row.reports[i] + relief[r, _R_REPORTS], k.social_cap)
        p[j] = _ONE / (_ONE + np.exp(-u))
        reason[j] = top
