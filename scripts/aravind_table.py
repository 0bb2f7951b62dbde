"""The README's Aravind results table: every intervention alone and the two packages, over the posterior.

    ./cx python scripts/aravind_table.py            # prints the Markdown table

Each world runs on the same 40 parameter sets drawn from the scenario's posterior
(cxsim/scenarios/aravind.posterior.parquet) × 2 seeds × 10,000 customers; the intervals carry the
uncertainty of the parameters and of chance. The top non-user reason is read from runs at the
shipped parameters (the posterior medians).
"""

from __future__ import annotations

import math
from collections import Counter

import cxsim
from cxsim.ensemble import run_ensemble

DRAWS, SEEDS_PER_DRAW, REASON_SEEDS = 40, 2, range(1, 5)
CUSTOMERS = 10_000
LABELS = {
    "baseline": "baseline (hidden costs, no interventions)",
    "aravind_1980s": "aravind_1980s (transport, food, lodging, medicine, follow-up)",
    "all_barriers_removed": "all_barriers_removed (+ wages)",
}
COLUMNS = ("acceptance_rate", "nps", "referrals", "referral_acceptances", "intervention_cost")


def worlds(sc: cxsim.Scenario) -> dict[str, list[str]]:
    """Each world as the interventions it switches on."""
    out = {"baseline": []}
    order = ["counselling"] + [name for name in sc.interventions if name != "counselling"]
    out.update({f"{name} alone": [name] for name in order})
    out.update({v: sc.variants[v].interventions for v in ("aravind_1980s", "all_barriers_removed")})
    return out


def cell(mean: float, lo: float, hi: float, column: str) -> str:
    if column == "acceptance_rate":
        return f"{100 * mean:.1f}% ({100 * lo:.1f}%–{100 * hi:.1f}%)"
    return f"{mean:,.0f} ({lo:,.0f}–{hi:,.0f})" if not math.isnan(lo) else f"{mean:,.0f}"


def top_reason(sc: cxsim.Scenario, switched_on: list[str]) -> str:
    reasons: Counter = Counter()
    for seed in REASON_SEEDS:
        reasons.update(cxsim.run(sc.variant("baseline").with_interventions(switched_on), seed, track=0).summary["dropout_reasons"])
    return reasons.most_common(1)[0][0] if reasons else "–"


def main() -> None:
    sc = cxsim.load_scenario("aravind").with_overrides({"population.customers": CUSTOMERS})
    on = worlds(sc)
    overrides = {w: {f"interventions.{n}.enabled": n in chosen for n in sc.interventions} for w, chosen in on.items()}
    ens = run_ensemble(sc, overrides, draws=DRAWS, seeds=SEEDS_PER_DRAW, seed=1)
    levels = ens.levels().set_index(["world", "metric"])
    print(f"{ens.caption}; {CUSTOMERS:,} customers × {sc.steps} weeks; mean and 95% interval:\n")
    print("| variant | acceptance | NPS | referrals | referral-driven acceptances | intervention cost (rupees) | top non-user reason (at the medians) |")
    print("|---|---|---|---|---|---|---|")
    for world in on:
        cells = [cell(*levels.loc[(world, c), ["mean", "low", "high"]], c) for c in COLUMNS]
        print(f"| {LABELS.get(world, world)} | " + " | ".join(cells) + f" | {top_reason(sc, on[world])} |")


if __name__ == "__main__":
    main()
