"""Customers: their state as arrays (one entry per customer) and a Mesa agent view.

The state schema is declared once in :data:`STATE`; :class:`Customers` gives
each entry as a numpy array over all customers (~156 bytes a customer), which
is what makes a million customers × 52 weeks take about a second. Entries read
together when a customer is reached (:data:`ROW`) are views of one row array,
so that reaching a customer costs a couple of cache misses, not one per entry.
State at the bottom of the layers: no rules here; the ``mesa.Agent`` view of one
customer is :class:`cxsim.engine.customer.CustomerAgent`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np

from .kernels import activate, njit
from .ledger import CASH_COSTS, build_ledger, priced_kinds
from .params import CxError
from .randomness import Streams
from .stages import Stage
from .tallies import slices

NEVER = np.iinfo(np.int32).max

# name: (dtype, initial value, meaning)
STATE: dict[str, tuple[type, float, str]] = {
    "segment": (np.int16, 0, "segment index (scenario.population.segments order; int16: up to 32,767 segments)"),
    "village": (np.int32, 0, "village (network community) index"),
    "stage": (np.int8, Stage.UNAWARE, "journey stage (journey.Stage)"),
    "visited": (np.uint16, 1, "bit set of stages ever reached"),
    "t_stage": (np.int32, 0, "step the current stage was entered"),
    "need": (np.float32, 0, "overt need severity 0–1"),
    "latent_need": (np.float32, 0, "latent need 0–1 (benefit not yet seen)"),
    "insight": (np.float32, 0, "share of latent need the customer sees 0–1"),
    "daily_wage": (np.float32, 0, "daily wage or income (currency/day)"),
    "cash": (np.float32, 0, "cash on hand or credit (currency)"),
    "distance": (np.float32, 0, "distance to the service point (km)"),
    "reach": (np.float32, 1, "exposure to outreach relative to average"),
    "expectation": (np.float32, 0, "expected performance 0–1"),
    "trust": (np.float32, 0, "trust in the provider 0–1"),
    "fear": (np.float32, 0, "fear or anxiety 0–1"),
    "valence": (np.float32, 0, "current feeling −1 (bad) to 1 (good)"),
    "peak": (np.float32, 0, "most intense feeling so far −1 to 1"),
    "end": (np.float32, 0, "latest feeling −1 to 1"),
    "episode_peak": (np.float32, 0, "intensity of the current episode's most intense feeling 0–1"),
    "peak_perf": (np.float32, np.nan, "performance felt at the current episode's most intense moment (NaN: none yet)"),
    "end_perf": (np.float32, np.nan, "performance felt at the current episode's latest touchpoint (NaN: none yet)"),
    "satisfaction": (np.float32, np.nan, "satisfaction 0–1 after the outcome"),
    "loyalty": (np.float32, np.nan, "loyalty 0–1 while a customer"),
    "recommend": (np.int8, -1, "likelihood to recommend 0–10 (−1 = not asked yet)"),
    "outcome": (np.int8, -1, "core outcome: 1 good, 0 poor, −1 not yet"),
    "followed_up": (np.bool_, False, "attended follow-up"),
    "reason": (np.int8, -1, "binding reason for staying away (barriers.REASONS index)"),
    "referred": (np.bool_, False, "reached by a recommendation before deciding"),
    "reports": (np.float32, 0, "good-outcome reports heard from ties"),
    "referrals_made": (np.int16, 0, "recommendations this customer made"),
    "decisions": (np.int8, 0, "times the customer has decided"),
    "aware_budget": (np.float32, 0, "awareness hazard budget left: Exp(1) at start, aware at 0 (inf once aware)"),
    "screen_at": (np.float32, np.inf, "cumulative screening hazard at which the customer is screened"),
    "talk_count": (np.int16, 0, "ties talking about the service to this customer"),
    "trough": (np.float32, 0, "worst feeling so far −1 to 0"),
    "failures": (np.int16, 0, "touchpoint failures met"),
    "recoveries": (np.int16, 0, "failures put right on the spot"),
    "t_anchor": (np.int32, 0, "step loyalty was last anchored (became a customer, or satisfaction changed)"),
    "t_renew": (np.int32, NEVER, "step the current contract ends (relationship.term_steps)"),
    "encounters": (np.int16, 0, "repeat encounters as a customer"),
    "spend": (np.float32, 0, "value of the customer's repeat encounters (currency)"),
}


ROW = (
    # read together when a customer is screened, meets a touchpoint and decides (float32 first: no padding)
    "fear", "trust", "expectation", "valence", "peak", "end", "trough", "episode_peak", "peak_perf", "end_perf",
    "need", "latent_need", "insight", "daily_wage", "distance", "reports", "ledger",
    "t_stage", "visited", "failures", "decisions", "reason", "referred", "outcome",
    # read when they are served and afterwards
    "cash", "satisfaction", "loyalty", "t_anchor", "t_renew", "spend", "referrals_made", "recoveries",
)
"""Entries stored side by side, one row per customer; the others are one array each.

