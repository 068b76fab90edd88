"""Tests of splat_core.domain.tokenizer: ability -> AP mappings <-> cumulative rung tokens.

Builds are drawn at slot level (3 mains + 9 subs) and every expected value is computed
here from the game rules (domain.md §1.2, §2), independently of the code under test.
"""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from splat_core.domain.tokenizer import (
    TokenSetError,
    ap_to_tokens,
    check_ap,
    check_token_set,
    tokens_to_ap,
    top_rungs,
)
from tests.helpers import (
    MAIN_ONLY,
    RUNGS,
    STANDARD,
    cumulative_token_sets,
    expected_tokens,
    slot_ap,
    slot_builds,
)

# ---------------------------------------------------------------------------------------------
# independent reference computations


def floor_rung(value: int) -> int:
    """The highest rung <= value, or 0 when below the first rung."""
    held = [r for r in RUNGS if r <= value]
    return held[-1] if held else 0


# ---------------------------------------------------------------------------------------------
# strategies


@st.composite
def partial_slot_builds(draw: st.DrawFn) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A legal partial build: any subset of a full build's slots."""
    mains, subs = draw(slot_builds())
    keep = draw(st.lists(st.booleans(), min_size=12, max_size=12))
    return (
        tuple(a for a, k in zip(mains, keep[:3], strict=True) if k),
        tuple(a for a, k in zip(subs, keep[3:], strict=True) if k),
    )


# ---------------------------------------------------------------------------------------------
# ap_to_tokens: examples


def test_ap_to_tokens_examples_from_the_spec() -> None:
    ssu = "swim_speed_up"
    assert ap_to_tokens({ssu: 12}) == [f"{ssu}_3", f"{ssu}_6", f"{ssu}_12"]
    assert ap_to_tokens({ssu: 13}) == [f"{ssu}_3", f"{ssu}_6", f"{ssu}_12"]
    assert ap_to_tokens({ssu: 57}) == [f"{ssu}_{r}" for r in RUNGS]
    assert ap_to_tokens({ssu: 2}) == []
    assert ap_to_tokens({ssu: 0}) == []
    assert ap_to_tokens({}) == []
    assert ap_to_tokens({"stealth_jump": 10}) == ["stealth_jump"]
    assert ap_to_tokens({"stealth_jump": 0}) == []


def test_ap_to_tokens_orders_main_only_then_families_in_reference_order() -> None:
    ap = {
        "swim_speed_up": 6,
        "stealth_jump": 10,
        "ink_saver_main": 3,
        "comeback": 10,
        "ninja_squid": 10,
    }
    assert ap_to_tokens(ap) == [
        "comeback",
        "ninja_squid",
        "stealth_jump",
        "ink_saver_main_3",
        "swim_speed_up_3",
        "swim_speed_up_6",
    ]


@pytest.mark.parametrize("value", range(0, 58))
def test_ap_to_tokens_rungs_for_every_ap_value(value: int) -> None:
    expected = [f"run_speed_up_{r}" for r in RUNGS if r <= value]
    assert ap_to_tokens({"run_speed_up": value}) == expected


# ---------------------------------------------------------------------------------------------
# properties over legal builds


@given(slot_builds())
def test_full_build_tokens_floor_ap_to_rungs(
    build: tuple[tuple[str, ...], tuple[str, ...]],
) -> None:
    mains, subs = build
    ap = slot_ap(mains, subs)
    assert sum(ap.values()) == 57
    tokens = ap_to_tokens(ap)
    assert tokens == expected_tokens(ap)

    back = tokens_to_ap(tokens)
    expected = {}
    for a, v in ap.items():
        if a in MAIN_ONLY:
            expected[a] = 10
        elif floor_rung(v) > 0:
            expected[a] = floor_rung(v)
    assert back == expected
    for a, v in back.items():
        assert v <= ap[a]
        if a not in MAIN_ONLY:
            assert v in RUNGS
            nxt = [r for r in RUNGS if r > v]
            assert not nxt or ap[a] < nxt[0]


