"""One run's world, the state every rule acts on: :class:`World` (a dataclass the model holds as ``model.world``).

Rule modules (journey, relationship, feedback, staff, coverage, relief, …) receive
the ``World`` and read or change only its fields; they never see the model
(:class:`cxsim.engine.model.CxModel`, which builds the world, steps its phases and
records results). Caches the rules keep between phases live in their own
object (:class:`ActiveSet`), not on the world as loose attributes.

The world sits at the top of the state layer: it imports state modules only.
Objects the rules define themselves (the validated scenario, whom each
intervention reaches, staff morale, improvement loops, the behavioural
coefficients) are named in comments beside their fields: their classes live
with their rules, and ``tests/test_layers.py`` keeps state from importing rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol

import numpy as np
import pandas as pd

from .agenda import Agenda
from .agents import Customers
from .kernels import njit
from .network import FullyMixed, VillageTies
from .randomness import Streams
from .tallies import Tally


@dataclass(eq=False)
class ActiveSet:
    """The interventions acting this step, ``(name, intervention)`` in scenario order, and what the rules cache
    while that set stays the same: its ``key`` (the names) and the relief for all when every one covers everyone."""

    members: list[tuple[str, Any]] = field(default_factory=list)
    key: tuple[str, ...] | None = None
    relief_for_all: Any = None  # a relief.Relief, or None

    def update(self, members: list[tuple[str, Any]]) -> bool:
        """The interventions acting now; True when the set changed (the caches are then cleared)."""
        self.members = members
        key = tuple(name for name, _ in members)
        if key == self.key:
            return False
        self.key, self.relief_for_all = key, None
        return True

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self.members)

    def __len__(self) -> int:
        return len(self.members)


@dataclass(eq=False)
class World:
    """One run's state: inputs, customers, their network, the running sums and the time the rules update."""

    pars: Any  # cxsim.engine.scenario.Scenario, validated (rules layer: not imported here)
    seed: int
    streams: Streams  # named random streams (common random numbers)
    net: VillageTies | FullyMixed  # who talks to whom
    customers: Customers  # one array per state entry
    tracked: np.ndarray  # bool per customer: events kept for their story
    reasons: tuple[str, ...]  # names of reason codes (barriers.REASONS), to word the events
    coverage: Any  # coverage.Coverage: whom each intervention reaches
    feeling: np.ndarray  # emotions.COEFFICIENT_RECORD: the behavioural coefficients the kernels read
    staff: Any  # staff.Morale
    loops: Any  # feedback.Loops
    t: int = 0  # the step being taken (0 before the first)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # customers per Stage
    tally: Tally = field(default_factory=Tally)
    costs: dict[str, float] = field(default_factory=dict)  # provider's costs by intervention (and "service")
    value_delivered: float = 0.0
    encounter_value: float = 0.0
    screen_hazard: float = 0.0
    loyalty_sum: float = 0.0
    satisfaction_sum: float = 0.0
    aware_rate: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))  # awareness hazard per step and customer
    value_per_step: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per segment
    basket: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per segment
    cohorts: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # per anchor step: loyal, Σ satisfaction, Σ (anchor − initial loyalty)
    loyal_by_segment: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    recalled: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # bool per customer once a recall acted
    levels: dict[str, list[float]] = field(default_factory=dict)  # touchpoint → [reliability, quality] before any loop's fixes
    touchpoints_by_stage: dict[str, list] = field(default_factory=dict)
    touchpoint_segments: dict[str, np.ndarray] = field(default_factory=dict)
    active: ActiveSet = field(default_factory=ActiveSet)  # the interventions acting this step; the rules ask each what it changes
    agenda: Agenda = field(default_factory=Agenda)  # who is due for which phase when
    events: list[tuple] = field(default_factory=list)  # tracked customers' moments (see log)

    def log(self, ids, stage, what, delta=None, flag=None, labels=("", ""), reasons=None) -> None:
        """Keep the story of tracked customers: one event row per customer and moment.

        ``flag`` (bool per customer) picks the note from ``labels`` (false, true);
        ``reasons`` (codes per customer) gives the note as a reason's name.
        Notes are turned into words only when the events are read.
        """
        picked = _tracked_positions(self.tracked, ids)
        if len(picked) == 0:
            return
        who = ids[picked]
        if reasons is not None:
            notes = (self.reasons, reasons[picked])
        elif flag is not None:
            notes = (labels, flag[picked].astype(np.int8))
        else:
            notes = None  # (words, codes): worded in events_frame
        change = delta[picked] if delta is not None else None
        c = self.customers
        self.events.append((self.t, who, stage, what, change, c.valence[who], c.fear[who], notes))

    def events_frame(self) -> pd.DataFrame:
        """Tracked customers' events, in the order they happened."""
        cols = ["step", "customer", "stage", "event", "feeling_change", "valence", "fear", "note"]
        if not self.events:
            return pd.DataFrame(columns=cols)
        step, who, stage, what, change, valence, fear, notes = zip(*self.events)
        sizes = [len(w) for w in who]
        return pd.DataFrame({
            "step": np.repeat(step, sizes),
            "customer": np.concatenate(who),
            "stage": np.repeat(stage, sizes),
            "event": np.repeat(what, sizes),
            "feeling_change": np.concatenate([np.zeros(k, dtype=np.float32) if d is None else d for d, k in zip(change, sizes)]).astype(float),
            "valence": np.concatenate(valence).astype(float),
            "fear": np.concatenate(fear).astype(float),
            "note": np.concatenate([np.full(k, "", dtype=object) if n is None else np.asarray(n[0], dtype=object)[n[1]]
                                    for n, k in zip(notes, sizes)]).astype(str),
        }, columns=cols)


@njit(cache=True)
def _tracked_positions(tracked, ids):
    """Positions in ``ids`` of the tracked customers."""
    out = np.empty(len(ids), dtype=np.int64)
    k = 0
    for j in range(len(ids)):
        if tracked[ids[j]]:
            out[k] = j
            k += 1
    return out[:k]


class Run(Protocol):
    """One finished run as readouts see it (in practice :class:`cxsim.engine.model.Results`)."""

    model: Any  # cxsim.engine.model.CxModel: its world's fields read as its own, its datacollector and events
    summary: dict[str, Any]
