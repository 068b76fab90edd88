"""Slot-level gear builds: 3 mains + 9 subs, legality, and AP <-> slot decomposition."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from splat_core.domain.tokenizer import TokenSetError, ap_to_tokens, check_ap, check_token_set
from splat_core.domain.vocab import (
    FULL_AP,
    MAIN_AP,
    MAIN_ONLY_SLOT,
    N_MAINS,
    N_SUBS,
    PIECES,
    RUNGS,
    STANDARD,
    SUB_AP,
    token_info,
)


class IllegalBuildError(ValueError):
    """A build that breaks the game's rules; the message says which rule."""


def ap_to_slots(ap: int) -> tuple[int, int]:
    """The unique (mains, subs) with 10*mains + 3*subs == ap, mains <= 3, subs <= 9."""
    if isinstance(ap, bool) or not isinstance(ap, int):
        raise ValueError(f"AP must be an integer, got {ap!r}")
    for subs in range(N_SUBS + 1):
        rest = ap - SUB_AP * subs
        if rest >= 0 and rest % MAIN_AP == 0 and rest // MAIN_AP <= N_MAINS:
            return rest // MAIN_AP, subs
    raise IllegalBuildError(f"{ap} AP cannot be made from at most 3 mains (10) and 9 subs (3)")


def slots_to_ap(mains: int, subs: int) -> int:
    return MAIN_AP * mains + SUB_AP * subs


REACHABLE_AP = frozenset(slots_to_ap(m, s) for m in range(N_MAINS + 1) for s in range(N_SUBS + 1))


@dataclass(frozen=True)
class Build:
    """One full build: the main ability of head, clothes and shoes, and their 9 subs.

    `subs[3*i : 3*i+3]` are the subs of piece `PIECES[i]`.
    """

    mains: tuple[str, str, str]
    subs: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.mains) != N_MAINS:
            raise IllegalBuildError(f"a build has {N_MAINS} mains, got {len(self.mains)}")
        if len(self.subs) != N_SUBS:
            raise IllegalBuildError(f"a build has {N_SUBS} subs, got {len(self.subs)}")
        for piece, ability in zip(PIECES, self.mains, strict=True):
            if ability in MAIN_ONLY_SLOT:
                if MAIN_ONLY_SLOT[ability] != piece:
                    raise IllegalBuildError(
                        f"{ability} is main-only for the {MAIN_ONLY_SLOT[ability]}, not the {piece}"
                    )
            elif ability not in STANDARD:
                raise IllegalBuildError(f"unknown ability {ability!r} on the {piece} main")
        for i, ability in enumerate(self.subs):
            if ability in MAIN_ONLY_SLOT:
                raise IllegalBuildError(f"{ability} is main-only and cannot be a sub (sub {i})")
            if ability not in STANDARD:
                raise IllegalBuildError(f"unknown ability {ability!r} in sub {i}")

    def ap(self) -> dict[str, int]:
        """Ability -> AP (57 in all)."""
        ap: Counter[str] = Counter()
        for a in self.mains:
            ap[a] += MAIN_AP
        for a in self.subs:
            ap[a] += SUB_AP
        return dict(ap)

    def tokens(self) -> list[str]:
        return ap_to_tokens(self.ap())

    @classmethod
    def from_ap(cls, ap: Mapping[str, int]) -> Build:
        """A slot layout for a full build's AP (raises if no legal build has it)."""
        check_ap(ap)
        total = sum(ap.values())
        if total != FULL_AP:
            raise IllegalBuildError(f"a full build has {FULL_AP} AP, got {total}")
        mains: dict[str, str] = {}
        standard_mains: list[str] = []
        subs: list[str] = []
        for ability, value in ap.items():
            if value == 0:
                continue
            if ability in MAIN_ONLY_SLOT:
                mains[MAIN_ONLY_SLOT[ability]] = ability
                continue
            n_main, n_sub = ap_to_slots(value)
            standard_mains += [ability] * n_main
            subs += [ability] * n_sub
        free = [p for p in PIECES if p not in mains]
        if len(standard_mains) != len(free) or len(subs) != N_SUBS:
            raise IllegalBuildError(
                f"AP needs {len(standard_mains)} standard mains and {len(subs)} subs, "
                f"but {len(free)} mains and {N_SUBS} subs are free"
            )
        mains.update(zip(free, standard_mains, strict=True))
        return cls(tuple(mains[p] for p in PIECES), tuple(subs))


