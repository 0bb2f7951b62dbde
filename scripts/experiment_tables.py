"""experiments/README.md's measured tables, generated from a sweep rather than typed by hand.

    ./cx python scripts/experiment_tables.py            # runs the sweep(s), rewrites the generated blocks
    ./cx python scripts/experiment_tables.py --check    # runs them and exits 1 naming every block that is stale

A generated block sits between ``<!-- generated: NAME (scripts/experiment_tables.py) -->`` and
``<!-- end generated: NAME -->``; the text around it is written by hand and holds no measured number.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import pandas as pd

README = Path(__file__).resolve().parents[1] / "experiments" / "README.md"
LABELS = {
    "baseline": "baseline (surgery free, everything else paid)",
    "free_transport": "free transport alone",
    "free_food_lodging": "free food and lodging alone",
    "free_medicine": "free medicine alone",
    "wage_compensation": "lost wages compensated alone",
    "free_follow_up": "free village follow-up alone",
    "counselling_only": "door-to-door counselling (what the staff tried)",
    "aravind_1980s": "Aravind's package (transport, food, lodging, medicine, follow-up)",
}
SHORT = {"free_transport": "transport", "free_food_lodging": "food and lodging", "free_medicine": "medicine",
         "wage_compensation": "wages", "free_follow_up": "follow-up"}


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def pts(x: float) -> str:
    return f"{100 * x:+.1f} pts"


def span(lo: float, hi: float, scale: float = 100) -> str:
    return f"{scale * lo:.1f}–{scale * hi:.1f}"


def waterfall_block(summary: pd.DataFrame, differences: pd.DataFrame, levers: list[str]) -> str:
    """The Markdown of the waterfall's table and its one-after-another line, from a sweep's tables."""
    s, d, y = summary.set_index("policy"), differences.set_index("policy"), "acceptance_rate"
    everything = "+".join(levers)
    order = ["baseline", *levers, "counselling_only", "aravind_1980s", everything]
    rows = ["| policy | acceptance | 95% interval | vs baseline (paired) |", "| --- | --- | --- | --- |"]
    for policy in order:
        r = s.loc[policy]
        vs = "" if policy not in d.index else f"{pts(d.loc[policy, f'{y}_diff'])} ({span(d.loc[policy, f'{y}_diff_low'], d.loc[policy, f'{y}_diff_high'])})"
        label = "all five together" if policy == everything else LABELS[policy]
        rows.append(f"| {label} | {pct(r[y])} | {span(r[f'{y}_low'], r[f'{y}_high'])}% | {vs} |")
    steps = [pct(s.loc["baseline", y])] + [f"+{SHORT[lv]} {pct(s.loc['+'.join(levers[:k + 1]), y])}" for k, lv in enumerate(levers)]
    singles = sum(d.loc[lv, f"{y}_diff"] for lv in levers)
    line = (f"One after another: {' → '.join(steps)}.\nThe five single effects add up to {100 * singles:.1f} points; "
            f"all five together give {100 * d.loc[everything, f'{y}_diff']:.1f}.")
    return "\n".join(rows) + "\n\n" + line + "\n"


def aravind_waterfall(workers: int) -> str:
    from cxsim.experiments import run_experiment

    with tempfile.TemporaryDirectory() as tmp:
        r = run_experiment("aravind_waterfall", Path(tmp) / "out", workers=workers, progress=False)  # the report makes the tables
    return waterfall_block(r.tables["summary"], r.tables["differences"], list(r.plan.experiment.levers.interventions))


BLOCKS: dict[str, Callable[[int], str]] = {"aravind_waterfall": aravind_waterfall}


def pattern(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- generated: {re.escape(name)} \(scripts/experiment_tables\.py\) -->\n)(.*?)(<!-- end generated: {re.escape(name)} -->)", re.S)


def replace(text: str, name: str, block: str) -> str:
    """``text`` with the generated block ``name`` replaced by ``block`` (ValueError if its markers are missing)."""
    if not pattern(name).search(text):
        raise ValueError(f"no generated block {name!r} in the page")
    return pattern(name).sub(lambda m: m.group(1) + block + m.group(3), text, count=1)


def stale(text: str, blocks: dict[str, str]) -> list[str]:
    """Names of the blocks whose text differs from what was generated."""
    return [name for name, block in blocks.items() if replace(text, name, block) != text]


def main(argv: list[str] | None = None, page: Path = README, makers: dict[str, Callable[[int], Any]] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a generated block differs; change nothing")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    text = page.read_text()
    blocks = {name: make(args.workers) for name, make in (makers or BLOCKS).items()}
    if args.check:
        old = stale(text, blocks)
        for name in old:
            print(f"{page.name}: generated block {name!r} is stale: run ./cx python scripts/experiment_tables.py", file=sys.stderr)
        return 1 if old else 0
    for name, block in blocks.items():
        text = replace(text, name, block)
    page.write_text(text)
    print(f"wrote {len(blocks)} block(s) into {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
