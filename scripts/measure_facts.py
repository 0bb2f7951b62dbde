"""Measure every library scenario's fact, and compare it with the published figures it meets.

The numbers of docs/scenarios.md's "Measured" lines and of its "Published figures" table.

Each fact is measured twice: on the seeds and sizes tests/test_scenarios.py uses, and on
fresh seeds (from 101, as many as the test's and at least 8) at 1.5× the test's customers, which no test tunes on. For every
measure the table gives each world's mean over seeds with its 95% interval (t-based) and
the paired difference (same seeds: common random numbers) of the comparisons the fact
makes, with its 95% interval.

Each published figure (``cxsim/evidence/<scenario>/figures.toml``) is simulated at the scenario's own
parameters on the test's seeds and size and printed beside the observed value with its n: *predicted*
(held out: no parameter was set to it), *input* (it restates a number the scenario sets: a check of the
input, not of the model) or, for a figure with a ``[figures.fit]`` table, also *fitted* (the value of one
parameter, on a small grid, at which the simulation meets the figure). A binomial figure (a share of n
people) gets a z score, (observed − simulated) / √(p(1 − p)/n + se²), and the observed share's 90%
interval; a figure without a published sampling error gets the difference only.

    python scripts/measure_facts.py                      # every scenario, both seed sets, and the figures
    python scripts/measure_facts.py top_accounts --fresh  # one scenario, fresh seeds only
    python scripts/measure_facts.py --figures            # only the published figures
"""

from __future__ import annotations

import argparse
import ast
import math
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import stats

import cxsim
from cxsim.calibration.evidence import binomial_share_interval
from cxsim.calibration.targets import current_value
from cxsim.readouts.measures import measure
from cxsim.rules.journey import Stage

EVIDENCE = Path(__file__).resolve().parents[1] / "cxsim" / "evidence"
"""Where each scenario's published figures live: ``<scenario>/figures.toml``."""

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


# -- published figures -------------------------------------------------------------------------------
ROLES = ("predicted", "input")
LIKELIHOODS = ("binomial", "none")
REQUIRED = {"name": str, "reference": str, "citation": str, "figure": str, "observed": float, "likelihood": str,
            "role": str, "variant": str, "quantity": str}


class FigureError(ValueError):
    """A figures file that does not fit the schema: one line naming the file and the field."""


def share_with_failure(res) -> float:
    """Share of the customers past the outcome who met at least one touchpoint failure."""
    c = res.model.customers
    scored = ~np.isnan(c.satisfaction)
    return float((c.failures[scored] > 0).mean()) if scored.any() else math.nan


EXTRA: dict[str, Callable] = {"share_with_failure": share_with_failure}
"""Quantities a figure may name besides measures, ``tally:NAME`` and ``param:PATH``."""

_NAME = re.compile(r"(?:base\.)?(?:tally:|param:)?[A-Za-z_][\w@.:]*")


def names_in(expr: str) -> list[str]:
    """The measure names of a figure's quantity (an arithmetic expression of them)."""
    return [m.group(0) for m in _NAME.finditer(expr)]


def value_of(name: str, res, base) -> float:
    """One name of a quantity for one run (``base.`` names: the paired baseline run)."""
    if name.startswith("base."):
        return value_of(name[5:], base, None)
    if name.startswith("tally:"):
        return float(res.model.tally[name[6:]])
    if name.startswith("param:"):
        return float(current_value(res.model.pars, name[6:]))
    if name in EXTRA:
        return EXTRA[name](res)
    return measure(res, name)


def evaluate(expr: str, res, base=None) -> float:
    """A figure's quantity for one run: its names replaced by their values, then + − × ÷ and brackets only."""
    values, k = {}, 0

    def slot(m):
        nonlocal k
        k += 1
        values[f"v{k}"] = value_of(m.group(0), res, base)
        return f"v{k}"

    tree = ast.parse(_NAME.sub(slot, expr), mode="eval")

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            a, b = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Div):
                return a / b if b else math.nan
            return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}[type(node.op)]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in values:
            return values[node.id]
        raise FigureError(f"quantity {expr!r}: only measure names, numbers, + - * / and brackets")

    return ev(tree)


