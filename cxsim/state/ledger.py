"""The hidden-cost ledger: what using the service would cost each customer, by kind (state; no rules).

Its columns (:data:`CASH_COSTS`) are declared once here; :func:`build_ledger` fills
them from a scenario's ``[costs]`` at set-up, keeping only the kinds the scenario
prices (:func:`priced_kinds`: a kind zero for everyone takes no memory). How the ledger weighs on a decision
is :mod:`cxsim.rules.barriers`; who relieves which column, :mod:`cxsim.rules.relief`.
"""

from __future__ import annotations

import numpy as np

from .tallies import slices

CASH_COSTS = ("price", "transport", "food", "lodging", "medicine", "own_wages", "companion_wages", "follow_up")
"""Kinds of out-of-pocket cost in each customer's ledger (currency)."""

WAGE_KINDS = ("own_wages", "companion_wages")
"""Costs that are income forgone rather than cash spent (they do not empty the purse)."""


def priced_kinds(costs) -> tuple[str, ...]:
    """The cost kinds ``costs`` can make non-zero for someone; the others are zero for everyone and not stored."""
    factor = {
        "price": costs.price, "transport": costs.fare_per_km, "food": costs.food_per_day * costs.stay_days,
        "lodging": costs.lodging_per_day * costs.stay_days, "medicine": costs.medicine,
        "own_wages": costs.stay_days, "companion_wages": costs.stay_days, "follow_up": costs.follow_up_trips,
    }
    return tuple(k for k in CASH_COSTS if factor[k] != 0)


def build_ledger(costs, distance, daily_wage, companion, works, out: np.ndarray | None = None,
                 kinds: tuple[str, ...] = CASH_COSTS) -> np.ndarray:
    """The (customers × ``kinds``) ledger of what using the service would cost each customer (written into ``out`` if given)."""
    n = len(distance)
    ledger = np.zeros((n, len(kinds)), dtype=np.float32) if out is None else out
    for part in slices(n):
        columns = _ledger_columns(costs, distance[part], daily_wage[part], companion[part], works[part])
        for j, kind in enumerate(kinds):
            ledger[part, j] = columns[kind]()
    return ledger


def _ledger_columns(costs, distance, daily_wage, companion, works) -> dict:
    """Each cost kind's column for a slice of customers, computed when asked."""
    companion, works = companion.astype(np.float32), works.astype(np.float32)  # flags (0/1) as float32
    party = 1.0 + companion  # the patient and, if needed, a companion travel and eat
    round_trip = 2.0 * costs.fare_per_km * distance
    return {
        "price": lambda: costs.price,
        "transport": lambda: round_trip * party,
        "food": lambda: costs.food_per_day * costs.stay_days * party,
        "lodging": lambda: costs.lodging_per_day * costs.stay_days * party,
        "medicine": lambda: costs.medicine,
        "own_wages": lambda: daily_wage * costs.stay_days * works,
        "companion_wages": lambda: daily_wage * costs.stay_days * companion,
        "follow_up": lambda: costs.follow_up_trips * (round_trip + daily_wage * works),
    }


CASH_SPENT = np.array([k not in WAGE_KINDS and k != "follow_up" for k in CASH_COSTS], dtype=np.float32)
"""Cost kinds paid in cash when travelling for the service (follow-up is paid later)."""
