"""Builds, weapons and features as a person reads them (for the explorer and other views).

A sample's tokens become one part per ability: main-only abilities by name, each family at
the highest rung held ("Swim Speed Up 21"). Samples are partial builds, so a family can hold
a rung without some lower ones; such a part is starred ("Sub Power Up 21*") and keeps the
rungs it lacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from splat_core.domain.vocab import (
    MAIN_AP,
    MAIN_ONLY,
    RUNGS,
    STANDARD,
    is_content_token,
    token_info,
)

_SPECIAL_NAMES = {
    "ink_saver_main": "Ink Saver (Main)",
    "ink_saver_sub": "Ink Saver (Sub)",
    "last_ditch_effort": "Last-Ditch Effort",
}


def ability_name(ability: str) -> str:
    """'swim_speed_up' -> 'Swim Speed Up'."""
    return _SPECIAL_NAMES.get(ability) or ability.replace("_", " ").title()


def token_name(token: str) -> str:
    """'swim_speed_up_21' -> 'Swim Speed Up 21'; special tokens unchanged."""
    if not is_content_token(token):
        return token
    info = token_info(token)
    name = ability_name(info.ability)
    return name if info.main_only else f"{name} {info.rung}"


@dataclass(frozen=True)
class BuildPart:
    ability: str
    ap: int  # the highest rung held; 10 for a main-only ability
    main_only: bool
    missing: tuple[int, ...] = ()  # rungs below `ap` the sample does not hold

    @property
    def name(self) -> str:
        return ability_name(self.ability)

    def text(self) -> str:
        if self.main_only:
            return self.name
        return f"{self.name} {self.ap}{'*' if self.missing else ''}"


def read_build(tokens: Iterable[str]) -> list[BuildPart]:
    """One part per ability: main-only abilities first, then families by AP (highest first).
    Special tokens (<NULL>, <PAD>) and unknown names are ignored."""
    held: dict[str, set[int]] = {}
    mains = set()
    for t in tokens:
        if not is_content_token(t):
            continue
        info = token_info(t)
        if info.main_only:
            mains.add(info.ability)
        else:
            held.setdefault(info.ability, set()).add(info.rung)
    parts = [BuildPart(a, MAIN_AP, True) for a in MAIN_ONLY if a in mains]
    families = []
    for family, rungs in held.items():
        top = max(rungs)
        missing = tuple(r for r in RUNGS if r < top and r not in rungs)
        families.append(BuildPart(family, top, False, missing))
    families.sort(key=lambda p: (-p.ap, STANDARD.index(p.ability)))
    return parts + families


def build_texts(tokens: Iterable[str]) -> list[str]:
    return [p.text() for p in read_build(tokens)]


def build_text(tokens: Iterable[str], sep: str = " · ") -> str:
    return sep.join(build_texts(tokens)) or "(empty build)"


def build_ap(tokens: Iterable[str]) -> dict[str, int]:
    """ability -> AP that yields the tokens' highest rungs (main-only: 10); the input of
    `Reader.encode` / `whatif` for a sample (lower rungs it lacked are filled in)."""
    return {p.ability: p.ap for p in read_build(tokens)}


def total_ap(abilities: Mapping[str, int]) -> int:
    return int(sum(abilities.values()))


def share(x: float) -> str:
    """A fraction as a percentage with sensible digits: '22.9%', '0.024%', '0%'."""
    if x == 0:
        return "0%"
    pct = 100 * x
    return f"{pct:.1f}%" if pct >= 1 else f"{pct:.2g}%"


def enrichment_ratio(log2_enrichment: float) -> float:
    """The analysis tables store log2 enrichment; as a ratio (x as often as overall)."""
    return float(2.0**log2_enrichment)


def weapon_text(weapon) -> str:
    """'Luna Blaster (blaster · Splat Bomb · Zipcaster)' from a WeaponInfo."""
    name = weapon.name or f"weapon {weapon.weapon_id}"
    kit = [x for x in (weapon.weapon_class, weapon.sub, weapon.special) if x]
    return f"{name} ({' · '.join(kit)})" if kit else name


def example_row(example) -> dict:
    """An `Example` as one table row: rank, activation, weapon and kit, the build as read
    (`build`), its AP and its exact input tokens."""
    w = example.weapon
    parts = read_build(example.tokens)
    return {
        "rank": example.rank,
        "activation": example.activation,
        "weapon": w.name or f"weapon {w.weapon_id}",
        "kit": " · ".join(x for x in (w.weapon_class, w.sub, w.special) if x),
        "build": [p.text() for p in parts],
        "ap": sum(p.ap for p in parts),
        "tokens": list(example.tokens),
        "sample_id": example.sample_id,
        "weapon_id": w.weapon_id,
    }


def feature_title(f: int, label: Mapping | None) -> str:
    """'Feature 12 · Swim stacker [tactical]' (the reference's display name, with the id)."""
    if not label:
        return f"Feature {f}"
    category = label.get("category")
    tag = f" [{category}]" if category and category != "none" else ""
    return f"Feature {f} · {label['name']}{tag}"