Screening, a touchpoint and the decision each reach a few thousand customers
spread over the population; with each entry in its own array every entry they
read is a separate cache miss, with the row a couple. Entries scanned for every
customer each step (awareness budget and rate, screening clock, stage) stay
arrays of their own, where such scans run at memory speed.
"""


def row_dtype(cost_kinds: int) -> np.dtype:
    """The layout of one customer's row, with ``cost_kinds`` columns of the cost ledger."""
    return np.dtype([(name, STATE[name][0]) if name != "ledger" else (name, np.float32, (cost_kinds,)) for name in ROW], align=True)


def _initial_row(dtype: np.dtype) -> np.ndarray:
    row = np.zeros((), dtype=dtype)
    for name in ROW:
        if name != "ledger":
            row[name] = STATE[name][1]
    return row


class Customers:
    """Every customer's state (see :data:`STATE`): one array per entry, those in :data:`ROW` as views of one row array.

    The cost ledger keeps only the kinds in ``cost_kinds`` (default: all of
    :data:`~cxsim.state.ledger.CASH_COSTS`): a kind the scenario prices at zero for
    everyone costs no memory (``ledger_columns`` gives each kept column's index in
    ``CASH_COSTS``; :meth:`cost` reads any kind). ``shared`` gives entries held
    elsewhere (the network's villages), used as they are.
    """

    def __init__(self, n: int, cost_kinds: tuple[str, ...] = CASH_COSTS, shared: dict[str, np.ndarray] | None = None):
        self.n = n
        self.cost_kinds = tuple(cost_kinds)
        self.ledger_columns = np.array([CASH_COSTS.index(k) for k in self.cost_kinds], dtype=np.int64)
        dtype = row_dtype(len(self.cost_kinds))
        self.rows = np.empty(n, dtype=dtype)
        self.rows[...] = _initial_row(dtype)  # one pass, not one per entry (np.full of a record is ~30× slower)
        self.ledger = self.rows["ledger"]
        shared = shared or {}
        for name, (dtype, init, _) in STATE.items():
            if name in ROW:
                setattr(self, name, self.rows[name])
            elif name in shared:
                setattr(self, name, shared[name])
            else:
                setattr(self, name, np.full(n, init, dtype=dtype))

    def nbytes(self) -> int:
        return self.rows.nbytes + sum(getattr(self, name).nbytes for name in STATE if name not in ROW)

    def cost(self, kind: str, ids=slice(None)) -> np.ndarray:
        """Ledger column ``kind`` (currency) of customers ``ids``: zeros for a kind the scenario does not price."""
        if kind in self.cost_kinds:
            return self.ledger[ids, self.cost_kinds.index(kind)]
        return np.zeros(self.segment[ids].shape, dtype=np.float32)

    def full_ledger(self, ids=slice(None)) -> np.ndarray:
        """The ledger of customers ``ids`` with a column for every kind of :data:`~cxsim.state.ledger.CASH_COSTS`."""
        rows = self.ledger[ids]
        out = np.zeros(rows.shape[:-1] + (len(CASH_COSTS),), dtype=np.float32)
        out[..., self.ledger_columns] = rows
        return out

    def row(self, i: int) -> dict:
        """One customer's state as plain Python values."""
        out = {name: getattr(self, name)[i].item() for name in STATE}
        out.update({f"cost_{k}": float(v) for k, v in zip(CASH_COSTS, self.full_ledger(i))})
        return out


