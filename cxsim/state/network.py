"""Social ties: who hears whom talk about the service.

Two structures, both seeded from the run's ``network`` stream:

* ``villages``: customers live in villages of ``village_size``; each talks to
  ``ties`` others drawn at random from their own village (a k-out random graph
  per community, stored as a dense ``customers × ties`` int32 array).
* ``fully_mixed``: everyone can hear everyone (mean field), as in the Bass model;
  the people a customer tells are drawn afresh each time.

Word of mouth needs, for every customer, the share of the people who talk to
them (their in-ties) that currently use and like the service. ``talk_count``
keeps that count, and the model's awareness rate its weighted share, up to date
incrementally: a step costs O(changes), not O(ties).
"""

from __future__ import annotations

import numpy as np

from .kernels import njit
from .randomness import Streams


def scatter_add(target: np.ndarray, idx: np.ndarray, value=1) -> None:
    """``target[idx] += value`` counting repeated indices, in ``target``'s dtype, in order.

    ``value`` is a number or an array aligned with ``idx``.
    """
    if isinstance(value, np.ndarray):
        _scatter_add_each(target, idx, value.astype(target.dtype, copy=False))
    else:
        _scatter_add_one(target, idx, target.dtype.type(value))


@njit(cache=True)
def _scatter_add_each(target, idx, value):
    for j in range(len(idx)):
        target[idx[j]] += value[j]


@njit(cache=True)
def _scatter_add_one(target, idx, value):
    for j in range(len(idx)):
        target[idx[j]] += value


def unique_ids(idx: np.ndarray, n: int) -> np.ndarray:
    """Sorted distinct values of ``idx`` (all in 0..n-1)."""
    if len(idx) * 16 > n:
        seen = np.zeros(n, dtype=bool)
        seen[idx] = True
        return np.flatnonzero(seen)
    s = np.sort(idx)
    return s[np.concatenate(([True], s[1:] != s[:-1]))]


class VillageTies:
    kind = "villages"

    def __init__(self, n: int, ties: int, village_size: int, streams: Streams):
        self.n, self.k = n, ties
        draw = streams.generator("network").random((n, ties), dtype=np.float32)
        self.ties = draw.view(np.int32)  # each uniform becomes its tie in place: no temporaries
        self.village = np.empty(n, dtype=np.int32)
        self.listen_weight = np.empty(n, dtype=np.float32)
        """1 / number of people who talk to each customer: turns counts of talkers into shares."""
        _village_ties(draw, self.ties, village_size, max(1, n // village_size), self.village, self.listen_weight)

    def targets(self, tellers: np.ndarray, streams: Streams, step: int) -> np.ndarray:
        """(len(tellers) × k) ids of the people each teller talks to."""
        return self.ties[tellers]

    def add_talk(self, talk_count: np.ndarray, heard_rate: np.ndarray, talkers: np.ndarray, sign: int, word_of_mouth: float) -> None:
        """Talkers start (+1) or stop (−1) talking to their ties.

        Each listener's count of talkers moves by ``sign``, and their awareness
        hazard ``heard_rate`` by ``sign · word_of_mouth`` times their listening weight.
        """
        _add_talk(self.ties, talkers, talk_count, self.listen_weight, heard_rate, sign, np.float32(sign * word_of_mouth))

    def global_share(self) -> float:
        return 0.0


class FullyMixed:
    kind = "fully_mixed"

    def __init__(self, n: int, ties: int, streams: Streams):
        self.n, self.k = n, ties
        self.village = np.zeros(n, dtype=np.int32)
        self.listen_weight = None  # nobody listens to ties: word of mouth comes from global_share()
        self.talkers = 0

    def targets(self, tellers: np.ndarray, streams: Streams, step: int) -> np.ndarray:
        slots = tellers.astype(np.int64)[:, None] * self.k + np.arange(self.k)
        u = streams.uniform("mixed_ties", slots.ravel(), step).reshape(slots.shape)
        return np.minimum((u * self.n).astype(np.int64), self.n - 1)

    def add_talk(self, talk_count: np.ndarray, heard_rate: np.ndarray, talkers: np.ndarray, sign: int, word_of_mouth: float) -> None:
        self.talkers += sign * len(talkers)  # heard by everyone through global_share()

    def global_share(self) -> float:
        """Share of everyone who talks about the service (Bass's F(t))."""
        return self.talkers / self.n


@njit(cache=True)
def _add_talk(ties, talkers, talk_count, listen_weight, heard_rate, sign, weight):
    for t in talkers:
        for j in ties[t]:
            talk_count[j] += sign
            heard_rate[j] += listen_weight[j] * weight


@njit(cache=True)
def _village_ties(draw, ties, village_size, n_villages, village, listen_weight):
    """Turn uniforms ``draw`` into ties within villages, in place (``ties`` is ``draw``'s memory as int32).

    Customer i lives in village ``min(i // village_size, n_villages - 1)`` (the
    last takes the remainder); a uniform u picks the offset ``int(u · (size − 1))``
    among the village's others (one's own place skipped). The arithmetic is
    numpy's: the product in float64, rounded to float32, truncated.
    """
    n, k = draw.shape
    in_degree = np.zeros(n, dtype=np.int64)
    for i in range(n):
        v = min(i // village_size, n_villages - 1)
        start = v * village_size
        others = np.float64((n - start if v == n_villages - 1 else village_size) - 1)
        for j in range(k):
            offset = np.int32(np.float32(np.float64(draw[i, j]) * others))
            if offset >= i - start:
                offset += 1
            tie = offset + start
            ties[i, j] = tie
            in_degree[tie] += 1
        village[i] = v
    for i in range(n):
        listen_weight[i] = np.float32(1.0 / max(in_degree[i], 1))


def build_network(params, n: int, streams: Streams):
    if params.kind == "fully_mixed":
        return FullyMixed(n, params.ties, streams)
    return VillageTies(n, params.ties, params.village_size, streams)