def read_figures(name: str) -> list[dict]:
    """The published figures of scenario ``name`` (none if it has no figures file), checked field by field."""
    path = EVIDENCE / name / "figures.toml"
    if not path.exists():
        return []
    where = f"{path.relative_to(EVIDENCE.parents[1])}"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise FigureError(f"{where}: not valid TOML ({err})") from None
    if raw.get("scenario") != name:
        raise FigureError(f"{where}: scenario = {raw.get('scenario')!r}: must name the scenario of its folder, {name!r}")
    figures = raw.get("figures")
    if not isinstance(figures, list) or not figures:
        raise FigureError(f"{where}: figures: at least one [[figures]] table is needed")
    scenario = cxsim.load_scenario(name)
    for i, fig in enumerate(figures):
        at = f"{where}: figures[{i}]"
        for key, kind in REQUIRED.items():
            if key not in fig:
                raise FigureError(f"{at}.{key}: missing")
            if not isinstance(fig[key], (int, float) if kind is float else kind) or isinstance(fig[key], bool):
                raise FigureError(f"{at}.{key} = {fig[key]!r}: must be a {'number' if kind is float else 'string'}")
        if fig["role"] not in ROLES:
            raise FigureError(f"{at}.role = {fig['role']!r}: choose from {', '.join(ROLES)}")
        if fig["likelihood"] not in LIKELIHOODS:
            raise FigureError(f"{at}.likelihood = {fig['likelihood']!r}: choose from {', '.join(LIKELIHOODS)}")
        if fig["likelihood"] == "binomial":
            n = fig.get("n")
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise FigureError(f"{at}.n = {n!r}: a binomial figure needs its sample size, a whole number of people")
            if not 0.0 <= fig["observed"] <= 1.0:
                raise FigureError(f"{at}.observed = {fig['observed']!r}: a binomial figure is a share, 0 to 1")
        if fig["variant"] != "baseline" and fig["variant"] not in scenario.variants:
            raise FigureError(f"{at}.variant = {fig['variant']!r}: unknown variant of {name}; choose from baseline, {', '.join(scenario.variants)}")
        fit = fig.get("fit")
        if fit is not None and (not isinstance(fit, dict) or not isinstance(fit.get("parameter"), str)
                                or not isinstance(fit.get("grid"), list) or len(fit["grid"]) < 2):
            raise FigureError(f"{at}.fit: a table with parameter (a dotted path) and grid (at least two values)")
    return figures


def simulate(name: str, fig: dict, seeds, customers, overrides=None) -> np.ndarray:
    """The figure's quantity on each seed, at the scenario's parameters (and ``overrides``)."""
    sc = cxsim.load_scenario(name)
    world = sc.variant(fig["variant"]).with_overrides(overrides or {}) if overrides else sc.variant(fig["variant"])
    paired_base = any(n.startswith("base.") for n in names_in(fig["quantity"]))
    base_world = sc.variant("baseline").with_overrides(overrides or {}) if overrides else sc.variant("baseline")
    out = []
    for seed in seeds:
        res = cxsim.run(world, seed, customers=customers, track=0)
        base = cxsim.run(base_world, seed, customers=customers, track=0) if paired_base else None
        out.append(evaluate(fig["quantity"], res, base))
    return np.array(out, dtype=float)


def fitted(name: str, fig: dict, seeds, customers) -> tuple[float | None, list[tuple[float, float]]]:
    """The parameter value of ``fig['fit']`` at which the simulated quantity meets the observed one (linear
    interpolation between the grid points that bracket it; None if none do), and the grid's means."""
    path = fig["fit"]["parameter"]
    curve = [(float(x), float(simulate(name, fig, seeds, customers, {path: x}).mean())) for x in fig["fit"]["grid"]]
    target = fig["observed"]
    for (x0, y0), (x1, y1) in zip(curve, curve[1:]):
        if (y0 - target) * (y1 - target) <= 0 and y0 != y1:
            return x0 + (target - y0) * (x1 - x0) / (y1 - y0), curve
    return None, curve


