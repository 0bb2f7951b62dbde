"""Feelings and memory: touchpoints move valence; peak-end memory; expectation-confirmation.

Every behavioural number here is a parameter of the scenario (``[emotions]``, and
``journey.core_weight``/``journey.poor_outcome``), passed to the compiled kernels
as one small float32 array built once per run (:func:`coefficients`).

* A touchpoint performs at ``quality`` when it works (chance ``reliability``) and
  at ``failure_quality`` when it fails. Feeling moves by
  ``reactivity · weight · (performance − expectation)``, the share ``carry_over``
  of the previous feeling carrying over.
* **Memory** keeps the most intense feeling (peak), the latest (end) and the worst
  (trough); the remembered experience is ``peak_weight · peak + (1 − peak_weight)
  · end`` (+ ``failure_memory · trough``): the peak-end rule (Kahneman et al. 1993;
  Redelmeier & Kahneman 1996). Memory spans the customer's episodes (the first
  service, then each repeat encounter): at each new encounter the intensity of
  what is remembered from earlier ones (peak and trough) fades by
  ``memory_decay`` (:func:`begin_episode`), so recent episodes weigh more.
* **Judged performance** follows duration neglect (Fredrickson & Kahneman 1993):
  an episode is judged by its peak and its end, not by how many moments it had.
  It is ``(core_weight · outcome + judge_peak · p_peak + judge_end · p_end) /
  (core_weight + judge_peak + judge_end)``, where ``p_peak`` is the performance
  felt at the episode's most intense moment and ``p_end`` at its latest
  touchpoint (:func:`judged`; a repeat encounter has no core outcome).
* Satisfaction follows expectation-confirmation (Oliver 1980): judged performance
  that meets expectation gives ``confirmed``; above expectation adds ``gain`` per
  unit, below it removes ``loss_aversion · gain`` per unit (losses loom larger).
* The 0–10 likelihood to recommend blends satisfaction with the remembered
  experience (weight ``peak_end``); it is asked again at every encounter, so it
  lives (:func:`recommend_score`; promoters 9–10, detractors 0–6, Reichheld 2003).
* Kano categories (Kano et al. 1984) shape what a touchpoint's performance means
  to the customer (:func:`kano`): a *must-be* is only felt when it falls short
  of expectation; a *delighter* is not missed when absent and lifts performance
  above expectation non-linearly when present; a *performance* attribute counts
  as delivered.
* Service recovery (:func:`recover`): a failure put right is a new moment of the
  episode, felt at the recovery's performance (it can become the episode's end,
  or its peak); the dip it follows stays in memory as the *trough* (the worst
  moment), which weighs ``failure_memory`` in the remembered experience (bad is
  stronger than good, Baumeister et al. 2001).
"""

from __future__ import annotations

from operator import attrgetter
from typing import NamedTuple

import numpy as np

from ..state.kernels import njit
from ..state.prefetch import prefetch_ahead


def clamp(x, lo: float, hi: float):
    """``np.clip`` without its per-call overhead (it dominates on small arrays)."""
    return np.minimum(np.maximum(x, lo), hi)


def per_customer(value) -> tuple[np.ndarray, int]:
    """A number or one per customer, for a compiled kernel: a float32 array and its step
    per customer (1: one value each; 0: one value, at index 0, for all)."""
    if isinstance(value, np.ndarray):
        return value.astype(np.float32, copy=False), 1
    return np.array([value], dtype=np.float32), 0


PROMOTER, DETRACTOR = 9, 6
"""Scores of 9–10 are promoters, 0–6 detractors (the NPS definition, Reichheld 2003)."""

COEFFICIENTS = (
    "confirmed", "gain", "loss_aversion",  # expectation-confirmation
    "carry_over", "reactivity",  # how feeling moves
    "peak_weight", "end_weight", "failure_memory", "retain",  # what memory keeps (retain = 1 − memory_decay)
    "w_satisfaction", "w_memory",  # the score to recommend
    "core_weight", "judge_peak", "judge_end", "poor_outcome",  # judged performance
    "delight_power",
)
"""The behavioural coefficients the kernels read, by name (:func:`coefficients`)."""
COEFFICIENT_RECORD = np.dtype([(name, np.float32) for name in COEFFICIENTS])
"""One float32 field per coefficient: the kernels read ``k[0].gain``, never a position."""


class Memory(NamedTuple):
    """The feeling entries of customers' rows (:data:`cxsim.state.agents.ROW`) the kernels read and write."""

    valence: np.ndarray
    peak: np.ndarray
    end: np.ndarray
    trough: np.ndarray
    episode_peak: np.ndarray
    peak_perf: np.ndarray
    end_perf: np.ndarray
    expectation: np.ndarray


