"""The hidden-cost ledger: what using the service would cost each customer, by kind (state; no rules).

Its columns (:data:`CASH_COSTS`) are declared once here; :func:`build_ledger` fills
them from a scenario's ``[costs]`` at set-up. How the ledger weighs on a decision
is :mod:`cxsim.barriers`; who relieves which column, :mod:`cxsim.relief`.
"""

from __future__ import annotations

import numpy as np

CASH_COSTS = ("price", "transport", "food", "lodging", "medicine", "own_wages", "companion_wages", "follow_up")
"""Kinds of out-of-pocket cost in each customer's ledger (currency)."""

WAGE_KINDS = ("own_wages", "companion_wages")
"""Costs that are income forgone rather than cash spent (they do not empty the purse)."""


def build_ledger(costs, distance, daily_wage, companion, works, out: np.ndarray | None = None) -> np.ndarray:
    """The (customers × cost kinds) ledger of what using the service would cost each customer (written into ``out`` if given)."""
    n = len(distance)
    ledger = np.zeros((n, len(CASH_COSTS)), dtype=np.float32) if out is None else out
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
