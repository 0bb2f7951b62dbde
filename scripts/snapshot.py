"""Snapshot every output table of every built-in scenario × variant on 2 seeds, to check that
a change leaves results identical (speed work, refactors) or to see exactly what a model change moved.

    python scripts/snapshot.py save DIR [--customers 3000]     # write DIR/<scenario>.<variant>.<seed>.<table>.parquet
    python scripts/snapshot.py compare OLD NEW                  # list every table that differs (exit 1 if any)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

import cxsim

SEEDS = (1, 2)
TABLES = ("customers", "timeseries", "events", "funnel", "dropouts")


def save(out: Path, customers: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in cxsim.list_scenarios():
        sc = cxsim.load_scenario(name)
        for variant in ["baseline", *sc.variants]:
            world = sc.variant(variant)
            for seed in SEEDS:
                res = cxsim.run(world, seed, customers=customers)
                stem = f"{name}.{variant}.{seed}"
                (out / f"{stem}.summary.json").write_text(json.dumps(res.summary, sort_keys=True, default=str, indent=1))
                for table in TABLES:
                    df = getattr(res, table).copy()
                    for col in df.columns:
                        if isinstance(df[col].dtype, pd.CategoricalDtype) or df[col].dtype == object:
                            df[col] = df[col].astype(str)
                    df.to_parquet(out / f"{stem}.{table}.parquet")
        print(f"  {name}: {1 + len(sc.variants)} variants × {len(SEEDS)} seeds", file=sys.stderr)


def compare(old: Path, new: Path) -> int:
    names = sorted({p.name for p in old.iterdir()} | {p.name for p in new.iterdir()})
    differ = []
    for fname in names:
        a, b = old / fname, new / fname
        if not (a.exists() and b.exists()):
            differ.append(f"{fname}: only in {'old' if a.exists() else 'new'}")
        elif fname.endswith(".json"):
            if a.read_text() != b.read_text():
                differ.append(f"{fname}: summary differs")
        else:
            da, db = pd.read_parquet(a), pd.read_parquet(b)
            if not da.equals(db):
                cols = [c for c in da.columns if c not in db.columns or not da[c].equals(db[c])] if da.shape == db.shape else ["shape"]
                differ.append(f"{fname}: differs in {', '.join(map(str, cols[:8]))}")
    print("\n".join(differ) if differ else f"identical: {len(names)} files")
    return 1 if differ else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("save")
    s.add_argument("out", type=Path)
    s.add_argument("--customers", type=int, default=3000)
    c = sub.add_parser("compare")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    args = p.parse_args()
    if args.cmd == "save":
        save(args.out, args.customers)
        return 0
    return compare(args.old, args.new)


if __name__ == "__main__":
    sys.exit(main())
