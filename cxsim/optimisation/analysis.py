"""From the evaluated plans to answers: the frontier, the best plan for a budget, its statistical ties, reasons removed.

* **Frontier**: the plans that meet every constraint and that no other such plan beats
  on every objective and on intervention cost at once (means over the search seeds).
* **Best plan for a budget**: the best mean of the primary (first) objective among plans
  meeting the constraints whose mean intervention cost is within the budget; cheaper
  first on a tie.
* **Statistically indistinguishable runners-up**: plans within the budget whose paired
  difference to the best (per search seed: same simulated customers) has a 95% interval
  that spans 0.
* **Customers' terms**: the non-users' binding reasons under a plan against the
  baseline (every lever off) on the same seeds, the extra accepted customers and the
  cost per extra accepted customer (extra cost ÷ extra accepted, means over seeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..readouts.metrics import interval
from .evaluate import Evaluation
from .spec import Objective, Spec


@dataclass
class Plan:
    """An evaluated plan: its trial, words, overrides, and numbers on the search seeds."""

    trial: int
    key: str
    text: str
    overrides: dict[str, Any]
    evaluation: Evaluation
    violations: list[float]
    defined: bool

    @property
    def feasible(self) -> bool:
        return self.defined and all(v <= 0 for v in self.violations)

    def mean(self, name: str) -> float:
        return self.evaluation.mean(name)

    @property
    def cost(self) -> float:
        return self.mean("intervention_cost")


def plans_from_study(study) -> list[Plan]:
    """Every complete trial as a plan, in trial order (repeats of a plan included)."""
    from .search import complete

    out = []
    for t in complete(study):
        a = t.user_attrs["plan"]
        out.append(Plan(t.number, a["plan_key"], a["plan"], a["overrides"], Evaluation.from_attrs(a["evaluation"]),
                        list(a.get("constraints", [])), bool(a.get("defined", True))))
    return out


def unique(plans: list[Plan]) -> list[Plan]:
    """The first trial of each distinct plan."""
    seen: dict[str, Plan] = {}
    for p in plans:
        seen.setdefault(p.key, p)
    return list(seen.values())


def _signed(o: Objective, value: float) -> float:
    """Larger is better."""
    return value if o.maximise else -value


def criteria(spec: Spec) -> list[Objective]:
    """The frontier's axes: the objectives, and intervention cost (minimised) unless it is one."""
    axes = list(spec.objectives)
    if "intervention_cost" not in {o.name for o in axes}:
        axes.append(Objective("intervention_cost", False))
    return axes


def frontier(spec: Spec, plans: list[Plan]) -> list[Plan]:
    """Non-dominated feasible plans (means over the search seeds), cheapest first."""
    cands = [p for p in unique(plans) if p.feasible]
    axes = criteria(spec)
    if not cands:
        return []
    m = np.array([[_signed(o, p.mean(o.name)) for o in axes] for p in cands])
    m = np.where(np.isnan(m), -np.inf, m)
    keep = []
    for i in range(len(cands)):
        dominated = np.any(np.all(m >= m[i], axis=1) & np.any(m > m[i], axis=1))
        if not dominated:
            keep.append(cands[i])
    return sorted(keep, key=lambda p: (p.cost, p.trial))


def within_budget(spec: Spec, plans: list[Plan], budget: float | None) -> list[Plan]:
    """Feasible distinct plans within the budget, best primary objective first (cheaper, then earlier, on a tie)."""
    o = spec.primary
    cands = [p for p in unique(plans) if p.feasible and (budget is None or p.cost <= budget)]
    return sorted(cands, key=lambda p: (-_signed(o, p.mean(o.name)) if not math.isnan(p.mean(o.name)) else math.inf, p.cost, p.trial))


def paired(a: Evaluation, b: Evaluation, name: str) -> tuple[float, float, float]:
    """Mean and 95% interval of a − b over the same seeds (with posterior draws: paired within each draw and seed,
    the interval over the draws' mean differences)."""
    diff = [x - y for x, y in zip(a.values[name], b.values[name])]
    if a.draws:
        from ..ensemble import draw_interval

        d = Evaluation(a.seeds, {name: diff}, draws=a.draws)
        mean, lo, hi = draw_interval(d.per_draw(name))
    else:
        mean, lo, hi = interval(diff)
    if math.isnan(lo) and not math.isnan(mean):  # all differences equal: the interval is that value
        lo = hi = mean
    return mean, lo, hi


@dataclass
class Recommendation:
    budget: float | None
    best: Plan | None
    ranked: list[Plan]  # feasible plans within the budget, best first
    ties: list[tuple[Plan, tuple[float, float, float]]]  # runners-up indistinguishable from the best (best − plan)

    @property
    def runner_up(self) -> Plan | None:
        return self.ranked[1] if len(self.ranked) > 1 else None


def recommend(spec: Spec, plans: list[Plan], budget: float | None) -> Recommendation:
    ranked = within_budget(spec, plans, budget)
    if not ranked:
        return Recommendation(budget, None, [], [])
    best, name = ranked[0], spec.primary.name
    ties = []
    for p in ranked[1:]:
        d = paired(best.evaluation, p.evaluation, name)
        if not math.isnan(d[0]) and d[1] <= 0 <= d[2]:
            ties.append((p, d))
    return Recommendation(budget, best, ranked, ties)


def robust(spec: Spec, rec: Recommendation) -> Plan | None:
    """The plan best in the worst case: the best mean over its worst 10% of posterior draws, among the plans within the
    budget (None without draws)."""
    o = spec.primary
    scored = [(p, p.evaluation.worst(o.name, o.maximise)) for p in rec.ranked]
    scored = [(p, w) for p, w in scored if not math.isnan(w)]
    if not scored:
        return None
    return max(scored, key=lambda pw: (_signed(o, pw[1]), -pw[0].cost, -pw[0].trial))[0]


