"""Measure every library scenario's fact: the numbers of docs/scenarios.md's "Measured" lines.

Each fact is measured twice: on the seeds and sizes tests/test_scenarios.py uses, and on
fresh seeds (from 101, as many as the test's and at least 8) at 1.5× the test's customers, which no test tunes on. For every
measure the table gives each world's mean over seeds with its 95% interval (t-based) and
the paired difference (same seeds: common random numbers) of the comparisons the fact
makes, with its 95% interval.

    python scripts/measure_facts.py                      # every scenario, both seed sets
    python scripts/measure_facts.py top_accounts --fresh  # one scenario, fresh seeds only
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import stats

import cxsim
from cxsim.journey import Stage
from cxsim.measures import measure

FRESH_SCALE = 1.5
"""The factor on the test's customers that fresh seeds run at."""


def fresh_seeds(seeds) -> tuple[int, ...]:
    """Seeds no default test uses: as many as the test's (at least 8), from 101 (as tests/test_scenarios.py)."""
    return tuple(range(101, 101 + max(8, len(seeds))))


def lost_revenue_share(res, segment: str) -> float:
    """Share of the revenue per step lost to churn that the segment's churned customers took with them."""
    m = res.model
    c = m.customers
    gone = c.stage == Stage.CHURNED
    value = m.value_per_step[c.segment] + m.basket[c.segment] * m.pars.relationship.encounters
    seg = c.segment == m.pars.segment_names.index(segment)
    total = float(value[gone].sum())
    return float(value[gone & seg].sum()) / total if total else math.nan


def ratio_of(a: str, b: str) -> Callable:
    return lambda res: measure(res, a) / measure(res, b) if measure(res, b) else math.nan


@dataclass
class Fact:
    """What to measure for one scenario's fact: worlds, measures and the comparisons it makes."""

    customers: int | None  # the test's size (None: the scenario's own)
    seeds: tuple[int, ...]  # the test's seeds
    worlds: dict[str, tuple[str, dict]]  # label -> (variant, overrides)
    measures: dict[str, str | Callable]  # label -> measure name or function of Results
    compare: list[tuple[str, str]] = field(default_factory=list)  # (a, b): b − a

    def comparisons(self) -> list[tuple[str, str]]:
        first = next(iter(self.worlds))
        return self.compare or [(first, w) for w in list(self.worlds)[1:]]


S6, S4, S24 = tuple(range(1, 7)), tuple(range(1, 5)), tuple(range(1, 25))


def plain(*variants: str) -> dict[str, tuple[str, dict]]:
    return {v: (v, {}) for v in variants}


