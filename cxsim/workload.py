"""How much work a command asks for, estimated before it starts, and the bound above which it asks first.

Work is counted in customer-steps (runs × customers × steps): the engine's time is close to
proportional to it. Above :data:`BOUND` the CLI refuses unless ``--allow-large`` is given,
the API unless ``allow_large=True``, and the explorer asks for confirmation above
:data:`EXPLORER_BOUND`. A plan of more than :data:`MAX_RUNS` runs is refused in any case
(its task list alone would not fit in memory): split such an experiment.
"""

from __future__ import annotations

from dataclasses import dataclass

from .state.params import CxError

BOUND = 2e11
"""customer-steps a command may ask for without ``--allow-large`` (≈ 1 h at :data:`RATE` on one core)."""
EXPLORER_BOUND = 1.5e9
"""customer-steps an explorer page computes without asking (≈ 30 s at :data:`RATE`)."""
MAX_RUNS = 5_000_000
"""runs one experiment may plan, even with ``--allow-large``."""
RATE = 50e6
"""customer-steps per second and worker used for time estimates (measured 35–110 M/s at 100k–1M customers)."""


@dataclass(frozen=True)
class Workload:
    runs: int
    customers: int
    steps: int

    @property
    def customer_steps(self) -> float:
        return float(self.runs) * self.customers * self.steps

    def seconds(self, workers: int = 1) -> float:
        return self.customer_steps / RATE / max(1, workers)

    def describe(self, workers: int = 1) -> str:
        return (f"{self.customer_steps:.2g} customer-steps ({self.runs:,} runs × {self.customers:,} customers × "
                f"{self.steps:,} steps), about {duration(self.seconds(workers))} on {workers} worker{'s' if workers > 1 else ''}")


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:,.0f} days"


def check(work: Workload, allow_large: bool = False, workers: int = 1, flag: str = "--allow-large") -> Workload:
    """Refuse (one line, with the estimate and the flag that allows it) work above the bound."""
    if work.runs > MAX_RUNS:
        raise CxError(f"{work.runs:,} runs planned: at most {MAX_RUNS:,} fit one experiment; use fewer samples, levels or replicates")
    if work.customer_steps > BOUND and not allow_large:
        raise CxError(f"this asks for {work.describe(workers)}, above the bound of {BOUND:.0e} customer-steps: pass {flag} to run it anyway")
    return work


def needs_confirmation(work: Workload) -> bool:
    """The explorer asks before computing a page above :data:`EXPLORER_BOUND`."""
    return work.customer_steps > EXPLORER_BOUND
