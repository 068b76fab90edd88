"""The weapon table: 130 reference-kit weapons with class, sub and special."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

WEAPON_CLASSES = (
    "shooter", "blaster", "roller", "brush", "charger", "slosher",
    "splatling", "dualies", "brella", "stringer", "splatana",
)  # fmt: skip


@dataclass(frozen=True)
class Weapon:
    weapon_id: int  # reference-kit id, e.g. 8000 (Splatana Stamper)
    name: str
    weapon_class: str
    sub: str
    special: str

    @property
    def kit(self) -> int:
        """0 for the vanilla kit, 1 for the alternate kit (the id's last digit)."""
        return self.weapon_id % 10


@lru_cache(maxsize=1)
def weapon_table() -> tuple[Weapon, ...]:
    """All weapons in the order of the packaged weapons.csv."""
    text = resources.files("splat_core.domain").joinpath("weapons.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return tuple(
        Weapon(int(r["weapon_id"]), r["name"], r["class"], r["sub"], r["special"]) for r in rows
    )


@lru_cache(maxsize=1)
def weapons_by_id() -> dict[int, Weapon]:
    return {w.weapon_id: w for w in weapon_table()}


def weapon(weapon_id: int) -> Weapon:
    try:
        return weapons_by_id()[int(weapon_id)]
    except KeyError:
        raise KeyError(f"unknown weapon id {weapon_id}") from None
