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
        n_villages = max(1, n // village_size)
        ids = np.arange(n, dtype=np.int32)
        self.village = np.minimum(ids // village_size, n_villages - 1)
        start = self.village * np.int32(village_size)
        size = np.where(self.village == n_villages - 1, n - start, village_size).astype(np.int32)
        draw = streams.generator("network").random((n, ties), dtype=np.float32)
        draw *= (size - 1)[:, None]
        self.ties = draw.astype(np.int32)  # offset in the village, 0 .. size-2
        del draw
        self.ties += self.ties >= (ids - start)[:, None]  # skip oneself
        self.ties += start[:, None]
        in_degree = np.bincount(self.ties.ravel(), minlength=n)
        self.listen_weight = (1.0 / np.maximum(in_degree, 1)).astype(np.float32)
        """1 / number of people who talk to each customer: turns counts of talkers into shares."""

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

    def to_networkx(self):
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(range(self.n))
        g.add_edges_from(zip(np.repeat(np.arange(self.n), self.k).tolist(), self.ties.ravel().tolist()))
        return g


class FullyMixed:
    kind = "fully_mixed"

    def __init__(self, n: int, ties: int, streams: Streams):
        self.n, self.k = n, ties
        self.village = np.zeros(n, dtype=np.int32)
        self.listen_weight = np.zeros(n, dtype=np.float32)  # word of mouth comes from global_share()
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

    def to_networkx(self):
        import networkx as nx

        return nx.complete_graph(self.n, create_using=nx.DiGraph)


@njit(cache=True)
def _add_talk(ties, talkers, talk_count, listen_weight, heard_rate, sign, weight):
    for t in talkers:
        for j in ties[t]:
            talk_count[j] += sign
            heard_rate[j] += listen_weight[j] * weight


def build_network(params, n: int, streams: Streams):
    if params.kind == "fully_mixed":
        return FullyMixed(n, params.ties, streams)
    return VillageTies(n, params.ties, params.village_size, streams)
