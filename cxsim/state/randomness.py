"""Common random numbers: one seed per run, one named stream per decision.

Every random decision in cxsim draws from its own stream, keyed by the run seed
and a stable hash of the decision's name (never Python's salted ``hash()``).
Draws are *counter based*: the number customer ``i`` gets from stream ``name`` at
counter ``k`` depends only on ``(seed, name, i, k)``, not on who else is drawing
or in which order. So switching an intervention on leaves every unrelated draw
unchanged, a baseline and an intervention run differ only through the
intervention, and results do not depend on the number of workers.

numpy's sequential ``Generator`` cannot be indexed by (customer, counter), so the
per-customer draws apply the SplitMix64 finaliser (Steele et al. 2014, the mixer
behind ``java.util.SplittableRandom``) to the state ``customer · γ ⊕ key(stream, counter)``,
exactly as SplitMix64 turns its Weyl sequence ``k · γ`` into outputs.
Bulk draws at set-up (wages, distances, ties) use numpy Generators seeded with a
``SeedSequence`` of the same seed and stream key.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .kernels import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_COUNTER = np.uint64(0xD1B54A32D192ED03)
_TO_UNIT = np.float64(2.0**-53)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def stream_key(name: str) -> int:
    """A stable 63-bit key for a stream name (same on every machine and run)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, in place on a uint64 array (wrapping arithmetic)."""
    x ^= x >> _S30
    x *= _MIX1
    x ^= x >> _S27
    x *= _MIX2
    x ^= x >> _S31
    return x


class Streams:
    """The random streams of one run, all derived from ``seed``."""

    def __init__(self, seed: int):
        if not 0 <= int(seed) < 2**63:
            raise ValueError(f"seed = {seed}: must be an integer in 0–{2**63 - 1}")
        self.seed = int(seed)
        self._bases: dict[str, np.uint64] = {}

    def _base(self, name: str) -> np.uint64:
        base = self._bases.get(name)
        if base is None:
            key = (stream_key(name) ^ (self.seed * 0x2545F4914F6CDD1D)) % 2**64
            base = self._bases[name] = _splitmix(np.array([key], dtype=np.uint64))[0]
        return base

    def uniform(self, name: str, ids: np.ndarray, counter: int | np.ndarray = 0) -> np.ndarray:
        """Uniform [0, 1) draws for customers ``ids`` at ``counter`` (a step, or one per customer)."""
        if isinstance(counter, np.ndarray):
            return _uniform_counted(np.asarray(ids), counter, self._base(name))
        return _uniform_at(np.asarray(ids), self._base(name), int(counter))

    def uniform_next(self, name: str, ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Uniform draws for customers ``ids`` at their own counter ``counts[id]``, which then moves on by one.

        For decisions a customer may take several times (each time a fresh draw).
        """
        return _uniform_next(np.asarray(ids), counts, self._base(name))

    def uniform_grid(self, name: str, ids: np.ndarray, width: int, counter: int = 0) -> np.ndarray:
        """(len(ids) × width) uniform draws: ``width`` slots per customer, slot ``id · width + column``."""
        return _uniform_grid(np.asarray(ids), int(width), self._base(name), int(counter))

    def exponential(self, name: str, ids: np.ndarray, counter: int = 0) -> np.ndarray:
        """Exp(1) draws: the random 'hazard budget' a customer spends before an event."""
        return _exponential_at(np.asarray(ids), self._base(name), int(counter))

    def generator(self, name: str) -> np.random.Generator:
        """A numpy Generator for bulk draws at set-up, private to stream ``name``."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, stream_key(name)]))


# -- compiled kernels: one pass per draw instead of a dozen array temporaries --------
_BELOW_ONE = np.float32(1 - 2**-24)
"""The largest float32 below 1: a 53-bit fraction within 2**-25 of 1 rounds up to 1.0 as a float32."""


@njit(cache=True, inline="always")
def _to_unit(x):
    """A uint64 as a float32 in [0, 1) from its top 53 bits (at most the largest float32 below 1)."""
    u = np.float32((x >> np.uint64(11)) * _TO_UNIT)
    return u if u < _BELOW_ONE else _BELOW_ONE


@njit(cache=True, inline="always")
def _unit(x):
    """SplitMix64 finaliser of one uint64 state, as a float32 in [0, 1) from its top 53 bits."""
    x ^= x >> _S30
    x *= _MIX1
    x ^= x >> _S27
    x *= _MIX2
    x ^= x >> _S31
    return _to_unit(x)


@njit(cache=True)
def _uniform_at(ids, base, counter):
    key = base + np.uint64(counter) * _COUNTER  # wraps modulo 2**64
    out = np.empty(len(ids), dtype=np.float32)
    for i in range(len(ids)):
        out[i] = _unit(np.uint64(ids[i]) * _GOLDEN ^ key)
    return out


@njit(cache=True)
def _uniform_grid(ids, width, base, counter):
    key = base + np.uint64(counter) * _COUNTER  # wraps modulo 2**64
    out = np.empty((len(ids), width), dtype=np.float32)
    for j in range(len(ids)):
        for col in range(width):
            out[j, col] = _unit(np.uint64(ids[j] * width + col) * _GOLDEN ^ key)
    return out


@njit(cache=True)
def _uniform_counted(ids, counter, base):
    out = np.empty(len(ids), dtype=np.float32)
    for i in range(len(ids)):
        out[i] = _unit(np.uint64(ids[i]) * _GOLDEN ^ (np.uint64(counter[i]) * _COUNTER + base))
    return out


@njit(cache=True)
def _exponential_at(ids, base, counter):
    key = base + np.uint64(counter) * _COUNTER  # wraps modulo 2**64
    out = np.empty(len(ids), dtype=np.float32)
    for i in range(len(ids)):
        out[i] = np.float32(-np.log1p(-np.float64(_unit(np.uint64(ids[i]) * _GOLDEN ^ key))))
    return out


@njit(cache=True)
def _uniform_next(ids, counts, base):
    out = np.empty(len(ids), dtype=np.float32)
    for j in range(len(ids)):
        i = ids[j]
        out[j] = _unit(np.uint64(i) * _GOLDEN ^ (np.uint64(counts[i]) * _COUNTER + base))
        counts[i] += 1
    return out
