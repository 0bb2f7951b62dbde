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
* Kano categories (Kano et al. 1984) shape what a touchpoint's performance means
  to the customer (:func:`kano`): a *must-be* is only felt when it falls short
  of expectation; a *delighter* is not missed when absent and lifts performance
  above expectation non-linearly when present; a *performance* attribute counts
  as delivered.
* Service recovery (:func:`recover`): a failure put right is judged at the
  recovery's performance, but the dip it caused stays in memory as the
  *trough* (the worst moment), which weighs ``failure_memory`` in the remembered
  experience (bad is stronger than good, Baumeister et al. 2001). So recovery can
  lift satisfaction to or above a faultless experience's while the score to
  recommend stays below it (the recovery paradox holds for satisfaction, not for
  word of mouth: de Matos et al. 2007).
"""

from __future__ import annotations

import numpy as np

from .kernels import njit
from .prefetch import prefetch_ahead


def clamp(x, lo: float, hi: float):
    """``np.clip`` without its per-call overhead (it dominates on small arrays)."""
    return np.minimum(np.maximum(x, lo), hi)


def per_customer(value) -> tuple[np.ndarray, int]:
    """A number or one per customer, for a compiled kernel: a float32 array and its step
    per customer (1: one value each; 0: one value, at index 0, for all)."""
    if isinstance(value, np.ndarray):
        return value.astype(np.float32, copy=False), 1
    return np.array([value], dtype=np.float32), 0


CONFIRMED = 0.7
"""Satisfaction when performance exactly meets expectation (Oliver 1980: confirmation satisfies)."""


def feel(c, ids: np.ndarray, performance: np.ndarray, weight: float, reactivity: float) -> np.ndarray:
    """Customers ``ids`` meet a touchpoint; returns the change in feeling.

    Feeling moves by reactivity · weight · (performance − expectation), half of
    the previous feeling carrying over; peak, end and trough follow; the
    performance counts toward satisfaction with the touchpoint's weight.
    """
    delta = np.empty(len(ids), dtype=np.float32)
    _feel(c.valence, c.peak, c.end, c.trough, c.perf_sum, c.perf_weight, c.expectation, ids,
          performance.astype(np.float32, copy=False), reactivity * weight, weight, True, delta)
    return delta


KANO = ("performance", "must_be", "delighter")


def kano(category: str, performance: np.ndarray, expectation: np.ndarray, delight_power: float) -> np.ndarray:
    """Performance as the customer feels it, by Kano category (``performance`` is unchanged).

    * ``must_be``: ``min(p, e)`` – meeting it is taken for granted, falling short hurts;
    * ``delighter``: ``e + (1 − e) · p^delight_power`` – its absence (p = 0) is neutral,
      its presence lifts performance above expectation, convexly for powers above 1.
    """
    if category == "performance":
        return performance
    p, e = np.asarray(performance, dtype=np.float32), np.asarray(expectation, dtype=np.float32)
    return _kano_each(KANO.index(category), p, e, np.float32(delight_power))


def meet(c, ids: np.ndarray, works: np.ndarray, quality, tp, e) -> tuple[np.ndarray, np.ndarray]:
    """Customers ``ids`` meet touchpoint ``tp``, which ``works`` for some of them.

    It performs at ``quality`` (a number or one per customer) when it works,
    else at ``tp.failure_quality`` (and counts as a failure); the customer feels
    that performance through its Kano category (:func:`kano`) as in :func:`feel`;
    fear and trust move by the touchpoint's effects. Returns the performance felt
    and the change in feeling.
    """
    n = len(ids)
    felt, delta = np.empty(n, dtype=np.float32), np.empty(n, dtype=np.float32)
    _meet(c.valence, c.peak, c.end, c.trough, c.perf_sum, c.perf_weight, c.expectation, c.fear, c.trust, c.failures,
          ids, works, *per_customer(quality), tp.failure_quality, KANO.index(tp.kano), e.delight_power,
          e.reactivity * tp.weight, tp.weight, tp.fear_effect, tp.trust_effect, felt, delta)
    return felt, delta


def recover(c, ids: np.ndarray, failed: np.ndarray, recovered: np.ndarray, weight: float, reactivity: float) -> np.ndarray:
    """Failures of customers ``ids`` (already felt at ``failed``) are put right at ``recovered``.

    Feeling rises again from the dip (the trough stays); the touchpoint is judged
    at the recovered performance. Returns the change in feeling.
    """
    delta = np.empty(len(ids), dtype=np.float32)
    _feel(c.valence, c.peak, c.end, c.trough, c.perf_sum, c.perf_weight, c.expectation, ids,
          recovered.astype(np.float32, copy=False), reactivity * weight, weight, False, delta)
    c.perf_sum[ids] += weight * (recovered - failed)
    return delta


def remembered(peak: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Remembered experience −1..1 by the peak-end rule."""
    return 0.5 * (peak + end)