def _rung_range(top: int | None) -> range:
    """AP values whose highest rung is `top` (None: below the first rung)."""
    if top is None:
        return range(0, RUNGS[0])
    nxt = RUNGS[RUNGS.index(top) + 1] if top != RUNGS[-1] else FULL_AP + 1
    return range(top, nxt)


# For each top rung (None: family absent), the (mains, subs, AP) a family can take.
_OPTIONS = {
    top: [(*ap_to_slots(a), a) for a in _rung_range(top) if a in REACHABLE_AP]
    for top in (None, *RUNGS)
}

# Fast feasibility: the set of reachable (mains m, subs s) states is one int, bit m*32 + s.
_LANE = 32  # > 2 * 9, so a sub count never spills into the next mains lane
_VALID_STATES = sum(((1 << (N_SUBS + 1)) - 1) << (_LANE * m) for m in range(N_MAINS + 1))
_SHIFTS = {top: [_LANE * m + s for m, s, _ in opts] for top, opts in _OPTIONS.items()}


def is_full_build(tokens: Iterable[str]) -> bool:
    """True iff some legal 57-AP build yields exactly these tokens (fast; no reason given)."""
    try:
        tokens = check_token_set(tokens)
    except (TokenSetError, KeyError):
        return False
    n_main_only = 0
    tops: dict[str, int] = {}
    for t in tokens:
        info = token_info(t)
        if info.main_only:
            n_main_only += 1
        elif info.rung > tops.get(info.ability, 0):
            tops[info.ability] = info.rung
    states = 1  # (0 mains, 0 subs)
    for top in tops.values():
        reached = 0
        for shift in _SHIFTS[top]:
            reached |= states << shift
        states = reached & _VALID_STATES
    return bool(states >> (_LANE * (N_MAINS - n_main_only) + N_SUBS) & 1)


@lru_cache(maxsize=65536)
def _feasible(tops: tuple[int | None, ...], free_mains: int) -> tuple[int, ...] | None:
    """One per-family AP assignment using exactly `free_mains` mains and 9 subs, or None."""
    # DP over families; state = (mains used, subs used), value = the APs chosen so far.
    states: dict[tuple[int, int], tuple[int, ...]] = {(0, 0): ()}
    for top in tops:
        nxt: dict[tuple[int, int], tuple[int, ...]] = {}
        for (m, s), chosen in states.items():
            for dm, ds, a in _OPTIONS[top]:
                key = (m + dm, s + ds)
                if key[0] <= free_mains and key[1] <= N_SUBS and key not in nxt:
                    nxt[key] = (*chosen, a)
        states = nxt
    return states.get((free_mains, N_SUBS))


def full_build_ap(tokens: Iterable[str]) -> dict[str, int]:
    """An AP mapping of a legal 57-AP build that yields exactly these tokens.

    Raises TokenSetError / IllegalBuildError saying why no such build exists.
    """
    tokens = check_token_set(tokens)
    main_only = [t for t in tokens if token_info(t).main_only]
    tops: dict[str, int] = {}
    for t in tokens:
        info = token_info(t)
        if not info.main_only:
            tops[info.ability] = max(tops.get(info.ability, 0), info.rung)
    chosen = _feasible(tuple(tops.get(f) for f in STANDARD), N_MAINS - len(main_only))
    if chosen is None:
        held = ", ".join(f"{f}>={r}" for f, r in tops.items()) or "no standard abilities"
        raise IllegalBuildError(
            f"no legal 57-AP build has these tokens ({len(main_only)} main-only; {held})"
        )
    ap = {a: MAIN_AP for a in main_only}
    ap.update({f: a for f, a in zip(STANDARD, chosen, strict=True) if a > 0})
    return ap
