"""Observational sweeps: a feature's activation grouped by ability rung, weapon or kit.

Each sample's rung of a family is the highest rung token of that family it holds (0 =
absent); only the real rungs exist (3, 6, 12, 15, 21, 29, 38, 51, 57), and a main-only
ability is 0 or 10. By default the groups cover all samples, zeros included, and report
the firing rate and the mean over firing samples beside the mean: a baseline over all
samples answers "does this token raise the feature?" where a firing-only one cannot see a
token that switches the feature off. `population="firing"` gives the reference's view.
"""

from __future__ import annotations

import numpy as np

from splat_core.domain.vocab import MAIN_AP, MAIN_ONLY, RUNGS
from splat_core.investigate import names
from splat_core.investigate.groups import group_stats, num, presence_effects, ratio, row
from splat_core.investigate.population import ALL, dense, describe, population, select
from splat_core.investigate.tokens import high_group

RULE = (
    "a sample's rung of a family is the highest rung token of it the sample holds "
    "(0 = none); main-only abilities are 0 or 10"
)
RELIABLE_N = 20  # fewer samples: never claim an effect (a 0 can be sparsity)


def _levels(ability: str) -> tuple[int, ...]:
    return (0, MAIN_AP) if ability in MAIN_ONLY else (0, *RUNGS)


def _label(ability: str, level: int) -> str:
    if level == 0:
        return "absent"
    return ability if ability in MAIN_ONLY else f"{ability}_{level}"


def _bins(ability: str, rungs) -> tuple[int, ...]:
    """The levels a sample is binned into: all, or the given ones (+ 0), each validated."""
    levels = _levels(ability)
    if rungs is None:
        return levels
    chosen = sorted({0, *(int(r) for r in rungs)})
    bad = [r for r in chosen if r not in levels]
    if bad:
        raise names.UnknownNameError(f"{ability} has no rung {bad}: rungs are {levels[1:]}")
    return tuple(chosen)


def _binned(top: np.ndarray, bins: tuple[int, ...]) -> np.ndarray:
    """Index into `bins` of the largest bin <= each sample's rung."""
    return np.searchsorted(np.asarray(bins), top, side="right") - 1


def family_sweep(reader, f: int, family: str, population_: str = ALL) -> dict:
    """Activation by the highest rung of `family` each sample holds, with delta vs absent."""
    ability = names.ability(family)
    a, pop = dense(reader, f), population(reader)
    mask = select(a, population_)
    levels = _levels(ability)
    code = _binned(pop.top[mask, names.ABILITY_INDEX[ability]], levels)
    stats = group_stats(a[mask], code, len(levels))
    base = stats[0]["mean"]
    rows, empty = [], []
    for level, s in zip(levels, stats, strict=True):
        if s["n"] == 0:
            empty.append(level)
            continue
        delta = None if base is None or s["mean"] is None else s["mean"] - base
        rows.append(
            {
                "rung": level,
                "label": _label(ability, level),
                **s,
                "delta": delta,
                "reliable": s["n"] >= RELIABLE_N,
            }
        )
    present = [r for r in rows if r["rung"] and r["delta"] is not None]
    peak = max(present, key=lambda r: abs(r["delta"]), default=None)
    return {
        "feature_id": int(f),
        "family": ability,
        "main_only": ability in MAIN_ONLY,
        "population": describe(population_, int(mask.sum())),
        "rule": RULE,
        "baseline": "the absent group (same population)",
        "rows": rows,
        "empty_rungs": empty,
        "peak": None if peak is None else {k: peak[k] for k in ("rung", "label", "delta", "n")},
    }


def heatmap(reader, f, x: str, y: str, x_rungs=None, y_rungs=None, population_=ALL) -> dict:
    """Activation per (rung of x, rung of y) cell. With x_rungs/y_rungs a sample goes to the
    largest listed rung at or below its own (0, "below all listed", is always a bin)."""
    ax, ay = names.ability(x), names.ability(y)
    if ax == ay:
        raise ValueError("heatmap needs two different families")
    a, pop = dense(reader, f), population(reader)
    mask = select(a, population_)
    bx, by = _bins(ax, x_rungs), _bins(ay, y_rungs)
    ix = _binned(pop.top[mask, names.ABILITY_INDEX[ax]], bx)
    iy = _binned(pop.top[mask, names.ABILITY_INDEX[ay]], by)
    stats = group_stats(a[mask], ix * len(by) + iy, len(bx) * len(by))
    base = stats[0]["mean"]
    cells = []
    for i, rx in enumerate(bx):
        for j, ry in enumerate(by):
            s = stats[i * len(by) + j]
            if s["n"]:
                delta = None if base is None else s["mean"] - base
                cells.append(
                    {
                        "x_rung": rx,
                        "y_rung": ry,
                        **s,
                        "delta": delta,
                        "reliable": s["n"] >= RELIABLE_N,
                    }
                )
    solid = [c for c in cells if c["reliable"]] or cells
    peak = max(solid, key=lambda c: c["mean"], default=None)
    return {
        "feature_id": int(f),
        "x": ax,
        "y": ay,
        "x_bins": list(bx),
        "y_bins": list(by),
        "population": describe(population_, int(mask.sum())),
        "rule": RULE,
        "baseline": "cell (0, 0): neither family held (same population)",
        "cells": cells,
        "peak": None if peak is None else {k: peak[k] for k in ("x_rung", "y_rung", "mean", "n")},
    }