def satisfaction(performance: np.ndarray, expectation: np.ndarray, gain: float, loss_aversion: float) -> np.ndarray:
    """Expectation-confirmation satisfaction 0–1, asymmetric in losses (float32, one per customer)."""
    return _satisfaction_each(*_float32s(performance, expectation), np.float32(gain), np.float32(loss_aversion))


def recommend_score(sat: np.ndarray, peak: np.ndarray, end: np.ndarray, peak_end: float, trough=None, failure_memory: float = 0.0) -> np.ndarray:
    """NPS-style 0–10 likelihood to recommend (the trough weighs ``failure_memory`` in memory)."""
    trough = 0.0 if trough is None else trough
    return _score_each(*_float32s(sat, peak, end, trough), *_score_weights(peak_end, failure_memory))


def _float32s(*values) -> list[np.ndarray]:
    """Numbers or arrays as float32 arrays of one common length (a number is repeated)."""
    arrays = [np.atleast_1d(np.asarray(v, dtype=np.float32)) for v in values]
    n = max(len(a) for a in arrays)
    return [a if len(a) == n else np.full(n, a[0], dtype=np.float32) for a in arrays]


def conclude(c, ids: np.ndarray, good: np.ndarray, core_weight: float, e) -> tuple[np.ndarray, np.ndarray]:
    """Customers ``ids`` meet the core outcome and judge the whole experience.

    The outcome is felt as in :func:`feel`, performing at 1 if ``good`` and 0.1 if
    not, with weight ``core_weight``; satisfaction then follows from the mean
    performance met against expectation (:func:`satisfaction`), and the score to
    recommend from satisfaction and memory (:func:`recommend_score`). Sets the
    customers' ``satisfaction`` and ``recommend``; returns the change in feeling
    and the score.
    """
    delta = np.empty(len(ids), dtype=np.float32)
    score = np.empty(len(ids), dtype=np.int8)
    _conclude(c.valence, c.peak, c.end, c.trough, c.perf_sum, c.perf_weight, c.expectation, c.satisfaction, c.recommend,
              ids, good, np.float32(e.reactivity * core_weight), np.float32(core_weight), np.float32(e.gain),
              np.float32(e.loss_aversion), *_score_weights(e.peak_end, e.failure_memory), delta, score)
    return delta, score


def hear(c, who: np.ndarray, fear_keep: float, fear_add: float, trust_add: float) -> None:
    """Customers ``who`` hear a tie talk about the service: fear becomes ``fear · fear_keep + fear_add``,
    trust moves by ``trust_add`` (both kept in 0–1)."""
    _hear(c.fear, c.trust, who, np.float32(fear_keep), np.float32(fear_add), np.float32(trust_add))


def _score_weights(peak_end: float, failure_memory: float) -> tuple[np.float32, np.float32, np.float32]:
    """Weights of satisfaction and of memory in the score, and of the trough in memory, as float32."""
    return np.float32(1.0 - peak_end), np.float32(peak_end), np.float32(failure_memory)


# -- compiled kernels (float32 throughout) --------------------------------------------
_ONE, _ZERO, _HALF, _TEN = np.float32(1.0), np.float32(0.0), np.float32(0.5), np.float32(10.0)
_CONFIRMED, _POOR, _TINY = np.float32(CONFIRMED), np.float32(0.1), np.float32(1e-6)


@njit(cache=True, inline="always")
def _satisfied(performance, expectation, gain, loss_aversion):
    d = performance - expectation
    s = _CONFIRMED + gain * (d if d >= _ZERO else loss_aversion * d)
    return min(max(s, _ZERO), _ONE)


@njit(cache=True, inline="always")
def _scored(sat, peak, end, trough, w_sat, w_memory, failure_memory):
    recalled = _HALF * (peak + end)
    if failure_memory:
        recalled = min(max(recalled + failure_memory * min(trough, _ZERO), -_ONE), _ONE)
    memory = _HALF * (recalled + _ONE)
    return np.int8(np.rint(_TEN * (w_sat * sat + w_memory * memory)))


