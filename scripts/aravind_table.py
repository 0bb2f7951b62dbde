"""The README's Aravind results table: every intervention alone and the two packages, 8 seeds × 10,000 customers.

    ./cx python scripts/aravind_table.py            # prints the Markdown table
"""

from __future__ import annotations

import math
from collections import Counter

import cxsim
from cxsim.metrics import interval

SEEDS = range(1, 9)
CUSTOMERS = 10_000
LABELS = {
    "baseline": "baseline (hidden costs, no interventions)",
    "aravind_1980s": "aravind_1980s (transport, food, lodging, medicine, follow-up)",
    "all_barriers_removed": "all_barriers_removed (+ wages)",
}
COLUMNS = ("acceptance_rate", "nps", "referrals", "referral_acceptances", "intervention_cost")


def worlds(sc) -> dict[str, cxsim.Scenario]:
    out = {"baseline": sc.variant("baseline")}
    order = ["counselling"] + [name for name in sc.interventions if name != "counselling"]
    for name in order:
        out[f"{name} alone"] = sc.variant("baseline").with_interventions([name])
    out["aravind_1980s"] = sc.variant("aravind_1980s")
    out["all_barriers_removed"] = sc.variant("all_barriers_removed")
    return out


def cell(values, column: str) -> str:
    mean, lo, hi = interval(values)
    if column == "acceptance_rate":
        return f"{100 * mean:.1f}% ({100 * lo:.1f}%–{100 * hi:.1f}%)"
    return f"{mean:,.0f} ({lo:,.0f}–{hi:,.0f})" if not math.isnan(lo) else f"{mean:,.0f}"


def main() -> None:
    sc = cxsim.load_scenario("aravind").with_overrides({"population.customers": CUSTOMERS})
    print(f"{len(SEEDS)} seeds × {CUSTOMERS:,} customers × {sc.steps} weeks, mean and 95% interval:\n")
    print("| variant | acceptance | NPS | referrals | referral-driven acceptances | intervention cost (rupees) | top non-user reason |")
    print("|---|---|---|---|---|---|---|")
    for name, world in worlds(sc).items():
        summaries = [cxsim.run(world, seed, track=0).summary for seed in SEEDS]
        reasons = Counter()
        for s in summaries:
            reasons.update(s["dropout_reasons"])
        cells = [cell([s[c] for s in summaries], c) for c in COLUMNS]
        top = reasons.most_common(1)[0][0] if reasons else "–"
        print(f"| {LABELS.get(name, name)} | " + " | ".join(cells) + f" | {top} |")


if __name__ == "__main__":
    main()
