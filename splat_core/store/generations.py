"""Generations: the lineage-consistent sets of asset versions that readers serve.

`GENERATION.json` at the home's root names the served generation: the exact version of
every asset (and shard) in it. After every publish the writer computes the largest
consistent set of current versions (lineage.py) and makes it the new generation only if it
holds every asset the served one holds: while a run (or a failed run) has replaced only
part of the graph, the previous generation keeps being served, whole. Readers (the API, the
explorer, the CLI, MCP) read only through the served generation, so an answer never
combines versions that were not computed from each other.

A home without GENERATION.json (new, or written before generations) is served from its
CURRENT pointers; the first publish freezes those pointers as its first generation.

Retention: a version survives pruning while a CURRENT pointer, the served generation, or a
generation committed within RETAIN_S (or one of the last KEEP_GENERATIONS) names it, so a
reader that still holds an older generation keeps its files for at least RETAIN_S.
"""

from __future__ import annotations

import json
import time
import uuid

from splat_core.store import catalog, lineage
from splat_core.store.homes import HomeLike

GENERATION = "GENERATION.json"
HISTORY = "generations"  # <home>/generations/<id>.json: every committed generation
RETAIN_S = 3600.0
KEEP_GENERATIONS = 2


def served(home: HomeLike) -> dict | None:
    """The served generation: {"id", "created_at", "versions": {key: version},
    "fingerprints": {key: fingerprint}}; None when the home has none yet."""
    text = catalog.read_home_file(home, GENERATION)
    return None if text is None else json.loads(text)


def consistent_set(cat: dict) -> dict[str, dict]:
    """The largest lineage-closed set of current versions: every version in it records
    inputs that are in it, with the same fingerprints. Shards no aggregate of the set reads
    (left over from an older shard count) are left out."""
    current = lineage.entries(cat)
    ok = {k for k, e in current.items() if not lineage.stale_inputs(e, current)}
    changed = True
    while changed:  # an input's own inputs must be consistent too
        changed = False
        for key in sorted(ok):
            if any(i not in ok for i in current[key]["inputs"]):
                ok.discard(key)
                changed = True
    reached, todo = set(), [k for k in ok if "/" not in k]
    while todo:
        for i in current[todo.pop()]["inputs"]:
            if i not in reached:
                reached.add(i)
                todo.append(i)
    read_assets = {k.split("/")[0] for k in reached if "/" in k}
    return {k: current[k] for k in sorted(ok)
            if "/" not in k or k in reached or k.split("/")[0] not in read_assets}  # fmt: skip


def freeze(home: HomeLike) -> dict | None:
    """Before the first publish into a home without generations: serve its CURRENT
    pointers as they are, so that the publishes that follow stay invisible to readers."""
    if served(home) is not None:
        return None
    current = lineage.entries(catalog.read_catalog(home))
    if not current:
        return None
    return _write(home, current, legacy=True)


def commit(home: HomeLike) -> dict | None:
    """Serve the current consistent set if it is complete (holds every asset of the served
    generation) and new; returns the new generation, or None."""
    candidate = consistent_set(catalog.read_catalog(home))
    gen = served(home)
    if gen is not None:
        missing = _assets(gen["versions"]) - _assets(candidate)
        if missing or {k: e["version"] for k, e in candidate.items()} == gen["versions"]:
            return None
    if not candidate:
        return None
    return _write(home, candidate)


def _assets(keys) -> set[str]:
    return {k.split("/")[0] for k in keys}


def _write(home: HomeLike, chosen: dict[str, dict], legacy: bool = False) -> dict:
    now = time.time()
    gen = {
        "id": f"g{time.time_ns()}-{uuid.uuid4().hex[:6]}",
        "created_at": now,
        "versions": {k: e["version"] for k, e in sorted(chosen.items())},
        "fingerprints": {k: e.get("fingerprint") for k, e in sorted(chosen.items())},
    }
    if legacy:
        gen["legacy"] = True  # versions published before lineage: not checked for consistency
    text = json.dumps(gen, indent=1) + "\n"
    catalog.write_home_file(home, f"{HISTORY}/{gen['id']}.json", text)
    catalog.write_home_file(home, GENERATION, text)  # the switch: one atomic replace (or PUT)
    return gen


def retained(home: HomeLike, now: float | None = None) -> tuple[set[str], list[str]]:
    """(keys "key@version" that pruning must keep, generation ids it may delete)."""
    now = time.time() if now is None else now
    ids = sorted(catalog.list_home_dir(home, HISTORY), reverse=True)  # newest first (by time)
    keep: set[str] = set()
    drop = []
    gen = served(home)
    for n, name in enumerate(ids):
        text = catalog.read_home_file(home, f"{HISTORY}/{name}")
        if text is None:
            continue
        g = json.loads(text)
        recent = n < KEEP_GENERATIONS or now - g["created_at"] <= RETAIN_S
        if recent or (gen is not None and g["id"] == gen["id"]):
            keep |= {f"{k}@{v}" for k, v in g["versions"].items()}
        else:
            drop.append(name)
    if gen is not None:
        keep |= {f"{k}@{v}" for k, v in gen["versions"].items()}
    return keep, drop