@given(partial_slot_builds())
def test_partial_build_tokens_floor_ap_to_rungs(
    build: tuple[tuple[str, ...], tuple[str, ...]],
) -> None:
    ap = slot_ap(*build)
    assert sum(ap.values()) <= 57
    tokens = ap_to_tokens(ap)
    assert tokens == expected_tokens(ap)
    back = tokens_to_ap(tokens)
    expected = {a: 10 for a in ap if a in MAIN_ONLY}
    expected |= {a: floor_rung(v) for a, v in ap.items() if a in STANDARD and v >= 3}
    assert back == expected


@given(partial_slot_builds(), st.randoms(use_true_random=False))
def test_tokens_round_trip_through_ap(
    build: tuple[tuple[str, ...], tuple[str, ...]], rnd: random.Random
) -> None:
    tokens = expected_tokens(slot_ap(*build))
    assert check_token_set(tokens) == tokens
    assert ap_to_tokens(tokens_to_ap(tokens)) == tokens
    shuffled = list(tokens)
    rnd.shuffle(shuffled)
    assert tokens_to_ap(shuffled) == tokens_to_ap(tokens)
    assert ap_to_tokens(tokens_to_ap(shuffled)) == tokens


@given(cumulative_token_sets())
def test_tokens_to_ap_is_the_least_ap(tokens: list[str]) -> None:
    ap = tokens_to_ap(tokens)
    expected = {t: 10 for t in tokens if t in MAIN_ONLY}
    for f in STANDARD:
        held = [r for r in RUNGS if f"{f}_{r}" in tokens]
        if held:
            expected[f] = max(held)
    assert ap == expected
    assert top_rungs(tokens) == {f: v for f, v in expected.items() if f in STANDARD}
    if sum(ap.values()) <= 57:
        assert ap_to_tokens(ap) == tokens
    else:
        # More than any build holds: ap_to_tokens refuses rather than corrupting.
        with pytest.raises(ValueError, match="exceeds the 57 AP"):
            ap_to_tokens(ap)


@given(slot_builds())
def test_tokens_per_full_build_between_8_and_15(
    build: tuple[tuple[str, ...], tuple[str, ...]],
) -> None:
    n = len(ap_to_tokens(slot_ap(*build)))
    assert 8 <= n <= 15


def test_top_rungs_does_not_validate() -> None:
    assert top_rungs(["swim_speed_up_12", "comeback", "ink_saver_main_3"]) == {
        "swim_speed_up": 12,
        "ink_saver_main": 3,
    }
    assert top_rungs([]) == {}


# ---------------------------------------------------------------------------------------------
# check_ap errors


def test_check_ap_accepts_partial_and_full_builds() -> None:
    check_ap({})
    check_ap({"swim_speed_up": 57})
    check_ap({"comeback": 10, "haunt": 10, "stealth_jump": 10, "swim_speed_up": 27})
    check_ap({"comeback": 0, "tenacity": 10, "swim_speed_up": 1})


