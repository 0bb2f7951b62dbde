"""Feelings and memory: touchpoints move valence; peak-end memory; expectation-confirmation.

* A touchpoint performs at ``quality`` when it works (chance ``reliability``) and
  at ``failure_quality`` when it fails. Feeling moves by
  ``reactivity · weight · (performance − expectation)``, half of the previous
  feeling carrying over.
* Memory keeps the most intense feeling (peak) and the latest (end); the
  remembered experience is their mean (Kahneman et al. 1993, peak-end rule).
* Satisfaction follows expectation-confirmation (Oliver 1980): met expectations
  give ``confirmed``; performance above expectation adds ``gain`` per unit, below
  it removes ``loss_aversion · gain`` per unit (losses loom larger).
* The 0–10 likelihood to recommend blends satisfaction with the remembered
  experience (weight ``peak_end``).
"""

from __future__ import annotations

import numpy as np

def clamp(x, lo: float, hi: float):
    """``np.clip`` without its per-call overhead (it dominates on small arrays)."""
    return np.minimum(np.maximum(x, lo), hi)


CONFIRMED = 0.7
"""Satisfaction when performance exactly meets expectation (Oliver 1980: confirmation satisfies)."""


def feel(c, ids: np.ndarray, performance: np.ndarray, weight: float, reactivity: float) -> np.ndarray:
    """Customers ``ids`` meet a touchpoint; returns the change in feeling."""
    delta = (reactivity * weight * (performance - c.expectation[ids])).astype(np.float32)
    v = clamp(0.5 * c.valence[ids] + delta, -1.0, 1.0)
    c.valence[ids] = v
    peak = c.peak[ids]
    c.peak[ids] = np.where(np.abs(v) > np.abs(peak), v, peak)
    c.end[ids] = v
    c.perf_sum[ids] += weight * performance
    c.perf_weight[ids] += weight
    return delta


def remembered(peak: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Remembered experience −1..1 by the peak-end rule."""
    return 0.5 * (peak + end)


def satisfaction(performance: np.ndarray, expectation: np.ndarray, gain: float, loss_aversion: float) -> np.ndarray:
    """Expectation-confirmation satisfaction 0–1, asymmetric in losses."""
    d = performance - expectation
    s = CONFIRMED + gain * np.where(d >= 0, d, loss_aversion * d)
    return clamp(s, 0.0, 1.0).astype(np.float32)


def recommend_score(sat: np.ndarray, peak: np.ndarray, end: np.ndarray, peak_end: float) -> np.ndarray:
    """NPS-style 0–10 likelihood to recommend."""
    memory = 0.5 * (remembered(peak, end) + 1.0)
    return np.rint(10.0 * ((1.0 - peak_end) * sat + peak_end * memory)).astype(np.int8)
