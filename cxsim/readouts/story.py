"""Stories in plain words: one customer's journey, told from their barrier ledger and events.

A scenario's story, told with the numbers of runs (``cxsim story``), is :mod:`cxsim.narrative`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..rules.barriers import CASH_COSTS, REASONS, WAGE_KINDS
from ..rules.relief import relief_for
from ..state.stages import STAGES, Stage

if TYPE_CHECKING:
    from ..state.world import World

COST_WORDS = {
    "price": "the price",
    "transport": "bus fare",
    "food": "food",
    "lodging": "lodging",
    "medicine": "medicine",
    "own_wages": "my lost wages",
    "companion_wages": "my companion's lost wages",
    "follow_up": "the follow-up trip",
}

REASON_WORDS = {
    "cost": "it cost too much for what I earn",
    "fear": "I was afraid",
    "distance": "it was too far to travel",
    "distrust": "I did not trust them",
    "low_need": "I did not think I needed it enough",
    "dissatisfaction": "I was not satisfied",
}


def ledger_sentence(model: "World", i: int) -> str:
    """'Bus fare 40, food 32, …: "free" service would cost me 174 rupees, 35 days' wages.'

    Costs the switched-on interventions pay for this customer are marked as paid.
    """
    c, cur = model.customers, model.pars.currency
    relief = relief_for(model, np.array([i]))
    share = {kind: float(np.ravel(relief.cost_share.get(col, 1.0))[0]) for col, kind in enumerate(CASH_COSTS)}
    costs = dict(zip(CASH_COSTS, c.full_ledger(i).tolist()))
    paying = {k: v * share[k] for k, v in costs.items()}
    parts = [f"{COST_WORDS[k]} {v:.0f}" for k, v in costs.items() if v >= 0.5 and share[k] > 0]
    paid = [COST_WORDS[k] for k, v in costs.items() if v >= 0.5 and share[k] == 0]
    cash = sum(v for k, v in paying.items() if k not in WAGE_KINDS)
    total = sum(paying.values())
    days = total / max(float(c.daily_wage[i]), 1e-6)
    free = "'free' " if model.pars.costs.price == 0 else ""
    covered = f" (paid for me: {', '.join(paid)})" if paid else ""
    if not parts:
        return f"Using the service costs me nothing{covered}."
    return (
        f"{', '.join(parts).capitalize()}: {free}service would cost me {cash:.0f} {cur} in cash, "
        f"{total:.0f} with lost wages: {days:.0f} days of what I earn{covered}."
    )


def customer_story(model: "World", i: int) -> str:
    """One customer's journey in the first person, with their reasons."""
    c, sc = model.customers, model.pars
    segment = sc.segment_names[c.segment[i]]
    lines = [
        f"Customer {i} ({segment}): earns about {c.daily_wage[i]:.1f} {sc.currency} a day, lives {c.distance[i]:.0f} km away, "
        f"need {c.need[i]:.2f}, fear {c.fear[i]:.2f}, trust {c.trust[i]:.2f}.",
        ledger_sentence(model, i),
    ]
    stage = Stage(int(c.stage[i]))
    if c.reason[i] >= 0:
        reason = REASONS[c.reason[i]]
        lines.append(f"Now {STAGES[stage]}: \"{REASON_WORDS[reason]}\" (binding reason: {reason}).")
    elif stage == Stage.LOYAL:
        outcome = "a good outcome" if c.outcome[i] == 1 else "a poor outcome"
        lines.append(f"Served, with {outcome}; satisfaction {c.satisfaction[i]:.2f}, would recommend {c.recommend[i]}/10.")
    else:
        lines.append(f"Now {STAGES[stage]}.")
    if c.referred[i]:
        lines.append("A neighbour's recommendation reached me before I decided.")
    events = model.events_frame()
    mine = events[events["customer"] == i]
    if len(mine):
        peak = mine.loc[mine["valence"].abs().idxmax()]
        lines.append(f"The moment I remember most: {peak['event']} ({sc.step_unit} {peak['step']}), feeling {peak['valence']:+.2f}.")
        for row in mine.itertuples():
            note = f" – {row.note}" if row.note else ""
            lines.append(f"  {sc.step_unit} {row.step:>3}: {row.stage:<13} {row.event}{note} (feeling {row.valence:+.2f}, fear {row.fear:.2f})")
    return "\n".join(lines)


def pick_customer(model: "World", which: str = "declined", seed: int = 0) -> int | None:
    """A random customer by outcome ('declined', 'dropped', 'loyal', 'churned', 'any'), tracked ones first."""
    c = model.customers
    pool = np.arange(c.n) if which == "any" else np.flatnonzero(c.stage == Stage[which.upper()])
    if len(pool) == 0:
        return None
    tracked = pool[model.tracked[pool]]
    pool = tracked if len(tracked) else pool
    return int(pool[np.random.default_rng(seed).integers(len(pool))])
