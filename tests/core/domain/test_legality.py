"""Tests of splat_core.domain.legality: slot-level builds, legality, AP <-> slots, full_build_ap.

Builds are drawn at slot level (for each piece a main from its main-only abilities or the
standard families, 9 subs from the standard families). Expected values are computed here
from the game rules (domain.md §2), independently of the code under test.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from splat_core.domain.legality import (
    REACHABLE_AP,
    Build,
    IllegalBuildError,
    ap_to_slots,
    full_build_ap,
    slots_to_ap,
)
from splat_core.domain.tokenizer import TokenSetError, ap_to_tokens
from tests.helpers import (
    MAIN_ONLY,
    MAIN_ONLY_BY_PIECE,
    PIECE_OF,
    PIECES,
    RUNGS,
    STANDARD,
    cumulative_token_sets,
    expected_tokens,
    slot_ap,
    slot_builds,
)

# domain.md §2, written out.
SPEC_REACHABLE = {0, 3, 6, 9, 10, 12, 13, 15, 16, 18, 19, *range(20, 40)}
SPEC_REACHABLE |= {41, 42, 44, 45, 47, 48, 51, 54, 57}

SUBS9 = ("swim_speed_up",) * 9


# ---------------------------------------------------------------------------------------------
# independent reference computations


def decompositions(value: int) -> list[tuple[int, int]]:
    """Every (mains, subs) with mains <= 3, subs <= 9 and 10*mains + 3*subs == value."""
    return [(m, s) for m in range(4) for s in range(10) if 10 * m + 3 * s == value]


def rung_window(top: int) -> range:
    """AP values whose highest rung is `top` (0: below the first rung)."""
    if top == 0:
        return range(0, 3)
    higher = [r for r in RUNGS if r > top]
    return range(top, higher[0] if higher else 58)


def is_full_build_ap(ap: dict[str, int]) -> bool:
    """Whether some legal 57-AP build has exactly this ability -> AP mapping."""
    ap = {a: v for a, v in ap.items() if v}
    main_only = [a for a in ap if a in MAIN_ONLY]
    if any(ap[a] != 10 for a in main_only):
        return False
    if len({PIECE_OF[a] for a in main_only}) != len(main_only):
        return False
    mains = subs = 0
    for a, v in ap.items():
        if a in MAIN_ONLY:
            continue
        options = decompositions(v)
        if a not in STANDARD or not options:
            return False
        m, s = options[0]
        mains, subs = mains + m, subs + s
    return mains + len(main_only) == 3 and subs == 9


def tokens_feasible(tokens: list[str]) -> bool:
    """Brute force: does a legal 57-AP build produce exactly these (cumulative) tokens?"""
    main_only = [t for t in tokens if t in MAIN_ONLY]
    tops = {}
    for f in STANDARD:
        held = [r for r in RUNGS if f"{f}_{r}" in tokens]
        if held:
            tops[f] = max(held)
    free_mains = 3 - len(main_only)
    per_family = [[d for v in rung_window(top) for d in decompositions(v)] for top in tops.values()]

    def search(i: int, m: int, s: int) -> bool:
        if m > free_mains or s > 9:
            return False
        if i == len(per_family):
            return m == free_mains and s == 9
        return any(search(i + 1, m + dm, s + ds) for dm, ds in per_family[i])

    return search(0, 0, 0)


# ---------------------------------------------------------------------------------------------
# strategies


@st.composite
def near_build_token_sets(draw: st.DrawFn) -> list[str]:
    """Tokens of a legal build with one small change: mostly near-misses, some still feasible."""
    mains, subs = draw(slot_builds())
    ap = slot_ap(mains, subs)
    tops = {a: 10 for a in ap if a in MAIN_ONLY}
    tops |= {f: max(r for r in RUNGS if r <= v) for f, v in ap.items() if f in STANDARD and v >= 3}
    kind = draw(st.sampled_from(["none", "up", "down", "add", "drop_main_only"]))
    families = sorted(f for f in tops if f in STANDARD)
    if kind in ("up", "down") and families:
        f = draw(st.sampled_from(families))
        i = RUNGS.index(tops[f]) + (1 if kind == "up" else -1)
        if i < 0:
            del tops[f]
        elif i < len(RUNGS):
            tops[f] = RUNGS[i]
    elif kind == "add":
        absent = [f for f in STANDARD if f not in tops]
        if absent:
            tops[draw(st.sampled_from(absent))] = 3
    elif kind == "drop_main_only":
        present = [a for a in MAIN_ONLY if a in tops]
        if present:
            del tops[draw(st.sampled_from(present))]
    return expected_tokens(tops)


# ---------------------------------------------------------------------------------------------
# ap_to_slots / slots_to_ap / REACHABLE_AP


@pytest.mark.parametrize(("m", "s"), [(m, s) for m in range(4) for s in range(10)])
def test_ap_to_slots_is_unique(m: int, s: int) -> None:
    value = 10 * m + 3 * s
    assert slots_to_ap(m, s) == value
    assert ap_to_slots(value) == (m, s)
    assert decompositions(value) == [(m, s)]


def test_reachable_ap_is_the_spec_list() -> None:
    computed = {10 * m + 3 * s for m in range(4) for s in range(10)}
    assert len(computed) == 40  # 4 * 10 pairs, all distinct: decomposition is unique
    assert computed == SPEC_REACHABLE
    assert set(REACHABLE_AP) == SPEC_REACHABLE


@pytest.mark.parametrize("value", sorted(set(range(0, 58)) - SPEC_REACHABLE))
def test_ap_to_slots_rejects_unreachable(value: int) -> None:
    with pytest.raises(IllegalBuildError, match=rf"^{value} AP cannot be made"):
        ap_to_slots(value)


@pytest.mark.parametrize("value", [-3, -1, 58, 60, 61, 67, 100])
def test_ap_to_slots_rejects_out_of_range(value: int) -> None:
    with pytest.raises(IllegalBuildError, match=re.escape(f"{value} AP cannot be made")):
        ap_to_slots(value)


@pytest.mark.parametrize("value", [10.0, True, "10", None])
def test_ap_to_slots_rejects_non_integers(value: object) -> None:
    with pytest.raises(ValueError, match="AP must be an integer"):
        ap_to_slots(value)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Build: properties


@given(slot_builds())
def test_build_ap_sums_to_57(build: tuple[tuple[str, ...], tuple[str, ...]]) -> None:
    mains, subs = build
    b = Build(mains, subs)
    ap = b.ap()
    assert ap == slot_ap(mains, subs)
    assert sum(ap.values()) == 57
    assert b.tokens() == expected_tokens(ap)


@given(slot_builds())
def test_from_ap_round_trip(build: tuple[tuple[str, ...], tuple[str, ...]]) -> None:
    mains, subs = build
    b = Build(mains, subs)
    again = Build.from_ap(b.ap())
    assert again.ap() == b.ap()
    # Main-only abilities stay on their own piece.
    for piece, a in zip(PIECES, again.mains, strict=True):
        if a in MAIN_ONLY:
            assert PIECE_OF[a] == piece
    assert sorted(again.mains) == sorted(mains)
    assert sorted(again.subs) == sorted(subs)


@given(slot_builds(), st.randoms(use_true_random=False))
def test_full_build_ap_of_build_tokens(
    build: tuple[tuple[str, ...], tuple[str, ...]], rnd: random.Random
) -> None:
    b = Build(*build)
    tokens = expected_tokens(slot_ap(*build))
    assert b.tokens() == tokens
    shuffled = list(tokens)
    rnd.shuffle(shuffled)
    for toks in (tokens, shuffled):
        ap = full_build_ap(toks)
        assert sum(ap.values()) == 57
        assert ap_to_tokens(ap) == tokens
        assert expected_tokens(ap) == tokens
        assert is_full_build_ap(ap)
        assert Build.from_ap(ap).ap() == ap


@given(slot_builds())
def test_tokens_per_full_build_between_8_and_15(
    build: tuple[tuple[str, ...], tuple[str, ...]],
) -> None:
    assert 8 <= len(Build(*build).tokens()) <= 15


@given(st.one_of(cumulative_token_sets(), near_build_token_sets()))
def test_full_build_ap_agrees_with_brute_force(tokens: list[str]) -> None:
    if tokens_feasible(tokens):
        ap = full_build_ap(tokens)
        assert is_full_build_ap(ap)
        assert expected_tokens(ap) == tokens
    else:
        with pytest.raises(IllegalBuildError, match="no legal 57-AP build has these tokens"):
            full_build_ap(tokens)


def _slot_patterns(mains: int, subs: int, families: int):
    """Every multiset of per-family (mains, subs) splits of `mains` mains and `subs` subs."""

    def rec(m: int, s: int, prev: tuple[int, int], acc: list[tuple[int, int]]):
        if m == 0 and s == 0:
            yield list(acc)
            return
        if len(acc) == families:
            return
        for dm, ds in product(range(m + 1), range(s + 1)):
            if (dm, ds) == (0, 0) or (dm, ds) > prev:
                continue
            acc.append((dm, ds))
            yield from rec(m - dm, s - ds, (dm, ds), acc)
            acc.pop()

    yield from rec(mains, subs, (99, 99), [])


def test_token_count_range_over_every_build_shape() -> None:
    """Exhaustive over build shapes: the token count of a full build is 8..15, both attained."""
    counts: Counter[int] = Counter()
    for k in range(4):  # number of main-only abilities
        main_only = [MAIN_ONLY_BY_PIECE[p][0] for p in PIECES[:k]]
        for pattern in _slot_patterns(3 - k, 9, len(STANDARD)):
            fams = STANDARD[: len(pattern)]
            mains = main_only + [
                f for f, (m, _) in zip(fams, pattern, strict=True) for _ in range(m)
            ]
            subs = [f for f, (_, s) in zip(fams, pattern, strict=True) for _ in range(s)]
            b = Build(tuple(mains), tuple(subs))
            n = len(b.tokens())
            expected = k + sum(sum(r <= 10 * m + 3 * s for r in RUNGS) for m, s in pattern)
            assert n == expected
            counts[n] += 1
    assert min(counts) == 8
    assert max(counts) == 15
    assert set(counts) == set(range(8, 16))


def test_token_count_extremes() -> None:
    # 9: one family everywhere (all nine rungs).
    assert len(Build(("swim_speed_up",) * 3, SUBS9).tokens()) == 9
    # 8: three main-only + 27 AP in one family (rungs 3..21).
    b = Build(("comeback", "haunt", "stealth_jump"), SUBS9)
    assert b.tokens() == ["comeback", "haunt", "stealth_jump"] + [
        f"swim_speed_up_{r}" for r in (3, 6, 12, 15, 21)
    ]
    # 8: one main-only + 47 AP in one family (rungs 3..38).
    b = Build(("comeback", "swim_speed_up", "swim_speed_up"), SUBS9)
    assert len(b.tokens()) == 1 + 7
    # 8: two main-only + 37 AP in one family (rungs 3..29).
    b = Build(("comeback", "haunt", "swim_speed_up"), SUBS9)
    assert len(b.tokens()) == 2 + 6
    # 15: three families at main + 2 subs (16 AP: rungs 3, 6, 12, 15) and three at one sub.
    fams = ("ink_saver_main", "run_speed_up", "swim_speed_up")
    singles = ("quick_respawn", "special_saver", "sub_power_up")
    b = Build(fams, tuple(f for f in fams for _ in range(2)) + singles)
    assert b.ap() == {**{f: 16 for f in fams}, **{f: 3 for f in singles}}
    assert len(b.tokens()) == 3 * 4 + 3 * 1 == 15


# ---------------------------------------------------------------------------------------------
# Build: legality errors


@pytest.mark.parametrize(
    ("mains", "subs", "message"),
    [
        (
            ("stealth_jump", "swim_speed_up", "swim_speed_up"),
            SUBS9,
            "stealth_jump is main-only for the shoes, not the head",
        ),
        (
            ("swim_speed_up", "comeback", "swim_speed_up"),
            SUBS9,
            "comeback is main-only for the head, not the clothes",
        ),
        (
            ("swim_speed_up", "swim_speed_up", "haunt"),
            SUBS9,
            "haunt is main-only for the clothes, not the shoes",
        ),
        (
            ("comeback", "haunt", "stealth_jump"),
            ("swim_speed_up",) * 8 + ("ninja_squid",),
            "ninja_squid is main-only and cannot be a sub (sub 8)",
        ),
        (
            ("comeback", "haunt", "stealth_jump"),
            ("comeback",) + ("swim_speed_up",) * 8,
            "comeback is main-only and cannot be a sub (sub 0)",
        ),
        (
            ("swim_speed", "swim_speed_up", "swim_speed_up"),
            SUBS9,
            "unknown ability 'swim_speed' on the head main",
        ),
        (
            ("swim_speed_up", "swim_speed_up", "swim_speed_up_3"),
            SUBS9,
            "unknown ability 'swim_speed_up_3' on the shoes main",
        ),
        (
            ("swim_speed_up",) * 3,
            ("swim_speed_up",) * 4 + ("<PAD>",) + ("swim_speed_up",) * 4,
            "unknown ability '<PAD>' in sub 4",
        ),
        (("swim_speed_up",) * 2, SUBS9, "a build has 3 mains, got 2"),
        (("swim_speed_up",) * 4, SUBS9, "a build has 3 mains, got 4"),
        ((), SUBS9, "a build has 3 mains, got 0"),
        (("swim_speed_up",) * 3, ("swim_speed_up",) * 8, "a build has 9 subs, got 8"),
        (("swim_speed_up",) * 3, ("swim_speed_up",) * 10, "a build has 9 subs, got 10"),
    ],
)
def test_illegal_builds_say_what_is_wrong(
    mains: tuple[str, ...], subs: tuple[str, ...], message: str
) -> None:
    with pytest.raises(IllegalBuildError, match=re.escape(message)):
        Build(mains, subs)  # type: ignore[arg-type]


def test_illegal_build_error_is_a_value_error() -> None:
    assert issubclass(IllegalBuildError, ValueError)


def test_every_main_only_is_legal_on_its_own_piece_only() -> None:
    for a in MAIN_ONLY:
        for i, piece in enumerate(PIECES):
            mains = ["swim_speed_up"] * 3
            mains[i] = a
            if PIECE_OF[a] == piece:
                b = Build(tuple(mains), SUBS9)  # type: ignore[arg-type]
                assert b.ap()[a] == 10
            else:
                with pytest.raises(IllegalBuildError, match=f"{a} is main-only for the"):
                    Build(tuple(mains), SUBS9)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Build.from_ap errors and edge cases


@pytest.mark.parametrize(
    ("ap", "exc", "message"),
    [
        ({"swim_speed_up": 54}, IllegalBuildError, "a full build has 57 AP, got 54"),
        ({}, IllegalBuildError, "a full build has 57 AP, got 0"),
        ({"comeback": 10, "swim_speed_up": 44}, IllegalBuildError, "got 54"),
        ({"swim_speed_up": 58}, ValueError, "total AP 58 exceeds"),
        ({"swim_speed_up": 57.0}, ValueError, "AP must be an integer, got 57.0"),
        ({"comeback": 3, "swim_speed_up": 54}, ValueError, "comeback is main-only"),
        (
            {"comeback": 10, "tenacity": 10, "swim_speed_up": 37},
            ValueError,
            "comeback and tenacity are both main-only abilities for the head",
        ),
        ({"swim_speed_up": 50, "ink_saver_main": 7}, IllegalBuildError, "50 AP cannot be made"),
        (
            {"swim_speed_up": 27, "ink_saver_main": 27, "run_speed_up": 3},
            IllegalBuildError,
            "AP needs 0 standard mains and 19 subs, but 3 mains and 9 subs are free",
        ),
        ({"foo": 57}, ValueError, "unknown abilities: 'foo'"),
    ],
)
def test_from_ap_errors(ap: dict, exc: type[Exception], message: str) -> None:
    with pytest.raises(exc, match=re.escape(message)):
        Build.from_ap(ap)


def test_from_ap_edge_cases() -> None:
    b = Build.from_ap({"swim_speed_up": 57})
    assert b.mains == ("swim_speed_up",) * 3
    assert b.subs == SUBS9

    b = Build.from_ap(
        {
            "stealth_jump": 10,
            "ninja_squid": 10,
            "comeback": 10,
            "swim_speed_up": 15,
            "run_speed_up": 12,
        }
    )
    assert b.mains == ("comeback", "ninja_squid", "stealth_jump")
    assert Counter(b.subs) == {"swim_speed_up": 5, "run_speed_up": 4}

    # A main-only ability at 0 AP is just absent.
    b = Build.from_ap({"haunt": 0, "swim_speed_up": 57})
    assert b.ap() == {"swim_speed_up": 57}

    b = Build.from_ap({"haunt": 10, "swim_speed_up": 20, "ink_saver_main": 27})
    assert b.mains[1] == "haunt"
    assert b.ap() == {"haunt": 10, "swim_speed_up": 20, "ink_saver_main": 27}


# ---------------------------------------------------------------------------------------------
# full_build_ap: acceptance and rejection


def _rungs(family: str, top: int) -> list[str]:
    return [f"{family}_{r}" for r in RUNGS if r <= top]


def test_full_build_ap_one_family_at_57() -> None:
    assert full_build_ap(_rungs("swim_speed_up", 57)) == {"swim_speed_up": 57}


def test_full_build_ap_three_main_only_and_27_ap_spread() -> None:
    tokens = ["comeback", "ninja_squid", "stealth_jump"]
    tokens += _rungs("ink_saver_main", 12) + _rungs("swim_speed_up", 15)
    # With no main free, ink_saver_main in [12, 15) must be 12 (4 subs) and swim_speed_up
    # in [15, 21) must be 15 (5 subs) -- the only 9-sub completion.
    assert full_build_ap(tokens) == {
        "comeback": 10,
        "ninja_squid": 10,
        "stealth_jump": 10,
        "ink_saver_main": 12,
        "swim_speed_up": 15,
    }


def test_full_build_ap_three_main_only_and_27_in_one_family() -> None:
    tokens = ["tenacity", "thermal_ink", "drop_roller"] + _rungs("quick_respawn", 21)
    assert full_build_ap(tokens) == {
        "tenacity": 10,
        "thermal_ink": 10,
        "drop_roller": 10,
        "quick_respawn": 27,
    }


def test_full_build_ap_fills_up_within_the_rung_window() -> None:
    # swim_speed_up in [38, 51) and ink_saver_main in [12, 15) with 3 mains + 9 subs between
    # them: exactly two completions, 44 (2 mains + 8 subs) + 13 (main + sub) or
    # 45 (3 mains + 5 subs) + 12 (4 subs).
    tokens = _rungs("ink_saver_main", 12) + _rungs("swim_speed_up", 38)
    ap = full_build_ap(tokens)
    assert sum(ap.values()) == 57
    assert is_full_build_ap(ap)
    assert ap in (
        {"swim_speed_up": 44, "ink_saver_main": 13},
        {"swim_speed_up": 45, "ink_saver_main": 12},
    )
    assert expected_tokens(ap) == tokens


@pytest.mark.parametrize(
    "tokens",
    [
        pytest.param(["swim_speed_up_3"], id="lone-ssu3"),
        pytest.param([], id="empty"),
        pytest.param(_rungs("swim_speed_up", 51), id="ssu51-without-57"),
        pytest.param(
            [t for f in STANDARD[:4] for t in _rungs(f, 29)],
            id="four-families-at-29",
        ),
        pytest.param(
            ["comeback", "haunt", "stealth_jump"] + _rungs("swim_speed_up", 3),
            id="three-main-only-and-ssu3",
        ),
        pytest.param(
            ["comeback", "haunt", "stealth_jump"]
            + _rungs("swim_speed_up", 12)
            + _rungs("ink_saver_main", 12),
            id="three-main-only-two-at-12-leaves-one-sub",
        ),
        pytest.param(
            ["comeback", "haunt", "stealth_jump"] + _rungs("swim_speed_up", 29),
            id="rung-29-needs-a-main",
        ),
        pytest.param(["comeback", "haunt", "stealth_jump"], id="main-only-only"),
    ],
)
def test_full_build_ap_rejects_sets_no_build_yields(tokens: list[str]) -> None:
    assert not tokens_feasible(tokens)
    with pytest.raises(IllegalBuildError, match="no legal 57-AP build has these tokens"):
        full_build_ap(tokens)


def test_full_build_ap_rejection_message_lists_what_is_held() -> None:
    tokens = ["comeback"] + _rungs("swim_speed_up", 51)
    with pytest.raises(IllegalBuildError, match=re.escape("(1 main-only; swim_speed_up>=51)")):
        full_build_ap(tokens)
    with pytest.raises(IllegalBuildError, match=re.escape("(0 main-only; no standard abilities)")):
        full_build_ap([])


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (["<PAD>"], "special token <PAD> inside a build"),
        (["swim_speed_up_12"], "has swim_speed_up_12 but not swim_speed_up_3, swim_speed_up_6"),
        (["comeback", "tenacity"], "comeback and tenacity are both main-only"),
        (["swim_speed_up_3", "swim_speed_up_3"], "appears twice"),
        (["swim_speed_up_41"], "unknown token 'swim_speed_up_41'"),
    ],
)
def test_full_build_ap_rejects_illegal_token_sets(tokens: list[str], message: str) -> None:
    with pytest.raises(TokenSetError, match=re.escape(message)):
        full_build_ap(tokens)