class Touched(NamedTuple):
    """The entries of customers' rows a touchpoint moves besides feeling."""

    fear: np.ndarray
    trust: np.ndarray
    failures: np.ndarray


TOUCHPOINT_RECORD = np.dtype([("failure_quality", np.float32), ("category", np.int64), ("gain", np.float32),
                              ("fear_effect", np.float32), ("trust_effect", np.float32)])
"""A touchpoint as :func:`meet`'s kernel reads it (category: index in :data:`KANO`; gain: reactivity · weight)."""

_GET = {record: attrgetter(*record._fields) for record in (Memory, Touched)}


def _entries(record, c):
    """The entries of ``record`` (a NamedTuple class) of customers ``c``, by name (kept on ``c`` while its arrays stay)."""
    name = "_kernel_" + record.__name__
    kept = getattr(c, name, None)
    if kept is None or kept[0] is not getattr(c, record._fields[0]):
        kept = record._make(_GET[record](c))
        setattr(c, name, kept)
    return kept


def _touchpoint(tp, k: np.ndarray) -> np.ndarray:
    """Touchpoint ``tp`` as a :data:`TOUCHPOINT_RECORD` under coefficients ``k`` (built once per touchpoint and
    coefficients; the kernel only reads it)."""
    kept = _touchpoints.get(id(tp))
    if kept is None or kept[0] is not tp or kept[1] is not k:
        if len(_touchpoints) > 256:
            _touchpoints.clear()
        record = np.array([(tp.failure_quality, KANO.index(tp.kano), np.float32(k["reactivity"][0] * tp.weight),
                            tp.fear_effect, tp.trust_effect)], dtype=TOUCHPOINT_RECORD)
        record.flags.writeable = False
        kept = _touchpoints[id(tp)] = (tp, k, record)
    return kept[2]


_touchpoints: dict[int, tuple] = {}


def coefficients(emotions, journey) -> np.ndarray:
    """The behavioural coefficients of a scenario's ``[emotions]`` and ``[journey]``: one :data:`COEFFICIENT_RECORD`.

    Built once per run from the validated parameters and passed to every kernel.
    ``journey`` gives ``core_weight`` and ``poor_outcome``.
    """
    e = emotions
    values = {
        "confirmed": e.confirmed, "gain": e.gain, "loss_aversion": e.loss_aversion,
        "carry_over": e.carry_over, "reactivity": e.reactivity,
        "peak_weight": e.peak_weight, "end_weight": 1.0 - e.peak_weight, "failure_memory": e.failure_memory,
        "retain": 1.0 - e.memory_decay,
        "w_satisfaction": 1.0 - e.peak_end, "w_memory": e.peak_end,
        "core_weight": journey.core_weight, "judge_peak": e.judge_peak, "judge_end": e.judge_end,
        "poor_outcome": journey.poor_outcome, "delight_power": e.delight_power,
    }
    return np.array([tuple(values[k] for k in COEFFICIENTS)], dtype=COEFFICIENT_RECORD)


def feel(c, ids: np.ndarray, performance: np.ndarray, weight: float, k: np.ndarray) -> np.ndarray:
    """Customers ``ids`` meet a touchpoint of ``weight`` performing at ``performance``; returns the change in feeling.

    Feeling moves by reactivity · weight · (performance − expectation), the share
    ``carry_over`` of the previous feeling carrying over; peak, end and trough
    follow, and the episode's peak and end performances (:func:`judged`).
    """
    delta = np.empty(len(ids), dtype=np.float32)
    _feel(_entries(Memory, c), ids, performance.astype(np.float32, copy=False), np.float32(k["reactivity"][0] * weight), k, delta)
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