def populate(scenario, streams: Streams, shared: dict[str, np.ndarray] | None = None) -> Customers:
    """Draw a population from the scenario's segments; each attribute has its own stream.

    The attributes' draws are independent (one named stream each), so they run
    side by side in threads (numpy's fills and the beta kernel release the GIL);
    each writes only its own entries, so the result does not depend on the order.
    Each attribute is drawn in slices (:func:`cxsim.state.tallies.slices`), one after the
    other from its stream (the same numbers as one draw of all), which keeps the
    temporaries small. Only the ledger's priced kinds are stored
    (:func:`cxsim.state.ledger.priced_kinds`), and an attribute no mechanism of the
    scenario reads is not drawn (``Scenario.unread_attributes``: each customer
    holds their segment's mean).
    """
    pop = scenario.population
    segs = list(pop.segments.values())
    n = pop.customers
    if len(segs) > np.iinfo(STATE["segment"][0]).max:
        raise CxError(f"population.segments: {len(segs)} segments; at most {np.iinfo(STATE['segment'][0]).max} fit the segment index")
    kinds = priced_kinds(scenario.costs)
    unread = scenario.unread_attributes()
    c = Customers(n, cost_kinds=kinds, shared=shared)
    shares = np.array([s.share for s in segs], dtype=np.float64)
    cum = np.cumsum(shares / shares.sum())
    draw = streams.generator("population:segment")
    for part in slices(n):
        _segment_of(draw.random(part.stop - part.start), cum, c.segment[part])

    def means(attr: str) -> np.ndarray:
        return np.array([getattr(s, attr) for s in segs], dtype=np.float32)

    def gen(attr: str) -> np.random.Generator:
        return streams.generator(f"population:{attr}")

    def money() -> None:
        wage, spread, cash_days = means("daily_wage"), means("wage_spread"), means("cash_days")
        z_draw, cash_draw = gen("daily_wage"), gen("cash")
        for part in slices(n):
            seg, size = c.segment[part], part.stop - part.start
            z = z_draw.standard_normal(size, dtype=np.float32)
            c.daily_wage[part] = wage[seg] * np.exp(spread[seg] * z)
            c.cash[part] = c.daily_wage[part] * cash_days[seg] * cash_draw.gamma(2.0, 0.5, size).astype(np.float32)

    def distance() -> None:
        km, draw = means("distance_km"), gen("distance")
        for part in slices(n):
            c.distance[part] = km[c.segment[part]] * draw.gamma(2.0, 0.5, part.stop - part.start).astype(np.float32)

    def beta(attr: str) -> None:
        if attr in unread:  # no mechanism reads it: the segment's mean, not drawn
            mean = means(attr)
            for part in slices(n):
                getattr(c, attr)[part] = mean[c.segment[part]]
            return
        _beta_fill(gen(attr), getattr(c, attr), c.segment, means(attr), np.float32(pop.concentration))

    party: dict[str, np.ndarray] = {}

    def share(attr: str) -> None:
        chance, draw = means(attr), gen(attr)
        party[attr] = flags = np.empty(n, dtype=np.bool_)
        for part in slices(n):
            flags[part] = draw.random(part.stop - part.start, dtype=np.float32) < chance[c.segment[part]]

    def awareness() -> None:
        reach = means("reach")
        for part in slices(n):
            c.reach[part] = reach[c.segment[part]]
            c.aware_budget[part] = streams.exponential("awareness", np.arange(part.start, part.stop))

    tasks = [money, distance, awareness, *(partial(beta, a) for a in BETA_ATTRIBUTES), partial(share, "companion"), partial(share, "works")]
    _run_all(tasks, threads=n >= THREADED_FROM)
    build_ledger(scenario.costs, c.distance, c.daily_wage, party["companion"], party["works"], out=c.ledger, kinds=kinds)
    return c


BETA_ATTRIBUTES = ("need", "latent_need", "fear", "trust", "expectation")
"""Attributes drawn from a beta distribution around their segment's mean."""

THREADED_FROM = 50_000
"""Populations from this size draw their attributes in threads (below, starting threads costs more than it saves)."""


def _run_all(tasks: list, threads: bool) -> None:
    if not threads or (os.cpu_count() or 1) < 2:
        for task in tasks:
            task()
        return
    activate()  # compile or load the kernels here, not inside a worker thread
    with ThreadPoolExecutor(max_workers=min(len(tasks), os.cpu_count() or 1)) as pool:
        for future in [pool.submit(task) for task in tasks]:
            future.result()  # re-raises a task's error


@njit(cache=True)
def _segment_of(u, cum, segment):
    """``segment[i]``: the first segment whose cumulative share reaches ``u[i]`` (numpy's ``searchsorted``, capped at the last)."""
    last = len(cum) - 1
    for i in range(len(u)):
        s = 0
        while s < last and cum[s] < u[i]:
            s += 1
        segment[i] = s


@njit(cache=True, nogil=True)
def _beta_fill(rng, out, segment, means, concentration):
    """``out[i]`` ~ Beta(m·κ, (1 − m)·κ) with m the mean of customer i's segment (clipped to 0.001–0.999).

    The same draws, in the same order, as ``rng.beta(m * κ, (1 - m) * κ)`` on
    float32 means, written as float32 without array temporaries.
    """
    lo, hi, one = np.float32(1e-3), np.float32(1 - 1e-3), np.float32(1.0)
    for i in range(len(out)):
        m = min(max(means[segment[i]], lo), hi)
        out[i] = np.float32(rng.beta(np.float64(m * concentration), np.float64((one - m) * concentration)))