@njit(cache=True)
def _satisfaction_each(performance, expectation, gain, loss_aversion):
    out = np.empty(len(performance), dtype=np.float32)
    for j in range(len(out)):
        out[j] = _satisfied(performance[j], expectation[j], gain, loss_aversion)
    return out


@njit(cache=True)
def _score_each(sat, peak, end, trough, w_sat, w_memory, failure_memory):
    out = np.empty(len(sat), dtype=np.int8)
    for j in range(len(out)):
        out[j] = _scored(sat[j], peak[j], end[j], trough[j], w_sat, w_memory, failure_memory)
    return out


@njit(cache=True, inline="always")
def _feel_one(valence, peak, end, trough, perf_sum, perf_weight, expectation, i, performance, gain, weight, count):
    """Customer ``i`` feels ``performance`` (``count``: a new encounter, not a recovery): see :func:`feel`."""
    d = gain * (performance - expectation[i])
    v = min(max(_HALF * valence[i] + d, -_ONE), _ONE)
    valence[i] = v
    if abs(v) > abs(peak[i]):
        peak[i] = v
    end[i] = v
    if count:
        trough[i] = min(trough[i], v)
        perf_sum[i] += weight * performance
        perf_weight[i] += weight
    return d


@njit(cache=True, inline="always")
def _kano_one(category, p, e, power):
    if category == 1:  # must_be
        return min(p, e)
    if category == 2:  # delighter
        return e + (_ONE - e) * max(p, _ZERO) ** power
    return p


@njit(cache=True)
def _kano_each(category, performance, expectation, power):
    out = np.empty(len(performance), dtype=np.float32)
    for j in range(len(performance)):
        out[j] = _kano_one(category, performance[j], expectation[j], power)
    return out


@njit(cache=True)
def _feel(valence, peak, end, trough, perf_sum, perf_weight, expectation, ids, performance, gain, weight, count, delta):
    gain, weight = np.float32(gain), np.float32(weight)
    for j in range(len(ids)):
        prefetch_ahead(ids, j, expectation, perf_weight)  # the span of the row read here
        delta[j] = _feel_one(valence, peak, end, trough, perf_sum, perf_weight, expectation, ids[j], performance[j], gain, weight, count)


@njit(cache=True)
def _meet(valence, peak, end, trough, perf_sum, perf_weight, expectation, fear, trust, failures,
          ids, works, quality, each, failure_quality, category, power, gain, weight, fear_effect, trust_effect, felt, delta):
    failure_quality, power, gain, weight = np.float32(failure_quality), np.float32(power), np.float32(gain), np.float32(weight)
    fear_effect, trust_effect = np.float32(fear_effect), np.float32(trust_effect)
    for j in range(len(ids)):
        prefetch_ahead(ids, j, fear, failures)  # the span of the row read here
        i = ids[j]
        p = quality[j * each]
        if not works[j]:
            p = failure_quality
            failures[i] += 1
        p = _kano_one(category, p, expectation[i], power)
        felt[j] = p
        delta[j] = _feel_one(valence, peak, end, trough, perf_sum, perf_weight, expectation, i, p, gain, weight, True)
        if fear_effect:
            fear[i] = min(max(fear[i] + fear_effect, _ZERO), _ONE)
        if trust_effect:
            trust[i] = min(max(trust[i] + trust_effect, _ZERO), _ONE)


@njit(cache=True)
def _conclude(valence, peak, end, trough, perf_sum, perf_weight, expectation, satisfaction, recommend,
              ids, good, gain, weight, sat_gain, loss_aversion, w_sat, w_memory, failure_memory, delta, score):
    for j in range(len(ids)):
        prefetch_ahead(ids, j, expectation, satisfaction)  # the span of the row read here
        i = ids[j]
        delta[j] = _feel_one(valence, peak, end, trough, perf_sum, perf_weight, expectation, i,
                             _ONE if good[j] else _POOR, gain, weight, True)
        sat = _satisfied(perf_sum[i] / max(perf_weight[i], _TINY), expectation[i], sat_gain, loss_aversion)
        satisfaction[i] = sat
        score[j] = recommend[i] = _scored(sat, peak[i], end[i], trough[i], w_sat, w_memory, failure_memory)


@njit(cache=True)
def _hear(fear, trust, who, fear_keep, fear_add, trust_add):
    for j in range(len(who)):
        prefetch_ahead(who, j, fear, trust)
        i = who[j]
        fear[i] = min(max(fear[i] * fear_keep + fear_add, _ZERO), _ONE)
        trust[i] = min(max(trust[i] + trust_add, _ZERO), _ONE)
