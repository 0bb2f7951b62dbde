"""Closed-loop feedback: hear about failing touchpoints, assign actions, fix them over time.

An ``improvement_loop`` intervention (:class:`cxsim.interventions.ImprovementLoop`)
is a team that listens and acts. Its phase runs last in
:func:`cxsim.journey.step`, after the customers' moments of truth:

* **Listening.** Whenever a customer it covers meets a touchpoint that fails,
  the team hears of it (``coverage`` is the share of customers whose experience
  reaches the team: a short, immediate survey's response rate, or 1 for an
  operational early-warning system that sees every interaction).
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
  its quality (``fix = quality``), for every customer from the next step on.
  Customers who reported the failure and are still customers are told: they lose
  the share ``close_loop`` of their dissatisfaction (closing the loop).
* **Relapse.** A fix made by an untracked action is a change of habit nobody
  monitors: each step it loses the share ``relapse`` of what it gained, back
  toward the status quo. Tracked fixes are monitored and kept.

Touchpoint levels that actions change live in ``model.levels`` (name →
[reliability, quality]); :meth:`cxsim.model.CxModel.touchpoint_levels` reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import journey, relationship, staff
from .interventions import ImprovementLoop

if TYPE_CHECKING:
    from .model import CxModel


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


class Loops:
    """The improvement loops of one run (empty when the scenario has none)."""

    def __init__(self, scenario):
        self.names = [n for n, iv in scenario.interventions.items() if isinstance(iv, ImprovementLoop) and iv.enabled]
        self.teams = {n: Team() for n in self.names}
        self.fixes: list[tuple[int, str, str]] = []  # (step, loop, touchpoint)

    def __bool__(self) -> bool:
        return bool(self.names)


def _active_loops(model: "CxModel"):
    return [(n, iv) for n, iv, _ in model.active if n in model.loops.teams]


def observe(model: "CxModel", name: str, ids: np.ndarray, works: np.ndarray) -> None:
    """Customers ``ids`` met touchpoint ``name``; the loops that cover them hear of its failures."""
    failed = ids[~works]
    if len(failed) == 0:
        return
    for loop, iv in _active_loops(model):
        heard = failed[model.covered(loop, iv, failed)]
        if len(heard):
            model.loops.teams[loop].heard.setdefault(name, []).append(heard)


def review(model: "CxModel") -> None:
    """Last phase: actions due are done (or not); at review steps new actions are assigned."""
    for loop, iv in _active_loops(model):
        team = model.loops.teams[loop]
        if iv.relapse and team.unmonitored:
            _relapse(model, iv, team)
        _finish(model, loop, iv, team)
        if (model.t - iv.start + 1) % iv.review_steps == 0:
            _assign(model, loop, iv, team)


def _finish(model: "CxModel", loop: str, iv: ImprovementLoop, team: Team) -> None:
    due = [a for a in team.open if a.due <= model.t]
    if not due:
        return
    team.open = [a for a in team.open if a.due > model.t]
    chance = iv.completion if iv.tracked else iv.untracked + (iv.completion - iv.untracked) * staff.drive(model)
    draws = model.streams.uniform(f"actions:{loop}", np.array([a.number for a in due]), model.t)
    for action, u in zip(due, draws):
        if u >= chance:
            model.tally["actions_lapsed"] += 1
            continue
        team.done += 1
        model.tally["actions_done"] += 1
        _fix(model, iv, team, action.touchpoint)
        model.loops.fixes.append((model.t, loop, action.touchpoint))
        if iv.close_loop:
            _close_loop(model, action.reporters, iv.close_loop)


def _fix(model: "CxModel", iv: ImprovementLoop, team: Team, name: str) -> None:
    level = model.levels[name]
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


def _relapse(model: "CxModel", iv: ImprovementLoop, team: Team) -> None:
    """Untracked fixes lose the share ``relapse`` of their gain (old habits return)."""
    for name, gain in team.unmonitored.items():
        level = model.levels[name]
        for k in (0, 1):
            lost = iv.relapse * gain[k]
            level[k] -= lost
            gain[k] -= lost


def _close_loop(model: "CxModel", reporters: np.ndarray, share: float) -> None:
    c = model.customers
    who = np.unique(reporters)
    who = who[c.stage[who] == journey.Stage.LOYAL]
    if len(who):
        sat = c.satisfaction[who]
        relationship.set_satisfaction(model, who, (sat + share * (1.0 - sat)).astype(np.float32))
        model.tally["loops_closed"] += len(who)


def _assign(model: "CxModel", loop: str, iv: ImprovementLoop, team: Team) -> None:
    heard = {k: np.concatenate(v) for k, v in team.heard.items()}
    team.heard = {}
    busy = {a.touchpoint for a in team.open}
    eligible = [t for t in (iv.touchpoints or list(model.pars.touchpoints)) if t not in busy]
    if iv.targeting == "worst":
        score = {t: len(heard.get(t, ())) * model.pars.touchpoints[t].weight for t in eligible}
        chosen = sorted((t for t in eligible if score[t] > 0), key=lambda t: -score[t])[: iv.actions]
    else:
        order = iv.touchpoints or list(model.pars.touchpoints)
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
        team.open.append(Action(team.assigned, t, model.t + iv.deadline_steps, heard.get(t, empty)))
        team.assigned += 1
        model.tally["actions_assigned"] += 1
        model.costs[loop] += iv.cost_per_action