def compare(fig: dict, sims: np.ndarray) -> dict:
    """Simulated against observed: mean, se over seeds and, for a binomial figure, z and the 90% interval."""
    sim = float(sims.mean())
    se = float(sims.std(ddof=1) / math.sqrt(len(sims))) if len(sims) > 1 else 0.0
    row = {"simulated": sim, "se": se, "difference": fig["observed"] - sim, "z": math.nan, "interval": None}
    if fig["likelihood"] == "binomial":
        n, p = fig["n"], min(max(sim, 1e-9), 1 - 1e-9)
        row["z"] = row["difference"] / math.sqrt(p * (1 - p) / n + se**2)
        row["interval"] = binomial_share_interval(round(fig["observed"] * n), n)
    return row


def figures_table(name: str, seeds, customers) -> str:
    figures = read_figures(name)
    if not figures:
        return f"### {name}: published figures\n\nnone recorded (docs/scenarios.md says what was searched for)\n"
    size = customers or cxsim.load_scenario(name).population.customers
    lines = [f"### {name}: published figures, simulated at the scenario's parameters (seeds {seeds[0]}–{seeds[-1]} × {size} customers)", "",
             "| figure | role | observed | n | simulated ± se | observed − simulated | z | source |", "|---|---|---|---|---|---|---|---|"]
    notes = []
    for fig in figures:
        row = compare(fig, simulate(name, fig, seeds, customers))
        observed = fmt(fig["observed"]) + (f" (90%: {fmt(row['interval'][0])}–{fmt(row['interval'][1])})" if row["interval"] else "")
        z = f"{row['z']:+.1f}" if math.isfinite(row["z"]) else "no sampling error published"
        lines.append(f"| {fig['name']} | {fig['role']} | {observed} | {fig.get('n', 'not published')} | {fmt(row['simulated'])} ± {fmt(row['se'])} "
                     f"| {row['difference']:+.3f} | {z} | {fig['reference']} |")
        if fig.get("fit"):
            value, curve = fitted(name, fig, seeds, customers)
            grid = ", ".join(f"{x:g} → {fmt(y)}" for x, y in curve)
            found = f"{value:.3g}" if value is not None else "not reached on the grid"
            notes.append(f"fitted: {fig['fit']['parameter']} = {found} meets {fig['name']} (grid: {grid}; the scenario's own value: "
                         f"{current_value(cxsim.load_scenario(name), fig['fit']['parameter']):g})")
    return "\n".join(lines + [""] + notes) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenarios", nargs="*", help="scenarios to measure (default: every library scenario)")
    p.add_argument("--tests", action="store_true", help="only the test's seeds and size")
    p.add_argument("--fresh", action="store_true", help="only the fresh seeds at 1.5x the test's size")
    p.add_argument("--figures", action="store_true", help="only the published figures")
    a = p.parse_args(argv)
    unknown = [s for s in a.scenarios if s not in FACTS]
    if unknown:
        print(f"unknown scenario {unknown[0]!r}: choose from {', '.join(FACTS)}", file=sys.stderr)
        return 2
    for name in a.scenarios or FACTS:
        fact = FACTS[name]
        own = fact.customers or cxsim.load_scenario(name).population.customers
        if not a.fresh and not a.figures:
            print(measure_fact(name, fact, fact.seeds, fact.customers), flush=True)
        if not a.tests and not a.figures:
            print(measure_fact(name, fact, fresh_seeds(fact.seeds), int(round(FRESH_SCALE * own))), flush=True)
        if not a.fresh:
            try:
                print(figures_table(name, fact.seeds, fact.customers), flush=True)
            except FigureError as err:
                print(f"error: {err}", file=sys.stderr)
                return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
