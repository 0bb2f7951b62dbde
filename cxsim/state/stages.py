"""Journey stages: the one piece of state every rule and readout shares (no cxsim imports).

Every customer is in exactly one :class:`Stage`; ``customers.visited`` keeps the bit
set of the stages they ever reached (:func:`reached`). The transitions between
stages are the journey's rules (:mod:`cxsim.rules.journey`).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Stage(IntEnum):
    UNAWARE = 0
    AWARE = 1
    OFFERED = 2
    ACCEPTED = 3
    SERVED = 4
    LOYAL = 5
    DECLINED = 6
    DROPPED = 7
    CHURNED = 8


STAGES = tuple(s.name.lower() for s in Stage)
TALKING = (Stage.ACCEPTED, Stage.SERVED, Stage.LOYAL)
"""Stages whose customers talk about the service (unless they are detractors)."""


def reached(c, stage: Stage) -> np.ndarray:
    """Which customers (state ``c``) have ever been in ``stage`` (bool per customer)."""
    return (c.visited & np.uint16(1 << int(stage))) != 0
