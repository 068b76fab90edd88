"""Compare two materialized SPLAT_HOMEs asset by asset: every file of every current version
byte-identical, or (JSON files and CURRENT.json metadata) equal once wall-clock fields are
dropped. For refactors that must not change what the pipeline writes.

    python scripts/compare_homes.py HOME_A HOME_B     # exits 1 on any difference
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

WALL_CLOCK = {"seconds", "nnz_per_s"}  # and any key ending in _seconds


def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items()
                if k not in WALL_CLOCK and not k.endswith("_seconds")}  # fmt: skip
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x


def versions(home: Path) -> dict[str, tuple[Path, dict]]:
    out = {}
    for pointer in sorted(home.glob("*/CURRENT.json")) + sorted(home.glob("*/*/CURRENT.json")):
        p = json.loads(pointer.read_text())
        out[str(pointer.parent.relative_to(home))] = (pointer.parent / p["version"], p["metadata"])
    return out


def compare(a: Path, b: Path) -> list[str]:
    va, vb = versions(a), versions(b)
    problems = [f"{k}: only on one side" for k in sorted(va.keys() ^ vb.keys())]
    n_files = n_bytes = n_json = 0
    for key in sorted(va.keys() & vb.keys()):
        (da, ma), (db, mb) = va[key], vb[key]
        if strip(ma) != strip(mb):
            problems.append(f"{key}: CURRENT.json metadata differs")
        fa = {str(p.relative_to(da)): p for p in da.rglob("*") if p.is_file()}
        fb = {str(p.relative_to(db)): p for p in db.rglob("*") if p.is_file()}
        problems += [f"{key}/{f}: only on one side" for f in sorted(fa.keys() ^ fb.keys())]
        for rel in sorted(fa.keys() & fb.keys()):
            n_files += 1
            x, y = fa[rel].read_bytes(), fb[rel].read_bytes()
            if x == y:
                n_bytes += 1
            elif rel.endswith(".json") and strip(json.loads(x)) == strip(json.loads(y)):
                n_json += 1
            else:
                problems.append(f"{key}/{rel}: content differs")
    print(f"{len(va)} asset versions, {n_files} files: {n_bytes} byte-identical, {n_json} JSON "
          f"equal but for wall-clock fields; {len(problems)} differences")  # fmt: skip
    return problems


if __name__ == "__main__":
    found = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    for line in found:
        print("  ", line)
    sys.exit(1 if found else 0)
