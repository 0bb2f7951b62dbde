"""Coverage: which customers each intervention reaches, and which it acts on at a use.

Coverage is drawn once per customer from the intervention's own random stream
(common random numbers: the same customers are covered in every variant), limited
to its eligible ``segments`` and, in an A/B test, to its arm (``assigned``).
"""

from __future__ import annotations

import numpy as np

NEVER = np.iinfo(np.int32).max  # agents.NEVER: no contract end


class Coverage:
    """Each intervention's coverage mask (bool per customer), drawn on first use."""

    def __init__(self, scenario, customers, streams, assigned: dict[str, np.ndarray] | None = None):
        self.pars, self.customers, self.streams = scenario, customers, streams
        self.assigned = dict(assigned or {})
        self._mask: dict[str, np.ndarray] = {}
        self._all: dict[str, bool] = {}
        self._any: dict[str, bool] = {}

    def mask(self, name: str, iv) -> np.ndarray:
        mask = self._mask.get(name)
        if mask is None:
            everyone = np.arange(self.customers.n)
            mask = self.streams.uniform(f"coverage:{name}", everyone) < iv.coverage
            if iv.segments:
                codes = [self.pars.segment_names.index(s) for s in iv.segments]
                mask &= np.isin(self.customers.segment, codes)
            if name in self.assigned:
                mask &= self.assigned[name]
            self._mask[name] = mask
            self._all[name] = bool(mask.all())
            self._any[name] = bool(mask.any())
        return mask

    def covered(self, name: str, iv, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` the intervention reaches (bool per customer)."""
        return self.mask(name, iv)[ids]

    def covers_anyone(self, name: str, iv) -> bool:
        self.mask(name, iv)
        return self._any[name]

    def covering(self, name: str, iv, ids: np.ndarray) -> np.ndarray | bool:
        """Which of ``ids`` the intervention covers (``True`` when it covers everyone)."""
        mask = self.mask(name, iv)
        return True if self._all[name] else mask[ids]

    def reach(self, name: str, iv, ids: np.ndarray, t: int) -> np.ndarray | bool:
        """Which of ``ids`` the intervention acts on at step ``t``: coverage, its renewal window, its chance per use.

        ``True`` (not an array) when it acts on every one of them, which saves the
        per-customer work for interventions that cover everyone.
        """
        mask = self.mask(name, iv)
        e = iv.effects()
        window, chance = e.renewal_window, e.use_chance
        if self._all[name] and not window and chance >= 1.0:
            return True
        cov = mask[ids]
        if window:
            cov = cov & near_renewal(self.customers, ids, t, window)
        if chance < 1.0:
            cov = cov & (self.streams.uniform(f"use:{name}", ids, t) < chance)
        return cov


def near_renewal(c, ids: np.ndarray, t: int, window: int) -> np.ndarray:
    """Which of customers ``ids`` (state ``c``) have a contract ending within ``window`` steps of ``t``."""
    due = c.t_renew[ids]
    return (due != NEVER) & (due - t <= window) & (due >= t)