FACTS: dict[str, Fact] = {
    "product_delight": Fact(
        2000, S6,
        {**plain("baseline", "product_design", "interaction_management"),
         "channel_quality_only": ("interaction_management", {"interventions.interaction_management.reliability": 0.0})},
        {"referrals": "referrals", "referrals per buyer": ratio_of("referrals", "accepted"),
         "share of buyers won by referral": ratio_of("referral_acceptances", "accepted"),
         "buyers": "accepted", "mean loyalty": "mean_loyalty", "retention": "retention", "NPS": "nps",
         "channel failures": "failures", "cost": "intervention_cost"},
        [("baseline", "product_design"), ("baseline", "interaction_management"), ("baseline", "channel_quality_only"),
         ("interaction_management", "product_design")],
    ),
    "closed_loop": Fact(
        1500, S6,
        {**plain("baseline", "rally", "untracked_actions", "closed_loop"),
         "untracked, done as often": ("untracked_actions", {"interventions.untracked_actions.untracked": 0.9})},
        {"peak morale": "peak_morale", "morale at the end": "staff_morale", "actions done": "actions_done",
         "satisfaction of current customers": "current_satisfaction", "value in the last quarter": "late_value",
         "churn": "churn_rate"},
        [("baseline", "rally"), ("baseline", "untracked_actions"), ("baseline", "closed_loop"),
         ("rally", "untracked_actions"), ("rally", "closed_loop"), ("untracked_actions", "closed_loop"),
         ("rally", "untracked, done as often"), ("untracked, done as often", "closed_loop")],
    ),
    "employees_first": Fact(
        1500, S6, plain("baseline", "invest_in_staff", "one_off_rally"),
        {"peak morale": "peak_morale", "morale at the end": "staff_morale", "quality shift at staffed touchpoints": "staffed_quality",
         "satisfaction of current customers": "current_satisfaction", "mean loyalty": "mean_loyalty", "churn": "churn_rate",
         "revenue per week at the end": "revenue_per_step", "value delivered": "value_delivered", "cost": "intervention_cost"},
    ),
    "top_accounts": Fact(
        None, S24, plain("baseline", "acquisition_push", "engage_top_accounts"),
        {"top accounts / customers ever": ratio_of("customers@top_accounts", "customer_base"),
         "top accounts' share of revenue at the end": "revenue_share@top_accounts",
         "top accounts' share of revenue at risk": "revenue_at_risk_share@top_accounts",
         "top accounts' share of revenue lost to churn": lambda r: lost_revenue_share(r, "top_accounts"),
         "top accounts kept": "retention@top_accounts", "revenue per month at the end": "revenue_per_step",
         "value delivered": "value_delivered", "cost": "intervention_cost"},
        [("baseline", "acquisition_push"), ("baseline", "engage_top_accounts"), ("acquisition_push", "engage_top_accounts")],
    ),
    "value_proposition": Fact(
        2000, S4, plain("baseline", "primark_overpromises", "john_lewis_underdelivers"),
        {"value index John Lewis": "value_index@quality_seekers", "value index Primark": "value_index@price_seekers",
         "gap John Lewis − Primark": lambda r: measure(r, "value_index@quality_seekers") - measure(r, "value_index@price_seekers"),
         "satisfaction John Lewis": "satisfaction@quality_seekers", "satisfaction Primark": "satisfaction@price_seekers"},
    ),
    "journey_reliability": Fact(
        1500, S6, plain("baseline", "reliable_journey", "early_warning_priority", "spread_effort", "differentiate_first"),
        {"revenue per month at the end": "revenue_per_step", "value delivered": "value_delivered", "churn": "churn_rate",
         "failures per customer": "failure_rate", "cost": "intervention_cost"},
        [("baseline", "reliable_journey"), ("baseline", "early_warning_priority"), ("baseline", "spread_effort"),
         ("baseline", "differentiate_first"), ("spread_effort", "early_warning_priority"),
         ("differentiate_first", "early_warning_priority")],
    ),
    "telco_churn": Fact(
        1500, S6, plain("baseline", "save_desk", "loyalty_discount"),
        {"churn": "churn_rate", "leavers right after a bad call": ratio_of("defections", "churned"),
         "value delivered": "value_delivered", "cost": "intervention_cost"},
        [("baseline", "save_desk"), ("baseline", "loyalty_discount"), ("loyalty_discount", "save_desk")],
    ),
    "retail_basket": Fact(
        2000, S6,
        {**plain("baseline", "kiosk"),
         "kiosk unfelt": ("kiosk", {"touchpoints.kiosk.weight": 0.0}),
         "kiosk never fails": ("kiosk", {"touchpoints.kiosk.reliability": 1.0})},
        {"average basket": "average_basket", "value delivered": "value_delivered", "cost": "intervention_cost",
         "value delivered net of cost": lambda r: measure(r, "value_delivered") - measure(r, "intervention_cost"),
         "satisfaction of kiosk users": "satisfaction@kiosk_users", "kiosk users kept": "retention@kiosk_users",
         "visits": "encounters", "customers ever": "customer_base"},
        [("baseline", "kiosk"), ("kiosk", "kiosk unfelt"), ("kiosk", "kiosk never fails")],
    ),
    "auto_lease": Fact(
        1500, S6, plain("baseline", "detail_expiring_leases", "detail_at_random"),
        {"renewal rate": "renewal_rate", "value delivered": "value_delivered", "cost": "intervention_cost"},
        [("baseline", "detail_expiring_leases"), ("baseline", "detail_at_random"), ("detail_at_random", "detail_expiring_leases")],
    ),
    "service_recovery": Fact(
        2000, S6,
        {**plain("baseline", "empowered_recovery"),
         "recovery, no failure memory": ("empowered_recovery", {"emotions.failure_memory": 0.0})},
        {"satisfaction: no failure": "satisfaction@no_failure", "satisfaction: recovered": "satisfaction@recovered",
         "satisfaction: not recovered": "satisfaction@unrecovered",
         "recovered − not recovered": lambda r: measure(r, "satisfaction@recovered") - measure(r, "satisfaction@unrecovered"),
         "recovered − no failure": lambda r: measure(r, "satisfaction@recovered") - measure(r, "satisfaction@no_failure"),
         "promoters: no failure": "promoters@no_failure", "promoters: recovered": "promoters@recovered",
         "promoters: recovered − no failure": lambda r: measure(r, "promoters@recovered") - measure(r, "promoters@no_failure"),
         "referrals per guest: no failure": "referrals@no_failure", "referrals per guest: recovered": "referrals@recovered",
         "referrals: recovered − no failure": lambda r: measure(r, "referrals@recovered") - measure(r, "referrals@no_failure"),
         "satisfaction": "satisfaction", "NPS": "nps"},
    ),
}


