"""Names and helpers at the bottom of the state layer (no cxsim imports): the declared tallies
(:data:`TALLIES`, :class:`Tally`) and the slices a pass over everyone takes.

The world the rules act on is :class:`cxsim.state.world.World`. The dependency runs one
way, by package — the engine on top (:mod:`cxsim.engine.model`), readouts and rules below, the
state at the bottom (this package: :mod:`cxsim.state.world`, :mod:`cxsim.state.stages`,
:mod:`cxsim.state.agents`, …); ``tests/test_layers.py`` reads the layers from the packages and
fails on an import that breaks them.
"""

from __future__ import annotations

SLICE = 1 << 16
"""Customers handled at a time by a pass over everyone that would otherwise make
population-sized temporaries (set-up draws, the ledger, who is tracked)."""


TALLIES: dict[str, str] = {
    "offered": "customers screened and offered the service",
    "accepted": "customers who said yes",
    "served": "customers who received the service",
    "scored": "customers who judged the experience (served, or of the installed base)",
    "installed_base": "customers who were customers when the run began",
    "good_outcomes": "services with a good core outcome",
    "followed_up": "customers who attended follow-up",
    "promoters": "customers who scored 9–10",
    "detractors": "customers who scored 0–6",
    "referrals": "recommendations made by promoters",
    "referral_acceptances": "acceptances by customers reached by a recommendation",
    "warnings": "ties warned off by a detractor",
    "reconsiderations": "decliners who decide again after hearing a recommendation",
    "recalled": "customers offered the service again by a recall",
    "failures": "touchpoint failures customers met",
    "recoveries": "failures put right on the spot",
    "encounters": "repeat encounters of customers",
    "disappointments": "repeat encounters judged below expectation",
    "defections": "customers who left right after a disappointing encounter",
    "renewals_due": "contracts that reached their end",
    "lapses": "contracts that ended without renewal",
    "loops_closed": "customers whose feedback an improvement loop closed",
    "actions_assigned": "improvement actions assigned",
    "actions_done": "improvement actions completed",
    "actions_lapsed": "improvement actions dropped unfinished",
}
"""The running counts of a run, each declared once with its meaning (:class:`Tally`)."""


class Tally(dict):
    """The running counts of :data:`TALLIES`, all starting at 0; a key not declared there raises ``KeyError``
    (reading or writing), so a misspelt count fails instead of reading 0."""

    def __init__(self):
        super().__init__(dict.fromkeys(TALLIES, 0))

    def __setitem__(self, key: str, value) -> None:
        if key not in TALLIES:
            raise KeyError(f"{key!r} is not a declared tally (cxsim.state.tallies.TALLIES)")
        super().__setitem__(key, value)


def slices(n: int):
    """Consecutive slices of ``range(n)``, :data:`SLICE` customers each (the last shorter)."""
    return (slice(lo, min(n, lo + SLICE)) for lo in range(0, n, SLICE))
