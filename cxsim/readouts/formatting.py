"""Numbers for people: one format per unit, shared by every human table (run, story, sweep headlines).

``number(0.0471, "share")`` → ``4.7%``; ``number(0.84, "0–1")`` → ``0.84``;
``number(3400, "customers")`` → ``3,400``; ``number(1.25e6, "currency")`` → ``1.25M``;
missing values (None, NaN) → ``–``. ``signed=True`` writes differences (``+2.3 pts``).
Machine-readable outputs (``--json``, summary.json, Parquet) keep full precision.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "–"


def number(x: Any, unit: str = "", signed: bool = False) -> str:
    """A compact number in its unit's style: 12.3%, 0.84, 1.25M, 3,400 (the unit itself goes in the label)."""
    if x is None or isinstance(x, bool) or not isinstance(x, (int, float)) and not hasattr(x, "__float__"):
        return MISSING if x is None else str(x)
    x = float(x)
    if math.isnan(x):
        return MISSING
    sign = "+" if signed and x > 0 else ""
    if unit == "share":
        return f"{sign}{100 * x:.1f}" + (" pts" if signed else "%")
    if unit in ("0–1", "×", "0–10"):
        return f"{sign}{x:.2f}"
    if unit in ("index", "−100–100"):
        return f"{sign}{x:.1f}"
    a = abs(x)
    if a >= 1e6:
        text = f"{a / 1e6:,.2f}M"
    elif a >= 100 or a.is_integer():
        text = f"{a:,.0f}"
    else:
        text = f"{a:,.1f}" if a >= 10 else f"{a:,.2f}"
    return f"{'-' if x < 0 else sign}{text}"


def metric_number(x: Any, name: str, signed: bool = False) -> str:
    """``x`` formatted in the unit of metric ``name`` (see :data:`cxsim.readouts.metrics.METRICS`; unknown names: a plain number)."""
    from .metrics import METRIC_BY_NAME

    metric = METRIC_BY_NAME.get(name)
    return number(x, metric.unit if metric else "", signed)