def top_plans(rec: Recommendation, n: int) -> list[Plan]:
    """The plans re-evaluated on fresh seeds: the best, then its statistical ties, then the next best."""
    if rec.best is None:
        return []
    chosen = [rec.best] + [p for p, _ in rec.ties]
    chosen += [p for p in rec.ranked if p not in chosen]
    return chosen[:n]


def reason_changes(plan: Evaluation, baseline: Evaluation) -> pd.DataFrame:
    """Per binding reason: non-users at baseline and under the plan (means over the same seeds), and the change."""
    def mean_counts(ev: Evaluation) -> dict[str, float]:
        total: dict[str, float] = {}
        for r in ev.reasons:
            for k, v in r.items():
                total[k] = total.get(k, 0.0) + v / len(ev.reasons)
        return total

    a, b = mean_counts(baseline), mean_counts(plan)
    rows = [{"reason": k, "baseline": a.get(k, 0.0), "plan": b.get(k, 0.0), "change": b.get(k, 0.0) - a.get(k, 0.0)} for k in dict.fromkeys([*a, *b])]
    return pd.DataFrame(rows, columns=["reason", "baseline", "plan", "change"]).sort_values("change", ignore_index=True)


def customers_terms(plan: Evaluation, baseline: Evaluation) -> dict[str, float]:
    """Extra accepted customers, extra cost and cost per extra accepted customer against the baseline."""
    extra = plan.mean("accepted") - baseline.mean("accepted")
    spend = plan.mean("intervention_cost") - baseline.mean("intervention_cost")
    d_acc = paired(plan, baseline, "accepted")
    return {"extra_accepted": extra, "extra_accepted_low": d_acc[1], "extra_accepted_high": d_acc[2], "extra_cost": spend,
            "cost_per_extra_accepted": spend / extra if extra > 0 and d_acc[1] > 0 else math.nan}  # only for a real gain


def explain(spec: Spec, plan: Plan | Evaluation, baseline: Evaluation, currency: str = "") -> str:
    """One sentence in the customers' terms: reasons removed (and gained), extra acceptances and their cost."""
    ev = plan.evaluation if isinstance(plan, Plan) else plan
    ch = reason_changes(ev, baseline)
    removed = [f"{r.reason} as the binding reason for {-r.change:,.0f} non-users ({r.baseline:,.0f} → {r.plan:,.0f})" for r in ch.itertuples() if r.change <= -0.5]
    gained = [f"{r.reason} for {r.change:,.0f} more" for r in ch.itertuples() if r.change >= 0.5]
    terms = customers_terms(ev, baseline)
    text = ("Removes " + "; ".join(removed)) if removed else "Removes no binding reason"
    if gained:
        text += "; now binding: " + ", ".join(gained)
    cu = f" {currency}" if currency else ""
    if ev.mean("accepted") == 0 and baseline.mean("accepted") == 0:  # an installed base: nobody new to accept
        return text + "."
    text += f". Extra accepted: {terms['extra_accepted']:+,.0f} [{terms['extra_accepted_low']:+,.0f}, {terms['extra_accepted_high']:+,.0f}] per run"
    if not math.isnan(terms["cost_per_extra_accepted"]):
        text += f", at {terms['cost_per_extra_accepted']:,.1f}{cu} per extra accepted customer"
    return text + "."


def fresh_table(spec: Spec, plans: list[Plan], fresh: list[Evaluation], rec: Recommendation) -> pd.DataFrame:
    """The top plans on seeds the search never saw: primary objective, cost, rank then and now, difference to the best."""
    o = spec.primary
    rows = []
    best_fresh = fresh[0]
    for i, (p, ev) in enumerate(zip(plans, fresh)):
        mean, lo, hi = ev.interval(o.name)
        cost, clo, chi = ev.interval("intervention_cost")
        d = paired(best_fresh, ev, o.name) if i else (0.0, 0.0, 0.0)
        rows.append({"trial": p.trial, "plan": p.text, "search_rank": i + 1, f"{o.name}_search": p.mean(o.name),
                     f"{o.name}": mean, f"{o.name}_low": lo, f"{o.name}_high": hi, "intervention_cost": cost,
                     "intervention_cost_low": clo, "intervention_cost_high": chi,
                     "within_budget": rec.budget is None or cost <= rec.budget,
                     "recommended_minus_plan": d[0], "difference_low": d[1], "difference_high": d[2]})
    df = pd.DataFrame(rows)
    key = df[o.name] if o.maximise else -df[o.name]
    df["fresh_rank"] = key.rank(ascending=False, method="min").astype(int)
    return df


def dominated_by(spec: Spec, ev: Evaluation, plans: list[Plan]) -> Plan | None:
    """The cheapest feasible evaluated plan at least as good on every frontier axis and better on one, if any."""
    axes = criteria(spec)
    mine = np.array([_signed(o, ev.mean(o.name)) for o in axes])
    better = []
    for p in unique(plans):
        if not p.feasible:
            continue
        theirs = np.array([_signed(o, p.mean(o.name)) for o in axes])
        if np.all(theirs >= mine) and np.any(theirs > mine):
            better.append(p)
    return min(better, key=lambda p: (p.cost, p.trial)) if better else None


__all__ = ["dominated_by", "Plan", "Recommendation", "plans_from_study", "frontier", "recommend", "top_plans", "paired",
           "reason_changes", "customers_terms", "explain", "fresh_table", "criteria", "unique", "within_budget", "robust"]