def run_world(name: str, variant: str, overrides: dict, seeds, customers, measures) -> np.ndarray:
    """One row per seed, one column per measure."""
    sc = cxsim.load_scenario(name).variant(variant)
    if overrides:
        sc = sc.with_overrides(overrides)
    rows = []
    for seed in seeds:
        res = cxsim.run(sc, seed, customers=customers, track=0)
        rows.append([fn(res) if callable(fn) else measure(res, fn) for fn in measures.values()])
    return np.array(rows, dtype=float)


def interval(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval over seeds."""
    x = np.asarray(x, dtype=float)
    m = float(x.mean())
    h = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else 0.0
    return m, m - h, m + h


def fmt(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e4:
        return f"{v / 1e3:.3g}k"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 1:
        return f"{v:.3g}"
    return f"{v:.3f}"


def show(m, lo, hi, sign=False) -> str:
    s = (lambda v: ("+" if v >= 0 else "") + fmt(v)) if sign else fmt
    return f"{s(m)} [{s(lo)}, {s(hi)}]"


def measure_fact(name: str, fact: Fact, seeds, customers) -> str:
    tables = {w: run_world(name, v, o, seeds, customers, fact.measures) for w, (v, o) in fact.worlds.items()}
    size = customers or cxsim.load_scenario(name).population.customers
    lines = [f"### {name}: seeds {seeds[0]}–{seeds[-1]} ({len(seeds)}) × {size} customers", ""]
    worlds = list(fact.worlds)
    comps = fact.comparisons()
    lines.append("| measure | " + " | ".join(worlds) + " | " + " | ".join(f"{b} − {a}" for a, b in comps) + " |")
    lines.append("|---" * (1 + len(worlds) + len(comps)) + "|")
    for k, label in enumerate(fact.measures):
        cells = [show(*interval(tables[w][:, k])) for w in worlds]
        cells += [show(*interval(tables[b][:, k] - tables[a][:, k]), sign=True) for a, b in comps]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenarios", nargs="*", help="scenarios to measure (default: every library scenario)")
    p.add_argument("--tests", action="store_true", help="only the test's seeds and size")
    p.add_argument("--fresh", action="store_true", help="only the fresh seeds at 1.5x the test's size")
    a = p.parse_args(argv)
    unknown = [s for s in a.scenarios if s not in FACTS]
    if unknown:
        print(f"unknown scenario {unknown[0]!r}: choose from {', '.join(FACTS)}", file=sys.stderr)
        return 2
    for name in a.scenarios or FACTS:
        fact = FACTS[name]
        own = fact.customers or cxsim.load_scenario(name).population.customers
        if not a.fresh:
            print(measure_fact(name, fact, fact.seeds, fact.customers), flush=True)
        if not a.tests:
            print(measure_fact(name, fact, fresh_seeds(fact.seeds), int(round(FRESH_SCALE * own))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