def group_sweep(reader, f, kind: str, min_n=10, top_k=20, population_=ALL) -> dict:
    """Activation per weapon|class|sub|special|kit, delta vs the population's mean."""
    a, pop = dense(reader, f), population(reader)
    mask = select(a, population_)
    code, keys = pop.weapon_groups(kind)
    stats = group_stats(a[mask], code[mask], len(keys))
    overall = num(a[mask].mean()) if mask.any() else None
    by_id = {str(w.weapon_id): w for w in pop.weapons}
    rows = []
    for key, s in zip(keys, stats, strict=True):
        if s["n"] < min_n:
            continue
        r = {"key": key, **s, "delta": None if overall is None else s["mean"] - overall}
        if kind == "weapon":
            w = by_id[key]
            r.update(name=w.name, weapon_class=w.weapon_class, sub=w.sub, special=w.special)
        rows.append(r)
    rows.sort(key=lambda r: (-r["mean"], r["key"]))
    return {
        "kind": kind,
        "n_groups": len(rows),
        "rows": rows[:top_k],
        "mean": overall,
        "population": describe(population_, int(mask.sum())),
        "min_n": int(min_n),
    }


def weapon_sweep(reader, f: int, min_n: int = 10, top_k: int = 20, population_=ALL) -> dict:
    weapons = group_sweep(reader, f, "weapon", min_n, top_k, population_)
    classes = group_sweep(reader, f, "class", min_n, top_k, population_)
    deltas = sorted((abs(r["delta"]) for r in weapons["rows"]), reverse=True)
    warning = None
    if len(deltas) > 1 and deltas[0] > 2 * deltas[1]:
        warning = (
            f"dominant weapon {weapons['rows'][0]['name']}: its delta is over twice the "
            "next one's; check its kit with `splat sweep kit`"
        )
    return {
        "feature_id": int(f),
        "population": weapons["population"],
        "baseline": "the mean over the same population",
        "weapons": weapons,
        "classes": classes,
        "warning": warning,
    }


def kit_sweep(reader, f: int, min_n: int = 10, top_k: int = 15, population_=ALL) -> dict:
    parts = {
        k: group_sweep(reader, f, k, min_n, top_k, population_) for k in ("sub", "special", "kit")
    }
    return {
        "feature_id": int(f),
        "population": parts["sub"]["population"],
        "baseline": "the mean over the same population",
        **parts,
    }


def binary_sweep(reader, f: int, high_quantile: float = 0.9, min_n: int = 20) -> dict:
    """Main-only abilities: mean with vs without (all samples), and presence among the high
    activations vs all samples (enrichment); flags below 0.5x and above 1.5x."""
    a, pop = dense(reader, f), population(reader)
    high, threshold = high_group(a, high_quantile)
    pos, item = pop.pairs()
    keep = item < len(MAIN_ONLY)
    eff = presence_effects(a, pos[keep], item[keep], len(MAIN_ONLY), high)
    rows, skipped = [], []
    for i, ability in enumerate(MAIN_ONLY):
        r = {"ability": ability, **row(eff, i)}
        if r["n_with"] < min_n:
            skipped.append(ability)
            continue
        r["enrichment"] = ratio(r["rate_high"], r["rate_all"])
        e = r["enrichment"]
        r["flag"] = "enriched" if e and e > 1.5 else "depleted" if e is not None and e < 0.5 else ""
        rows.append(r)
    rows.sort(key=lambda r: (-abs(r["delta"] or 0), r["ability"]))
    return {
        "feature_id": int(f),
        "population": describe(ALL, len(a)),
        "high_quantile": float(high_quantile),
        "high_threshold": threshold,
        "n_high": int(high.sum()),
        "definitions": {
            "enrichment": "P(ability | high group) / P(ability | all samples)",
            "delta": "mean with - mean without, all samples",
        },
        "rows": rows,
        "skipped_low_n": skipped,
    }
