"""Closed-loop feedback: hear about failing touchpoints, assign actions, fix them over time.

An ``improvement_loop`` intervention (:class:`cxsim.interventions.ImprovementLoop`)
is a team that listens and acts. Its phase runs last in
:data:`cxsim.model.PHASES`, after the customers' moments of truth:

* **Coverage** is the share of customers the programme serves (its sites,
  regions or accounts): their experience can reach the team, and the team's
  fixes reach their touchpoints. Coverage 0 is a programme that serves nobody:
  it hears nothing, assigns nothing, fixes nothing and costs nothing.
* **Listening.** Whenever a covered customer meets a touchpoint that fails, the
  team hears of it if the customer responds (``response``: a short, immediate
  survey's response rate, or 1 for an operational early-warning system that sees
  every interaction). Responders are the share ``response`` of the covered
  customers, drawn once per customer.
* **Review.** Every ``review_steps`` the team assigns up to ``actions`` actions to
  touchpoints that have no open action: ``worst`` targets the touchpoints with
  the most reported failures × weight (priority touchpoints first); ``spread``
  takes every eligible touchpoint in turn, whatever was heard.
* **Actions.** An action is due ``deadline_steps`` later. A *tracked* action
  (assigned with a deadline and monitored) is done by then with probability
  ``completion``; an untracked one with
  ``untracked + (completion − untracked) · drive``, where ``drive`` is staff
  motivation above its status quo (:func:`cxsim.staff.drive`): once the
  emotional high of a push has faded, untracked actions are forgotten. Undone
  actions lapse (a failing touchpoint is heard about again).
* **Fixes.** A done action removes the share ``fix_share`` of the touchpoint's
  failures below ``ceiling`` (``fix = reliability``) or adds ``quality_gain`` to
  its quality (``fix = quality``), for every covered customer from the next step
  on (the loop's own levels of the touchpoint; a customer covered by several
  loops meets the best of their levels).
  Customers who reported the failure and are still customers are told: they lose
  the share ``close_loop`` of their dissatisfaction (closing the loop), and are
  asked for their score to recommend again (a closed-loop contact).
* **Relapse.** A fix made by an untracked action is a change of habit nobody
  monitors: each step it loses the share ``relapse`` of what it gained, back
  toward the status quo. Tracked fixes are monitored and kept.

Each team keeps the levels its actions set (touchpoint → [reliability, quality],
starting from the touchpoint's own ``world.levels``); :func:`levels` gives them to
:func:`cxsim.journey.touchpoint_levels` for the customers each loop covers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import relationship, staff
from .interventions import ImprovementLoop
from .stages import Stage

if TYPE_CHECKING:
    from .world import World


@dataclass
class Action:
    number: int  # the loop's n-th action (keys its random draw)
    touchpoint: str
    due: int
    reporters: np.ndarray


@dataclass
class Team:
    """What one improvement loop has heard since its last review, and its open actions."""

    heard: dict[str, list[np.ndarray]] = field(default_factory=dict)
    open: list[Action] = field(default_factory=list)
    turn: int = 0
    assigned: int = 0
    done: int = 0
    unmonitored: dict[str, list[float]] = field(default_factory=dict)  # touchpoint → [reliability, quality] gained by untracked fixes
    levels: dict[str, list[float]] = field(default_factory=dict)  # touchpoint → [reliability, quality] after this loop's fixes
    listeners: np.ndarray | None = None  # which customers' failures reach the team (covered and responding)


class Loops:
    """The improvement loops of one run (empty when the scenario has none)."""

    def __init__(self, scenario):
        self.names = [n for n, iv in scenario.interventions.items() if isinstance(iv, ImprovementLoop) and iv.enabled]
        self.loops = {n: scenario.interventions[n] for n in self.names}
        self.teams = {n: Team() for n in self.names}
        self.fixes: list[tuple[int, str, str]] = []  # (step, loop, touchpoint)

    def __bool__(self) -> bool:
        return bool(self.names)

    def levels(self, world: "World", name: str, ids: np.ndarray):
        """Touchpoint ``name``'s levels for ``ids`` after these loops' fixes (see :func:`levels`)."""
        return levels(world, name, ids)

    def observe(self, world: "World", name: str, ids: np.ndarray, works: np.ndarray) -> None:
        """The loops covering ``ids`` hear of touchpoint ``name``'s failures (see :func:`observe`)."""
        observe(world, name, ids, works)


def _active_loops(world: "World"):
    return [(n, iv) for n, iv in world.active if n in world.loops.teams]


def levels(world: "World", name: str, ids: np.ndarray):
    """Reliability and quality of touchpoint ``name`` for customers ``ids`` after the fixes of the loops covering them.

    Numbers when no loop changed it (or one loop covering everyone did), else one per customer.
    """
    reliability, quality = world.levels[name]
    for loop, team in world.loops.teams.items():
        fixed = team.levels.get(name)
        if fixed is None:
            continue
        cov = world.coverage.covering(loop, world.loops.loops[loop], ids)
        if cov is True and np.isscalar(reliability) and np.isscalar(quality):
            reliability, quality = max(reliability, fixed[0]), max(quality, fixed[1])
        else:
            reliability = np.where(cov, np.maximum(reliability, fixed[0]), reliability)
            quality = np.where(cov, np.maximum(quality, fixed[1]), quality)
    return reliability, quality


