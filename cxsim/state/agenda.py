"""Who is booked for which journey phase at which step (state; no cxsim imports)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np


class Agenda:
    """Customers booked for a phase (decision, access, follow_up) at a step, kept in booking order."""

    def __init__(self):
        self._booked: dict[tuple[str, int], list[np.ndarray]] = defaultdict(list)

    def book(self, phase: str, step: int, ids: np.ndarray) -> None:
        """Book customers ``ids`` for ``phase`` at ``step``."""
        if len(ids):
            self._booked[(phase, step)].append(ids)

    def due(self, phase: str, now: int) -> np.ndarray:
        """Customers booked for ``phase`` at ``now`` or earlier, in booking order (they leave the agenda)."""
        keys = [k for k in self._booked if k[0] == phase and k[1] <= now]
        due = [a for key in keys for a in self._booked.pop(key)]
        return np.concatenate(due) if due else np.empty(0, dtype=np.int64)
