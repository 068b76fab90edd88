"""The ability vocabulary: game constants, token names and id mappings.

Ids are never assumed: the embedded default uses the reference checkpoint's order
(`canonical_tokens`), imported data brings its own `vocab.json`.
"""

from __future__ import annotations

import json
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

PIECES = ("head", "clothes", "shoes")

# Main-only abilities, in the reference's order, with the one gear piece each may sit on.
MAIN_ONLY_SLOT: dict[str, str] = {
    "comeback": "head",
    "last_ditch_effort": "head",
    "opening_gambit": "head",
    "tenacity": "head",
    "ability_doubler": "clothes",
    "haunt": "clothes",
    "ninja_squid": "clothes",
    "respawn_punisher": "clothes",
    "thermal_ink": "clothes",
    "drop_roller": "shoes",
    "object_shredder": "shoes",
    "stealth_jump": "shoes",
}
MAIN_ONLY = tuple(MAIN_ONLY_SLOT)

# Stackable abilities ("families"), in the reference's order.
STANDARD = (
    "ink_recovery_up",
    "ink_resistance_up",
    "ink_saver_main",
    "ink_saver_sub",
    "intensify_action",
    "quick_respawn",
    "quick_super_jump",
    "run_speed_up",
    "special_charge_up",
    "special_power_up",
    "special_saver",
    "sub_power_up",
    "sub_resistance_up",
    "swim_speed_up",
)
ABILITIES = MAIN_ONLY + STANDARD

# AP thresholds of the cumulative rung tokens; no other rung exists.
RUNGS = (3, 6, 12, 15, 21, 29, 38, 51, 57)

MAIN_AP = 10
SUB_AP = 3
N_MAINS = 3
N_SUBS = 9
FULL_AP = N_MAINS * MAIN_AP + N_SUBS * SUB_AP  # 57

NULL = "<NULL>"
PAD = "<PAD>"
SPECIAL = (NULL, PAD)


def rung_token(family: str, rung: int) -> str:
    return f"{family}_{rung}"


def content_tokens() -> list[str]:
    """The 138 ability tokens: main-only names, then each family's nine rungs."""
    return list(MAIN_ONLY) + [rung_token(f, r) for f in STANDARD for r in RUNGS]


def canonical_tokens() -> list[str]:
    """All 140 tokens in the order of the reference checkpoint's vocab.json."""
    return content_tokens() + [NULL, PAD]


@dataclass(frozen=True)
class TokenInfo:
    """What a content token means: a main-only ability, or a family at a rung."""

    token: str
    ability: str
    rung: int | None  # None for main-only abilities

    @property
    def main_only(self) -> bool:
        return self.rung is None


_TOKEN_INFO: dict[str, TokenInfo] = {t: TokenInfo(t, t, None) for t in MAIN_ONLY}
_TOKEN_INFO.update(
    {rung_token(f, r): TokenInfo(rung_token(f, r), f, r) for f in STANDARD for r in RUNGS}
)


def token_info(token: str) -> TokenInfo:
    """Parse a content token; raises KeyError naming the token if it is not one."""
    try:
        return _TOKEN_INFO[token]
    except KeyError:
        raise KeyError(f"unknown ability token {token!r}") from None


def is_content_token(token: str) -> bool:
    return token in _TOKEN_INFO


