"""Explanations against the planted truth of the synthetic builds.

The generator plants soft preferences (`builds/archetypes.py`), so "what defines an
archetype" is made precise here, once:
- its defining abilities: the families weighted at least half as much as its heaviest
  family, on mains or on subs, and the main-only abilities it takes with probability 0.5
  or more;
- its defining weapon classes: the classes whose pool weighs it highest (ties count).
A rule matches an archetype when it names at least one defining ability and at least half
of its positive conditions (ability at a rung, main-only present, class, or a weapon of a
defining class) are defining. Absence conditions ("no X") are neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from splat_core.builds.archetypes import ARCHETYPES, CLASS_POOLS
from splat_core.domain.weapons import weapons_by_id
from splat_core.explain.rules import AtLeast, Has, Kit, Rule, parse
from splat_core.explain.search import Explainer

_NAMES = {a.name for a in ARCHETYPES}


class Defining(NamedTuple):
    abilities: frozenset[str]
    classes: frozenset[str]


def defining(name: str) -> Defining:
    arch = next((a for a in ARCHETYPES if a.name == name), None)
    if arch is None:
        raise KeyError(f"unknown archetype {name!r}")
    abilities = set()
    for weights in (arch.mains, arch.subs):
        top = max(weights.values())
        abilities |= {f for f, w in weights.items() if w >= 0.5 * top}
    abilities |= {a for a, p in arch.main_only.values() if p >= 0.5}
    classes = {c for c, pool in CLASS_POOLS.items()
               if name in pool and pool[name] == max(pool.values())}  # fmt: skip
    return Defining(frozenset(abilities), frozenset(classes))


def matches(rule: Rule, name: str) -> bool:
    d = defining(name)
    marks = []  # one per positive condition: is it defining, is it an ability
    weapons = weapons_by_id()
    for c in rule.conditions():
        if isinstance(c, AtLeast | Has):
            marks.append((c.ability in d.abilities, True))
        elif isinstance(c, Kit) and c.kind == "class":
            marks.append((all(v in d.classes for v in c.values), False))
        elif isinstance(c, Kit) and c.kind == "weapon":
            ok = all(int(v) in weapons and weapons[int(v)].weapon_class in d.classes
                     for v in c.values)  # fmt: skip
            marks.append((ok, False))
        elif isinstance(c, Kit):
            marks.append((False, False))
    named = any(ok and ability for ok, ability in marks)
    return named and 2 * sum(ok for ok, _ in marks) >= len(marks)


def ceiling(explainer: Explainer, sample_archetype: np.ndarray, names: list[str]) -> dict:
    """{archetype: best row} of the search given the planted label itself (the samples of
    the archetype's builds): how well any input rule can say where an archetype is, the
    most a feature of it can be explained."""
    out = {}
    for code, name in enumerate(names):
        ids = np.flatnonzero(sample_archetype == code)
        found = explainer.explain(code, ids, np.ones(len(ids), np.float32)) if len(ids) else []
        if name in _NAMES and found:
            e = found[0]
            out[name] = {"rule": str(e.rule), "f1": e.scores.f1, "matched": matches(e.rule, name)}
    return out


def planted_report(archetype_auroc: Mapping[str, dict], best: Mapping[int, dict],
                   ceilings: Mapping[str, dict] | None = None) -> list[dict]:  # fmt: skip
    """One row per planted archetype (from the `sae` asset's `archetype_auroc`): its best
    feature, that feature's best explanation (`best`: feature -> rank-1 row of
    feature_explanations) with its held-out scores, and whether it matches; with
    `ceilings`, the F1 of the archetype label's own best rule beside it."""
    out = []
    for name, entry in archetype_auroc.items():
        if name not in _NAMES:
            continue  # `coverage` is a device of the generator, not an archetype
        f = int(entry["feature"])
        row = best.get(f)
        rule = parse(row["rule"]) if row else None
        out.append({
            "archetype": name, "feature": f, "feature_auroc": entry.get("auroc"),
            "rule": row["rule"] if row else None,
            "sentence": row["sentence"] if row else None,
            "target": row["target"] if row else None,
            **{k: (row[k] if row else None)
               for k in ("precision", "recall", "f1", "auroc", "null_f1")},
            "matched": "yes" if rule is not None and matches(rule, name) else "no",
            "ceiling_f1": (ceilings or {}).get(name, {}).get("f1"),
        })  # fmt: skip
    return out