@pytest.mark.parametrize(
    ("ap", "message"),
    [
        ({"swim_speed_up": 10.0}, "swim_speed_up: AP must be an integer, got 10.0"),
        ({"swim_speed_up": 3.5}, "swim_speed_up: AP must be an integer, got 3.5"),
        ({"swim_speed_up": "10"}, "swim_speed_up: AP must be an integer, got '10'"),
        ({"swim_speed_up": True}, "swim_speed_up: AP must be an integer, got True"),
        ({"comeback": False}, "comeback: AP must be an integer, got False"),
        ({"swim_speed_up": -3}, "swim_speed_up: AP must not be negative, got -3"),
        ({"swim_speed_up": 60, "ink_saver_main": -3}, "must not be negative, got -3"),
        ({"swim_speed_up": 58}, "total AP 58 exceeds the 57 AP"),
        ({"swim_speed_up": 30, "ink_saver_main": 30}, "total AP 60 exceeds the 57 AP"),
        ({"swim_speed_up": 51, "comeback": 10}, "total AP 61 exceeds"),
        ({"comeback": 3}, "comeback is main-only: its AP is 0 or 10, got 3"),
        ({"stealth_jump": 20}, "stealth_jump is main-only: its AP is 0 or 10, got 20"),
        ({"comeback": 10, "tenacity": 10}, "comeback and tenacity are both main-only"),
        ({"haunt": 10, "thermal_ink": 10}, "for the clothes"),
        ({"drop_roller": 10, "stealth_jump": 10}, "for the shoes"),
        ({"swim_speed": 10}, "unknown abilities: 'swim_speed'"),
        ({"swim_speed_up_3": 3}, "unknown abilities: 'swim_speed_up_3'"),
        ({"<PAD>": 0}, "unknown abilities: '<PAD>'"),
    ],
)
def test_check_ap_errors_say_what_is_wrong(ap: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        check_ap(ap)
    with pytest.raises(ValueError, match=re.escape(message)):
        ap_to_tokens(ap)


# ---------------------------------------------------------------------------------------------
# check_token_set / tokens_to_ap errors


def test_check_token_set_accepts_legal_lists() -> None:
    assert check_token_set([]) == []
    toks = ["swim_speed_up_6", "comeback", "swim_speed_up_3"]
    assert check_token_set(iter(toks)) == toks  # order kept, iterables accepted
    assert check_token_set(["comeback", "haunt", "stealth_jump"]) == [
        "comeback",
        "haunt",
        "stealth_jump",
    ]


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (["<PAD>"], "special token <PAD> inside a build"),
        (["swim_speed_up_3", "<NULL>"], "special token <NULL> inside a build"),
        (["<MASK>"], "unknown token '<MASK>'"),
        (["swim_speed_up_10"], "unknown token 'swim_speed_up_10'"),
        (["swim_speed_up_41"], "unknown token 'swim_speed_up_41'"),
        (["stealth_jump_10"], "unknown token 'stealth_jump_10'"),
        (["swim_speed_up"], "unknown token 'swim_speed_up'"),
        (["weapon_id_8000"], "unknown token 'weapon_id_8000'"),
        (["swim_speed_up_3", "swim_speed_up_3"], "token swim_speed_up_3 appears twice"),
        (["comeback", "comeback"], "token comeback appears twice"),
        (
            ["swim_speed_up_3", "swim_speed_up_12"],
            "rungs of swim_speed_up are not cumulative: has swim_speed_up_12 "
            "but not swim_speed_up_6",
        ),
        (["swim_speed_up_6"], "has swim_speed_up_6 but not swim_speed_up_3"),
        (
            ["ink_saver_main_57"],
            "has ink_saver_main_57 but not ink_saver_main_3, ink_saver_main_6, "
            "ink_saver_main_12, ink_saver_main_15, ink_saver_main_21, ink_saver_main_29, "
            "ink_saver_main_38, ink_saver_main_51",
        ),
        (
            ["comeback", "tenacity"],
            "comeback and tenacity are both main-only abilities for the head",
        ),
        (
            ["haunt", "swim_speed_up_3", "ninja_squid"],
            "haunt and ninja_squid are both main-only abilities for the clothes",
        ),
        (["object_shredder", "drop_roller"], "for the shoes"),
    ],
)
def test_check_token_set_errors_say_what_is_wrong(tokens: list[str], message: str) -> None:
    with pytest.raises(TokenSetError, match=re.escape(message)):
        check_token_set(tokens)
    with pytest.raises(TokenSetError, match=re.escape(message)):
        tokens_to_ap(tokens)


def test_token_set_error_is_a_value_error() -> None:
    assert issubclass(TokenSetError, ValueError)