@dataclass
class Vocab:
    """Ability-token vocabulary: token <-> id, as read from or written to vocab.json."""

    token_to_id: dict[str, int]
    id_to_token: dict[int, str] = field(init=False)

    def __post_init__(self) -> None:
        ids = list(self.token_to_id.values())
        if any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
            raise ValueError("vocab ids must be integers (a JSON object of token -> integer id)")
        if len(set(ids)) != len(ids):
            raise ValueError("vocab maps two tokens to the same id")
        if sorted(ids) != list(range(len(ids))):
            raise ValueError("vocab ids must be the contiguous range 0..n-1")
        unknown = [t for t in self.token_to_id if t not in _TOKEN_INFO and t not in SPECIAL]
        if unknown:
            raise ValueError(f"vocab has tokens that are not ability tokens: {unknown[:5]}")
        if PAD not in self.token_to_id:
            raise ValueError("vocab has no <PAD> token")
        self.id_to_token = {i: t for t, i in self.token_to_id.items()}

    @classmethod
    def canonical(cls) -> Vocab:
        return cls({t: i for i, t in enumerate(canonical_tokens())})

    @classmethod
    def from_json(cls, path: str | Path) -> Vocab:
        try:
            return cls(read_json_object(path))
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.token_to_id, indent=2) + "\n", encoding="utf-8")

    def __len__(self) -> int:
        return len(self.token_to_id)

    @property
    def pad_id(self) -> int:
        return self.token_to_id[PAD]

    @property
    def null_id(self) -> int | None:
        return self.token_to_id.get(NULL)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        out = []
        for t in tokens:
            if t not in self.token_to_id:
                raise KeyError(f"token {t!r} is not in the vocabulary")
            out.append(self.token_to_id[t])
        return out

    def decode(self, ids: Iterable[int]) -> list[str]:
        out = []
        for i in ids:
            if isinstance(i, bool) or not isinstance(i, numbers.Integral):
                raise KeyError(f"token id {i!r} is not an integer")
            if int(i) not in self.id_to_token:
                raise KeyError(f"token id {i} is not in the vocabulary (size {len(self)})")
            out.append(self.id_to_token[int(i)])
        return out

    def content_ids(self) -> list[int]:
        """Ids of the ability tokens (everything but <PAD> and <NULL>), ascending."""
        return sorted(i for t, i in self.token_to_id.items() if t not in SPECIAL)


@dataclass
class WeaponVocab:
    """Weapon vocabulary: reference-kit weapon id <-> dense index (`weapon_id_<id>` keys)."""

    key_to_index: dict[str, int]

    def __post_init__(self) -> None:
        idx = list(self.key_to_index.values())
        if any(isinstance(i, bool) or not isinstance(i, int) for i in idx):
            raise ValueError(
                "weapon vocab indices must be integers (a JSON object of key -> index)"
            )
        if sorted(idx) != list(range(len(idx))):
            raise ValueError("weapon vocab indices must be the contiguous range 0..n-1")
        bad = [k for k in self.key_to_index if not _is_weapon_key(k)]
        if bad:
            raise ValueError(f"weapon vocab keys must look like 'weapon_id_<int>': {bad[:5]}")

    @classmethod
    def from_weapon_ids(cls, weapon_ids: Iterable[int]) -> WeaponVocab:
        return cls({f"weapon_id_{w}": i for i, w in enumerate(weapon_ids)})

    @classmethod
    def from_json(cls, path: str | Path) -> WeaponVocab:
        try:
            return cls(read_json_object(path))
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.key_to_index, indent=2) + "\n", encoding="utf-8")

    def __len__(self) -> int:
        return len(self.key_to_index)

    @property
    def weapon_ids(self) -> list[int]:
        """Reference-kit weapon id of each dense index."""
        by_index = sorted(self.key_to_index.items(), key=lambda kv: kv[1])
        return [int(k.removeprefix("weapon_id_")) for k, _ in by_index]

    def index_of(self, weapon_id: int) -> int:
        key = f"weapon_id_{weapon_id}"
        if key not in self.key_to_index:
            raise KeyError(f"weapon {weapon_id} is not in the weapon vocabulary")
        return self.key_to_index[key]


class Vocabularies(NamedTuple):
    """The two vocabularies a model was trained with (the `vocab` asset)."""

    vocab: Vocab
    """Ability tokens <-> ids (vocab.json)."""
    weapon_vocab: WeaponVocab
    """Reference-kit weapon ids <-> dense indices (weapon_vocab.json)."""


def read_json_object(path: str | Path) -> dict:
    """A JSON object of str -> value, rejecting duplicate keys (json keeps the last one).

    Raises json.JSONDecodeError (with its line) for bad syntax, ValueError otherwise."""

    def no_duplicates(pairs):
        seen: set[str] = set()
        dups = sorted({k for k, _ in pairs if k in seen or seen.add(k)})
        if dups:
            raise ValueError(f"duplicate keys {dups[:5]}")
        return dict(pairs)

    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh, object_pairs_hook=no_duplicates)  # JSONDecodeError is a ValueError
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object of name -> int id")
    return raw


def _is_weapon_key(key: str) -> bool:
    return re.fullmatch(r"weapon_id_[0-9]+", key) is not None


def check_same_tokens(a: Mapping[str, int], b: Mapping[str, int]) -> None:
    """Raise if two vocabularies hold different token sets (ids may differ)."""
    missing, extra = set(a) - set(b), set(b) - set(a)
    if missing or extra:
        raise ValueError(f"vocabularies differ: missing {sorted(missing)}, extra {sorted(extra)}")
