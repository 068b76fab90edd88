"""Between an ability -> AP mapping and ability tokens (the model's input language).

Main-only abilities are bare tokens; a standard family with AP `a` becomes the cumulative
rung tokens `<family>_<t>` for every rung t <= a.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping

from splat_core.domain.vocab import (
    FULL_AP,
    MAIN_AP,
    MAIN_ONLY,
    MAIN_ONLY_SLOT,
    RUNGS,
    SPECIAL,
    STANDARD,
    is_content_token,
    rung_token,
    token_info,
)


class TokenSetError(ValueError):
    """A token list that is malformed as a build (duplicates, gaps in rungs, clashes...).

    `kind` names the rule: special_token, unknown_token, duplicate_token, non_cumulative or
    main_only_clash. The AP total is checked by `check_ap` and `build.full_build_ap`.
    """

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def ap_to_tokens(ap: Mapping[str, int]) -> list[str]:
    """Tokens of an ability -> AP mapping (a partial build is fine; total at most 57).

    Order: main-only abilities in the reference order, then each family's rungs ascending.
    """
    check_ap(ap)
    tokens = [a for a in MAIN_ONLY if ap.get(a, 0) > 0]
    for family in STANDARD:
        value = ap.get(family, 0)
        tokens.extend(rung_token(family, r) for r in RUNGS if r <= value)
    return tokens


def check_ap(ap: Mapping[str, int]) -> None:
    """Raise ValueError unless `ap` is a plausible ability -> AP mapping."""
    unknown = [a for a in ap if a not in MAIN_ONLY_SLOT and a not in STANDARD]
    if unknown:
        raise ValueError(f"unknown abilities: {', '.join(map(repr, unknown))}")
    for ability, value in ap.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{ability}: AP must be an integer, got {value!r}")
        if value < 0:
            raise ValueError(f"{ability}: AP must not be negative, got {value}")
        if ability in MAIN_ONLY_SLOT and value not in (0, MAIN_AP):
            raise ValueError(f"{ability} is main-only: its AP is 0 or {MAIN_AP}, got {value}")
    total = sum(ap.values())
    if total > FULL_AP:
        raise ValueError(f"total AP {total} exceeds the {FULL_AP} AP of a full build")
    pieces: dict[str, str] = {}
    for ability in MAIN_ONLY:
        if ap.get(ability, 0) > 0:
            piece = MAIN_ONLY_SLOT[ability]
            if piece in pieces:
                raise ValueError(
                    f"{pieces[piece]} and {ability} are both main-only abilities for the {piece}"
                )
            pieces[piece] = ability


def check_token_set(tokens: Iterable[str]) -> list[str]:
    """Validate the tokens of one build or partial build; returns them as a list.

    Raises TokenSetError for special tokens, unknown or duplicated tokens, rungs that are
    not cumulative, and two main-only abilities for the same gear piece.
    """
    tokens = list(tokens)
    specials = [t for t in tokens if t in SPECIAL]
    if specials:
        raise TokenSetError("special_token", f"special token {specials[0]} inside a build")
    unknown = [t for t in tokens if not is_content_token(t)]
    if unknown:
        raise TokenSetError("unknown_token", f"unknown token {unknown[0]!r}")
    seen: set[str] = set()
    for t in tokens:
        if t in seen:
            raise TokenSetError("duplicate_token", f"token {t} appears twice")
        seen.add(t)
    held: dict[str, list[int]] = {}
    for t in tokens:
        info = token_info(t)
        if not info.main_only:
            held.setdefault(info.ability, []).append(info.rung)
    for family, rungs in held.items():
        top = max(rungs)
        if len(rungs) != RUNGS.index(top) + 1:  # distinct rungs: cumulative iff all lower held
            missing = [r for r in RUNGS if r < top and r not in rungs]
            raise TokenSetError(
                "non_cumulative",
                f"rungs of {family} are not cumulative: has {family}_{top} "
                f"but not {', '.join(f'{family}_{r}' for r in missing)}",
            )
    pieces: dict[str, str] = {}
    for t in tokens:
        info = token_info(t)
        if info.main_only:
            piece = MAIN_ONLY_SLOT[t]
            if piece in pieces:
                raise TokenSetError(
                    "main_only_clash",
                    f"{pieces[piece]} and {t} are both main-only abilities for the {piece}",
                )
            pieces[piece] = t
    return tokens


def tokens_to_ap(tokens: Iterable[str]) -> dict[str, int]:
    """The least AP that produces these tokens: main-only -> 10, family -> its top rung."""
    ap: dict[str, int] = {}
    for t in check_token_set(tokens):
        info = token_info(t)
        value = MAIN_AP if info.main_only else info.rung
        ap[info.ability] = max(ap.get(info.ability, 0), value)
    return ap


def top_rungs(tokens: Iterable[str]) -> dict[str, int]:
    """The highest rung held for each family (no validation; lower rungs may be absent)."""
    top: dict[str, int] = {}
    for t in tokens:
        info = token_info(t)
        if not info.main_only:
            top[info.ability] = max(top.get(info.ability, 0), info.rung)
    return top
