"""Interactions and minimal activating sets of a feature: edited builds re-run.

The what-if edits change one thing at a time; these ask how things combine. An interaction
sets two (or three) families to each rung of a grid on the feature's examples and re-runs
the model: the term beyond additive effects, A(x,y) - A(x,0) - A(0,y) + A(0,0), is computed
per example, then averaged with its standard error. A minimal activating set is the smallest
subset of an example's tokens (weapon kept) that keeps the feature above a fraction of its
activation. (Contrastive itemsets, the observational counterpart, are in itemsets.py.)
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import combinations

import numpy as np

from splat_core.domain.vocab import MAIN_AP, MAIN_ONLY, NULL, RUNGS, rung_token
from splat_core.investigate import names
from splat_core.investigate.groups import num
from splat_core.investigate.interventions import RELIABLE_N, activations, illegal, pick_examples
from splat_core.investigate.population import feature

MAX_ROWS = 200_000  # model rows one call may run (examples x grid cells, or x subsets)
DEFAULT_GRID = (0, 3, 12, 21, 29)  # absent, a sub, a main + a sub, ..., two mains + three subs
DEFAULT_RUNG3 = 12  # three families at 29 AP each would exceed 57 AP
TOLERANCE = 1e-6  # relative: a subset's batch may differ from the full build's by rounding

INTERACTION = "I(rx, ry) = A(rx, ry) - A(rx, 0) - A(0, ry) + A(0, 0), per example"


# --- grids and edits ------------------------------------------------------------------------


def _levels(ability: str) -> tuple[int, ...]:
    return (0, MAIN_AP) if ability in MAIN_ONLY else (0, *RUNGS)


def _grid(ability: str, rungs) -> tuple[int, ...]:
    """0 plus the given rungs (validated), or the default grid."""
    if rungs is None:
        return (0, MAIN_AP) if ability in MAIN_ONLY else DEFAULT_GRID
    chosen = sorted({0, *(int(r) for r in rungs)})
    levels = _levels(ability)
    bad = [r for r in chosen if r not in levels]
    if bad:
        raise names.UnknownNameError(f"{ability} has no rung {bad}: rungs are {levels[1:]}")
    if len(chosen) < 2:
        raise ValueError(f"the grid of {ability} needs a rung besides 0 (absent)")
    return tuple(chosen)


def set_family(tokens: list[str], ability: str, rung: int) -> list[str]:
    """Every token of `ability` removed, then (rung > 0) its rung tokens up to `rung` added
    (a main-only ability: the token itself), as the raise edit adds them."""
    out = [t for t in tokens if t != NULL and names.ability_of(t)[0] != ability]
    if rung:
        out += (
            [ability]
            if ability in MAIN_ONLY
            else [rung_token(ability, r) for r in RUNGS if r <= rung]
        )
    return out


def _families(*given) -> list[str]:
    fams = [names.ability(x) for x in given]
    if len(set(fams)) < len(fams):
        raise ValueError(f"the families must differ, got {', '.join(fams)}")
    return fams


def _check_n(n: int, per: int, what: str, max_rows: int) -> None:
    """n examples x `per` model rows each must stay within max_rows (checked before work)."""
    if int(n) < 1:
        raise ValueError(f"n (examples) must be at least 1, got {n}")
    if int(n) * per > max_rows:
        raise ValueError(
            f"{n} examples x {per} {what} = {int(n) * per:,} model rows, over the bound of "
            f"{max_rows:,}: ask for fewer examples or {what}"
        )


def _grid_acts(reader, f, examples, fams, grids) -> tuple[np.ndarray, np.ndarray]:
    """(A [E, *grid] re-computed activations, NaN where the cell is illegal; illegal counts
    per cell)."""
    shape = tuple(len(g) for g in grids)
    acts = np.full((len(examples), *shape), np.nan)
    bad = np.zeros(shape, dtype=np.int64)
    rows, where = [], []
    for e, ex in enumerate(examples):
        for idx in np.ndindex(shape):
            toks = ex.tokens
            for fam, g, i in zip(fams, grids, idx, strict=True):
                toks = set_family(toks, fam, g[i])
            if illegal(toks):
                bad[idx] += 1
                continue
            rows.append((ex.weapon.weapon_id, toks or [NULL]))
            where.append((e, *idx))
    if rows:
        acts[tuple(np.array(where).T)] = activations(reader, rows, f)
    return acts, bad


def _stats(values: np.ndarray) -> dict:
    """mean, stderr (ddof 1 / sqrt n), n and z = mean / stderr over the finite values."""
    v = values[np.isfinite(values)]
    n = len(v)
    mean = num(v.mean()) if n else None
    se = num(v.std(ddof=1) / math.sqrt(n)) if n > 1 else None
    z = num(mean / se) if se else None
    return {"mean": mean, "stderr": se, "n": n, "z": z}


def _base(reader, f, examples) -> dict:
    rows = [(e.weapon.weapon_id, e.tokens) for e in examples]
    base = activations(reader, rows, f) if rows else np.zeros(0)
    stored = np.array([e.activation for e in examples])
    return {
        "n_examples": len(examples),
        "stored_mean": num(stored.mean()) if len(rows) else None,
        "base_mean": num(base.mean()) if len(rows) else None,
        "max_recompute_diff": num(np.abs(base - stored).max()) if len(rows) else None,
    }


def _population(n: int, source: str, seed: int, what: str) -> str:
    who = "top examples" if source == "top" else f"core-region examples (seed {seed})"
    return f"the feature's {n} {who}, {what}"


# --- pairwise and three-way interactions ----------------------------------------------------


def interaction(
    reader, f, x, y, x_rungs=None, y_rungs=None, n=50, source="top", seed=0, max_rows=MAX_ROWS
) -> dict:
    """Families x and y set to every cell of their rung grids on each example (model re-run):
    mean activation, the interaction term beyond additive effects with its standard error,
    and the main effects. A cell counts for an example only if its four corners are legal."""
    f = feature(reader, f)
    ax, ay = _families(x, y)
    gx, gy = _grid(ax, x_rungs), _grid(ay, y_rungs)
    _check_n(n, len(gx) * len(gy), "grid cells", max_rows)
    examples = pick_examples(reader, f, int(n), source, seed)
    acts, bad = _grid_acts(reader, f, examples, [ax, ay], [gx, gy])
    inter = acts - acts[:, :, :1] - acts[:, :1, :] + acts[:, :1, :1]  # NaN if a corner is
    cells = []
    for i, rx in enumerate(gx):
        for j, ry in enumerate(gy):
            a, t = _stats(acts[:, i, j]), _stats(inter[:, i, j])
            cells.append(
                {
                    "x_rung": rx,
                    "y_rung": ry,
                    "n": a["n"],
                    "mean": a["mean"],
                    "stderr": a["stderr"],
                    "n_illegal": int(bad[i, j]),
                    "interaction": t["mean"],
                    "interaction_stderr": t["stderr"],
                    "interaction_n": t["n"],
                    "z": t["z"],
                    "reliable": t["n"] >= RELIABLE_N,
                }
            )
    inner = [c for c in cells if c["x_rung"] and c["y_rung"] and c["interaction"] is not None]
    strongest = max(inner, key=_strength, default=None)
    return {
        "feature_id": f,
        "x": ax,
        "y": ay,
        "x_grid": list(gx),
        "y_grid": list(gy),
        "source": source,
        "population": _population(
            len(examples), source, seed, "each set to every cell of the grid"
        ),
        **_base(reader, f, examples),
        "n_rows": int(np.isfinite(acts).sum()),
        "n_illegal": int(bad.sum()),
        "definitions": {
            "A(rx, ry)": f"the feature's re-computed activation with {ax} set to rung rx and "
            f"{ay} to ry (each family's tokens removed, then its rung tokens up to the rung "
            "added; 0 = absent)",
            "interaction": INTERACTION + "; mean over examples whose four cells are legal",
            "stderr": "standard deviation (ddof 1) / sqrt(n) over examples",
            "z": "interaction / its stderr",
            "reliable": f"the interaction was measured on at least {RELIABLE_N} examples",
            "main effect": "A(r, 0) - A(0, 0) for x, A(0, r) - A(0, 0) for y, per example",
        },
        "cells": cells,
        "main_x": _main(acts[:, :, 0], gx),
        "main_y": _main(acts[:, 0, :], gy),
        "strongest": None if strongest is None else {k: strongest[k] for k in STRONGEST},
    }


STRONGEST = (
    "x_rung",
    "y_rung",
    "interaction",
    "interaction_stderr",
    "interaction_n",
    "z",
    "reliable",
)


def _strength(cell: dict) -> tuple[bool, float, float]:
    """Cells measured on >= 20 examples first (a z from three examples is an anecdote), then
    |z| (a cell without a stderr after every cell with one), then |interaction|."""
    z = abs(cell["z"]) if cell["z"] is not None else -1.0
    return cell["reliable"], z, abs(cell["interaction"])


def _main(line: np.ndarray, grid) -> list[dict]:
    """Per rung: the effect of the family alone (the other absent) vs absent."""
    d = line - line[:, :1]
    return [{"rung": r, **_stats(d[:, i])} for i, r in enumerate(grid) if r]


def interaction3(
    reader, f, x, y, z, rungs=None, n=50, source="top", seed=0, max_rows=MAX_ROWS
) -> dict:
    """Three families on a 2x2x2 grid (absent vs the given rung each; default 12 AP, a
    main-only ability 10): the three-way term and the pairwise terms with the third absent."""
    f = feature(reader, f)
    fams = _families(x, y, z)
    if rungs is None:
        rungs = [MAIN_AP if a in MAIN_ONLY else DEFAULT_RUNG3 for a in fams]
    if len(rungs) != 3:
        raise ValueError(f"rungs takes one rung per family (three), got {list(rungs)}")
    grids = [_grid(a, [r]) for a, r in zip(fams, rungs, strict=True)]
    _check_n(n, 8, "grid cells", max_rows)
    examples = pick_examples(reader, f, int(n), source, seed)
    acts, bad = _grid_acts(reader, f, examples, fams, grids)
    three = sum((-1) ** (3 - sum(idx)) * acts[(slice(None), *idx)] for idx in np.ndindex(2, 2, 2))
    a = acts

    def pair(i, j, k):  # interaction of families i and j, family k absent
        def at(bits):
            idx = [0, 0, 0]
            for p, b in zip((i, j), bits, strict=True):
                idx[p] = b
            return a[(slice(None), *idx)]

        return {
            "families": [fams[i], fams[j]],
            "absent": fams[k],
            **_stats(at((1, 1)) - at((1, 0)) - at((0, 1)) + at((0, 0))),
        }

    cells = [
        {
            "present": [fams[p] for p in range(3) if idx[p]],
            "rungs": [grids[p][idx[p]] for p in range(3)],
            "n_illegal": int(bad[idx]),
            **_stats(acts[(slice(None), *idx)]),
        }
        for idx in np.ndindex(2, 2, 2)
    ]
    return {
        "feature_id": f,
        "families": fams,
        "rungs": [g[1] for g in grids],
        "source": source,
        "population": _population(len(examples), source, seed, "each set to each of the 8 cells"),
        **_base(reader, f, examples),
        "n_illegal": int(bad.sum()),
        "definitions": {
            "A_xyz": "the re-computed activation, 1 = the family at its rung, 0 = absent",
            "three_way": "A111 - A110 - A101 - A011 + A100 + A010 + A001 - A000 per example; "
            "mean over examples whose 8 cells are legal",
            "pairwise": "A(1,1) - A(1,0) - A(0,1) + A(0,0) of two families, the third absent",
            "stderr": "standard deviation (ddof 1) / sqrt(n) over examples",
        },
        "three_way": _stats(three),
        "pairwise": [pair(0, 1, 2), pair(0, 2, 1), pair(1, 2, 0)],
        "cells": cells,
    }


# --- minimal activating sets ----------------------------------------------------------------


def minimal_sets(
    reader, f, n=20, fraction=0.5, max_tokens=12, max_evals=4096, max_rows=MAX_ROWS,
    source="top", seed=0,
) -> dict:  # fmt: skip
    """Per example (top, or seeded random ones from the core region: a feature's top
    examples are often one identical build): the smallest subsets of its tokens (weapon
    kept) whose re-computed activation stays >= fraction x the example's full re-computed
    activation, searched size by size (0, 1, 2, ...) exhaustively while the per-example
    budget of `max_evals` model rows allows a whole size; then aggregated over the examples."""
    f = feature(reader, f)
    if not 0 < float(fraction) <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if int(max_tokens) < 0 or int(max_evals) < 1:
        raise ValueError("max_tokens must be >= 0 and max_evals >= 1")
    _check_n(n, int(max_evals), "evaluations (max_evals)", max_rows)
    examples = pick_examples(reader, f, int(n), source, seed)
    toks = [list(dict.fromkeys(t for t in e.tokens if t != NULL)) for e in examples]
    rows = [(e.weapon.weapon_id, t or [NULL]) for e, t in zip(examples, toks, strict=True)]
    full = activations(reader, rows, f) if rows else np.zeros(0)
    state = [
        {"left": int(max_evals), "sets": [], "size": -1, "done": full[i] <= 0}
        for i in range(len(examples))
    ]
    for k in range(max((len(t) for t in toks), default=0) + 1):
        rows, owner = [], []
        for i, s in enumerate(state):
            if s["done"] or k > len(toks[i]):
                s["done"] = True
                continue
            subsets = math.comb(len(toks[i]), k)
            if subsets > s["left"]:  # the budget cannot cover this size: stop, say so
                s["done"] = True
                continue
            s["left"] -= subsets
            s["size"] = k
            for c in combinations(toks[i], k):
                rows.append((examples[i].weapon.weapon_id, list(c) or [NULL]))
                owner.append((i, c))
        if not rows:
            break
        acts = activations(reader, rows, f)
        for (i, c), v in zip(owner, acts, strict=True):
            if v >= fraction * full[i] - TOLERANCE * abs(full[i]):
                state[i]["sets"].append((tuple(sorted(c)), float(v)))
        for s in state:
            s["done"] = s["done"] or bool(s["sets"])
    per = [
        _example_sets(e, t, float(a), s, fraction, max_tokens, max_evals)
        for e, t, a, s in zip(examples, toks, full, state, strict=True)
    ]
    return {
        "feature_id": f,
        "population": _population(
            len(examples), source, seed, "each re-computed on subsets of its tokens (weapon kept)"
        ),
        "fraction": float(fraction),
        "max_tokens": int(max_tokens),
        "max_evals": int(max_evals),
        "definitions": {
            "minimal set": "a subset of the example's tokens, of the smallest size that keeps "
            "the re-computed activation >= fraction x the full build's re-computed activation",
            "kept_fraction": "the subset's activation / the full build's",
            "complete": "every subset up to the minimal size was evaluated",
            "share": "fraction of the examples with a minimal set whose sets contain the token",
            "weapon_alone": "the empty set qualifies: the weapon alone keeps the feature up",
        },
        **_aggregate(per),
        "examples": per,
    }


def _example_sets(ex, toks, full, s, fraction, max_tokens, max_evals) -> dict:
    found = bool(s["sets"])
    m = len(toks)
    if full <= 0:
        note = "the feature does not fire on the re-computed build"
    elif found:
        note = None
    elif m > max_tokens:
        note = (
            f"{m} tokens > max_tokens {max_tokens}: searched subsets up to size {s['size']} "
            f"(the budget of {max_evals} evaluations)"
        )
    else:
        note = f"cut by the budget of {max_evals} evaluations after size {s['size']}"
    return {
        "sample_id": ex.sample_id,
        "rank": ex.rank,
        "weapon_id": ex.weapon.weapon_id,
        "tokens": toks,
        "stored": float(ex.activation),
        "activation": full,
        "threshold": fraction * full,
        "n_evals": int(max_evals) - s["left"],
        "searched_up_to": s["size"],
        "complete": found,
        "min_size": s["size"] if found else None,
        "weapon_alone": found and s["size"] == 0,
        "note": note,
        "sets": [
            {"tokens": list(c), "activation": v, "kept_fraction": v / full}
            for c, v in sorted(s["sets"], key=lambda cv: (-cv[1], cv[0]))
        ],
    }


def _aggregate(per: list[dict]) -> dict:
    found = [p for p in per if p["complete"]]
    kept: dict[tuple, list[float]] = {}
    held: Counter = Counter()
    for p in found:
        for s in p["sets"]:
            kept.setdefault(tuple(s["tokens"]), []).append(s["kept_fraction"])
        held.update({t for s in p["sets"] for t in s["tokens"]})
    sets = [
        {
            "tokens": list(c),
            "size": len(c),
            "n_examples": len(v),
            "mean_kept_fraction": num(np.mean(v)),
        }
        for c, v in kept.items()
    ]
    sets.sort(key=lambda s: (-s["n_examples"], s["size"], s["tokens"]))
    shares = [{"token": t, "n_examples": c, "share": c / len(found)} for t, c in held.items()]
    shares.sort(key=lambda s: (-s["n_examples"], s["token"]))
    sizes = np.array([p["min_size"] for p in found], dtype=np.float64)
    return {
        "n_examples": len(per),
        "n_complete": len(found),
        "n_incomplete": len(per) - len(found),
        "n_weapon_alone": sum(p["weapon_alone"] for p in per),
        "min_size": _stats(sizes),
        "sets": sets,
        "token_shares": shares,
    }