def meet(c, ids: np.ndarray, works: np.ndarray, quality, tp, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Customers ``ids`` meet touchpoint ``tp``, which ``works`` for some of them.

    It performs at ``quality`` (a number or one per customer) when it works,
    else at ``tp.failure_quality`` (and counts as a failure); the customer feels
    that performance through its Kano category (:func:`kano`) as in :func:`feel`;
    fear and trust move by the touchpoint's effects. Returns the performance felt
    and the change in feeling.
    """
    n = len(ids)
    felt, delta = np.empty(n, dtype=np.float32), np.empty(n, dtype=np.float32)
    touchpoint = _touchpoint(tp, k)
    _meet(_entries(Memory, c), _entries(Touched, c), ids, works, *per_customer(quality), touchpoint, k, felt, delta)
    return felt, delta


def recover(c, ids: np.ndarray, recovered: np.ndarray, weight: float, k: np.ndarray) -> np.ndarray:
    """Failures of customers ``ids`` are put right, felt at ``recovered``: a new moment of the episode.

    Feeling rises again from the dip (the trough stays); the recovery is the
    episode's latest touchpoint and may be its peak. Returns the change in feeling.
    """
    return feel(c, ids, recovered, weight, k)


def begin_episode(c, ids: np.ndarray, k: np.ndarray) -> None:
    """Customers ``ids`` start a new encounter: what they remember of earlier ones fades.

    The intensity of the remembered peak and trough is multiplied by
    ``1 − memory_decay``; the new episode has no peak or end performance yet.
    """
    retain = k["retain"][0]
    if retain != 1:
        c.peak[ids] *= retain
        c.trough[ids] *= retain
    c.episode_peak[ids] = 0
    c.peak_perf[ids] = np.nan
    c.end_perf[ids] = np.nan


def judged(c, ids: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Judged performance of the current episode's touchpoints (a repeat encounter, no core outcome).

    ``(judge_peak · p_peak + judge_end · p_end) / (judge_peak + judge_end)``; NaN for
    customers who met no touchpoint in it.
    """
    out = np.empty(len(ids), dtype=np.float32)
    _judged_each(c.peak_perf, c.end_perf, ids, k, out)
    return out


def remembered(peak: np.ndarray, end: np.ndarray, peak_weight: float = 0.5) -> np.ndarray:
    """Remembered experience −1..1 by the peak-end rule."""
    return peak_weight * peak + (1.0 - peak_weight) * end


def satisfaction(performance: np.ndarray, expectation: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Expectation-confirmation satisfaction 0–1, asymmetric in losses (float32, one per customer)."""
    return _satisfaction_each(*_float32s(performance, expectation), k)


def recommend_score(sat: np.ndarray, peak: np.ndarray, end: np.ndarray, trough, k: np.ndarray) -> np.ndarray:
    """NPS-style 0–10 likelihood to recommend from satisfaction and the remembered experience."""
    return _score_each(*_float32s(sat, peak, end, trough), k)


def seed_memory(c, ids: np.ndarray, sat: np.ndarray) -> None:
    """Customers ``ids`` (an installed base) remember their relationship as consistent with satisfaction ``sat``.

    Their remembered experience is ``2 · sat − 1`` (the satisfaction on the −1..1
    scale of feelings: peak, end and current feeling), so that their score to
    recommend is ``round(10 · sat)`` when no failure is remembered.
    """
    memory = (2.0 * sat - 1.0).astype(np.float32)
    c.valence[ids] = memory
    c.peak[ids] = memory
    c.end[ids] = memory


def _float32s(*values) -> list[np.ndarray]:
    """Numbers or arrays as float32 arrays of one common length (a number is repeated)."""
    arrays = [np.atleast_1d(np.asarray(v, dtype=np.float32)) for v in values]
    n = max(len(a) for a in arrays)
    return [a if len(a) == n else np.full(n, a[0], dtype=np.float32) for a in arrays]


def conclude(c, ids: np.ndarray, good: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Customers ``ids`` meet the core outcome and judge the whole experience.

    The outcome is felt as in :func:`feel`, performing at 1 if ``good`` and at
    ``poor_outcome`` if not, with weight ``core_weight``; satisfaction then follows
    from the judged performance (the outcome, the peak and the end touchpoints)
    against expectation (:func:`satisfaction`), and the score to recommend from
    satisfaction and memory (:func:`recommend_score`). Sets the customers'
    ``satisfaction`` and ``recommend``; returns the change in feeling and the score.
    """
    delta = np.empty(len(ids), dtype=np.float32)
    score = np.empty(len(ids), dtype=np.int8)
    _conclude(_entries(Memory, c), c.satisfaction, c.recommend, ids, good, k, delta, score)
    return delta, score


def hear(c, who: np.ndarray, fear_keep: float, fear_add: float, trust_add: float) -> None:
    """Customers ``who`` hear a tie talk about the service: fear becomes ``fear · fear_keep + fear_add``,
    trust moves by ``trust_add`` (both kept in 0–1)."""
    _hear(c.fear, c.trust, who, np.float32(fear_keep), np.float32(fear_add), np.float32(trust_add))


# -- compiled kernels (float32 throughout) --------------------------------------------
_ONE, _ZERO, _HALF, _TEN = np.float32(1.0), np.float32(0.0), np.float32(0.5), np.float32(10.0)
_TINY = np.float32(1e-6)


@njit(cache=True, inline="always")
def _satisfied(performance, expectation, k):
    d = performance - expectation
    s = k[0].confirmed + k[0].gain * (d if d >= _ZERO else k[0].loss_aversion * d)
    return min(max(s, _ZERO), _ONE)


@njit(cache=True, inline="always")
def _scored(sat, peak, end, trough, k):
    recalled = k[0].peak_weight * peak + k[0].end_weight * end
    failure_memory = k[0].failure_memory
    if failure_memory:
        recalled = min(max(recalled + failure_memory * min(trough, _ZERO), -_ONE), _ONE)
    memory = _HALF * (recalled + _ONE)
    return np.int8(np.rint(_TEN * (k[0].w_satisfaction * sat + k[0].w_memory * memory)))


@njit(cache=True, inline="always")
def _judged(core, core_weight, peak_perf, end_perf, k):
    """Judged performance: the core outcome (weight ``core_weight``, 0 for none) with the peak and end touchpoints."""
    if np.isnan(end_perf):
        return core if core_weight > _ZERO else np.float32(np.nan)
    w_peak, w_end = k[0].judge_peak, k[0].judge_end
    total = core_weight * core + w_peak * peak_perf + w_end * end_perf
    return total / max(core_weight + w_peak + w_end, _TINY)


@njit(cache=True)
def _judged_each(peak_perf, end_perf, ids, k, out):
    for j in range(len(ids)):
        i = ids[j]
        out[j] = _judged(_ZERO, _ZERO, peak_perf[i], end_perf[i], k)


@njit(cache=True)
def _satisfaction_each(performance, expectation, k):
    out = np.empty(len(performance), dtype=np.float32)
    for j in range(len(out)):
        out[j] = _satisfied(performance[j], expectation[j], k)
    return out


@njit(cache=True)
def _score_each(sat, peak, end, trough, k):
    out = np.empty(len(sat), dtype=np.int8)
    for j in range(len(out)):
        out[j] = _scored(sat[j], peak[j], end[j], trough[j], k)
    return out


@njit(cache=True, inline="always")
def _feel_one(m, i, performance, gain, k, touchpoint):
    """Customer ``i`` (of :class:`Memory` ``m``) feels ``performance`` (``touchpoint``: a touchpoint or a recovery,
    not the core outcome): see :func:`feel`."""
    d = gain * (performance - m.expectation[i])
    v = min(max(k[0].carry_over * m.valence[i] + d, -_ONE), _ONE)
    m.valence[i] = v
    if abs(v) > abs(m.peak[i]):
        m.peak[i] = v
    m.end[i] = v
    m.trough[i] = min(m.trough[i], v)
    if touchpoint:
        if abs(v) > m.episode_peak[i] or np.isnan(m.peak_perf[i]):
            m.episode_peak[i] = abs(v)
            m.peak_perf[i] = performance
        m.end_perf[i] = performance
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
def _feel(m, ids, performance, gain, k, delta):
    for j in range(len(ids)):
        prefetch_ahead(ids, j, m.expectation, m.end_perf)  # the span of the row read here
        delta[j] = _feel_one(m, ids[j], performance[j], gain, k, True)


@njit(cache=True)
def _meet(m, touched, ids, works, quality, each, tp, k, felt, delta):
    """``m``: :class:`Memory`; ``touched``: :class:`Touched`; ``tp``: a :data:`TOUCHPOINT_RECORD`; ``k``: a :data:`COEFFICIENT_RECORD`."""
    power = k[0].delight_power
    fear, trust, failures = touched
    tp = tp[0]
    for j in range(len(ids)):
        prefetch_ahead(ids, j, fear, failures)  # the span of the row read here
        i = ids[j]
        p = quality[j * each]
        if not works[j]:
            p = tp.failure_quality
            failures[i] += 1
        p = _kano_one(tp.category, p, m.expectation[i], power)
        felt[j] = p
        delta[j] = _feel_one(m, i, p, tp.gain, k, True)
        if tp.fear_effect:
            fear[i] = min(max(fear[i] + tp.fear_effect, _ZERO), _ONE)
        if tp.trust_effect:
            trust[i] = min(max(trust[i] + tp.trust_effect, _ZERO), _ONE)


@njit(cache=True)
def _conclude(m, satisfaction, recommend, ids, good, k, delta, score):
    weight = k[0].core_weight
    gain = k[0].reactivity * weight
    for j in range(len(ids)):
        prefetch_ahead(ids, j, m.expectation, satisfaction)  # the span of the row read here
        i = ids[j]
        core = _ONE if good[j] else k[0].poor_outcome
        delta[j] = _feel_one(m, i, core, gain, k, False)
        sat = _satisfied(_judged(core, weight, m.peak_perf[i], m.end_perf[i], k), m.expectation[i], k)
        satisfaction[i] = sat
        score[j] = recommend[i] = _scored(sat, m.peak[i], m.end[i], m.trough[i], k)


@njit(cache=True)
def _hear(fear, trust, who, fear_keep, fear_add, trust_add):
    for j in range(len(who)):
        prefetch_ahead(who, j, fear, trust)
        i = who[j]
        fear[i] = min(max(fear[i] * fear_keep + fear_add, _ZERO), _ONE)
        trust[i] = min(max(trust[i] + trust_add, _ZERO), _ONE)
