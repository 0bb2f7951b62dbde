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

CASH_COSTS = ("price", "transport", "food", "lodging", "medicine", "own_wages", "companion_wages", "follow_up")
"""Kinds of out-of-pocket cost in each customer's ledger (currency)."""

BARRIERS = ("cost", "fear", "distance", "distrust", "low_need")
"""Perceived barriers at the decision, in the order of their columns."""

REASONS = BARRIERS + ("dissatisfaction",)
"""Reasons a customer gives for staying away or leaving (codes are indices)."""

WAGE_KINDS = ("own_wages", "companion_wages")
"""Costs that are income forgone rather than cash spent (they do not empty the purse)."""


def build_ledger(costs, distance, daily_wage, companion, works) -> np.ndarray:
    """The (customers × cost kinds) ledger of what using the service would cost each customer."""
    n = len(distance)
    ledger = np.zeros((n, len(CASH_COSTS)), dtype=np.float32)
    party = 1.0 + companion  # the patient and, if needed, a companion travel and eat
    col = {k: i for i, k in enumerate(CASH_COSTS)}
    round_trip = 2.0 * costs.fare_per_km * distance
    ledger[:, col["price"]] = costs.price
    ledger[:, col["transport"]] = round_trip * party
    ledger[:, col["food"]] = costs.food_per_day * costs.stay_days * party
    ledger[:, col["lodging"]] = costs.lodging_per_day * costs.stay_days * party
    ledger[:, col["medicine"]] = costs.medicine
    ledger[:, col["own_wages"]] = daily_wage * costs.stay_days * works
    ledger[:, col["companion_wages"]] = daily_wage * costs.stay_days * companion
    ledger[:, col["follow_up"]] = costs.follow_up_trips * (round_trip + daily_wage * works)
    return ledger


CASH_SPENT = np.array([k not in WAGE_KINDS and k != "follow_up" for k in CASH_COSTS], dtype=np.float32)
"""Cost kinds paid in cash when travelling for the service (follow-up is paid later)."""


def perceived_weights(decision) -> np.ndarray:
    """Weight of each cost kind in the perceived cost: cash 1, wages forgone ``w_forgone``."""
    return _weights(decision.w_forgone)


@lru_cache(maxsize=32)
def _weights(w_forgone: float) -> np.ndarray:
    w = np.where(np.isin(CASH_COSTS, WAGE_KINDS), w_forgone, 1.0).astype(np.float32)
    w.flags.writeable = False
    return w


def perceived_barriers(decision, *, cash_cost, daily_wage, fear, distance, trust, perceived_need) -> np.ndarray:
    """Barrier terms (customers × BARRIERS) in utility units, all ≥ 0."""
    out = np.empty((len(cash_cost), len(BARRIERS)), dtype=np.float32)
    out[:, 0] = decision.w_cost * np.log1p(cash_cost / (daily_wage * decision.cost_reference_days))
    out[:, 1] = decision.w_fear * fear
    out[:, 2] = decision.w_distance * distance / 100.0
    out[:, 3] = decision.w_distrust * (1.0 - trust)
    out[:, 4] = decision.w_need * (1.0 - perceived_need)
    return out


def utility(decision, barriers: np.ndarray, reports: np.ndarray) -> np.ndarray:
    """Net utility of accepting: intercept minus barriers plus social proof."""
    social = decision.w_social * np.minimum(reports, decision.social_cap)
    return decision.intercept - barriers.sum(axis=1) + social


def accept_probability(u: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-u))


def binding_reason(barriers: np.ndarray) -> np.ndarray:
    """Index into BARRIERS of each customer's largest barrier."""
    return barriers.argmax(axis=1).astype(np.int8)


def days_of_wages(amount, daily_wage):
    return amount / np.maximum(daily_wage, 1e-6)