def _listeners(world: "World", loop: str, iv: ImprovementLoop, team: Team) -> np.ndarray:
    """Covered customers who respond: the share ``response`` of the covered, from the coverage draw itself."""
    if team.listeners is None:
        covered = world.coverage.covering(loop, iv, np.arange(world.customers.n))
        responds = world.streams.uniform(f"coverage:{loop}", np.arange(world.customers.n)) < iv.coverage * iv.response
        team.listeners = responds & covered
    return team.listeners


def observe(world: "World", name: str, ids: np.ndarray, works: np.ndarray) -> None:
    """Customers ``ids`` met touchpoint ``name``; the loops that cover them hear of its failures."""
    failed = ids[~works]
    if len(failed) == 0:
        return
    for loop, iv in _active_loops(world):
        team = world.loops.teams[loop]
        heard = failed[_listeners(world, loop, iv, team)[failed]]
        if len(heard):
            team.heard.setdefault(name, []).append(heard)


def review(world: "World") -> None:
    """Last phase: actions due are done (or not); at review steps new actions are assigned."""
    for loop, iv in _active_loops(world):
        if not world.coverage.covers_anyone(loop, iv):
            continue  # a programme that serves nobody does nothing
        team = world.loops.teams[loop]
        if iv.relapse and team.unmonitored:
            _relapse(world, iv, team)
        _finish(world, loop, iv, team)
        if (world.t - iv.start + 1) % iv.review_steps == 0:
            _assign(world, loop, iv, team)


def _finish(world: "World", loop: str, iv: ImprovementLoop, team: Team) -> None:
    due = [a for a in team.open if a.due <= world.t]
    if not due:
        return
    team.open = [a for a in team.open if a.due > world.t]
    chance = iv.completion if iv.tracked else iv.untracked + (iv.completion - iv.untracked) * staff.drive(world)
    draws = world.streams.uniform(f"actions:{loop}", np.array([a.number for a in due]), world.t)
    for action, u in zip(due, draws):
        if u >= chance:
            world.tally["actions_lapsed"] += 1
            continue
        team.done += 1
        world.tally["actions_done"] += 1
        _fix(world, iv, team, action.touchpoint)
        world.loops.fixes.append((world.t, loop, action.touchpoint))
        if iv.close_loop:
            _close_loop(world, action.reporters, iv.close_loop)


def _fix(world: "World", iv: ImprovementLoop, team: Team, name: str) -> None:
    level = team.levels.setdefault(name, list(world.levels[name]))
    before = list(level)
    if iv.fix == "reliability":
        if level[0] < iv.ceiling:
            level[0] += iv.fix_share * (iv.ceiling - level[0])
    else:
        level[1] = min(1.0, level[1] + iv.quality_gain)
    if not iv.tracked:
        gain = team.unmonitored.setdefault(name, [0.0, 0.0])
        gain[0] += level[0] - before[0]
        gain[1] += level[1] - before[1]


def _relapse(world: "World", iv: ImprovementLoop, team: Team) -> None:
    """Untracked fixes lose the share ``relapse`` of their gain (old habits return)."""
    for name, gain in team.unmonitored.items():
        level = team.levels[name]
        for k in (0, 1):
            lost = iv.relapse * gain[k]
            level[k] -= lost
            gain[k] -= lost


def _close_loop(world: "World", reporters: np.ndarray, share: float) -> None:
    c = world.customers
    who = np.unique(reporters)
    who = who[c.stage[who] == Stage.LOYAL]
    if len(who):
        sat = c.satisfaction[who]
        relationship.set_satisfaction(world, who, (sat + share * (1.0 - sat)).astype(np.float32), "closed_loop")
        world.tally["loops_closed"] += len(who)


def _assign(world: "World", loop: str, iv: ImprovementLoop, team: Team) -> None:
    heard = {k: np.concatenate(v) for k, v in team.heard.items()}
    team.heard = {}
    busy = {a.touchpoint for a in team.open}
    eligible = [t for t in (iv.touchpoints or list(world.pars.touchpoints)) if t not in busy]
    if iv.targeting == "worst":
        score = {t: len(heard.get(t, ())) * world.pars.touchpoints[t].weight for t in eligible}
        chosen = sorted((t for t in eligible if score[t] > 0), key=lambda t: -score[t])[: iv.actions]
    else:
        order = iv.touchpoints or list(world.pars.touchpoints)
        chosen = []
        for _ in range(len(order)):
            if len(chosen) >= iv.actions:
                break
            t = order[team.turn % len(order)]
            team.turn += 1
            if t in eligible:
                chosen.append(t)
    empty = np.empty(0, dtype=np.int64)
    for t in chosen:
        team.open.append(Action(team.assigned, t, world.t + iv.deadline_steps, heard.get(t, empty)))
        team.assigned += 1
        world.tally["actions_assigned"] += 1
        world.costs[loop] += iv.cost_per_action
