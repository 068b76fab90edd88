"""Tests of splat_core.domain.vocab: the 140-token ability vocabulary and the weapon vocabulary.

Expected values are written out here from the game rules (domain.md §1.1, §1.2) and the
reference checkpoint fixture, not taken from the module under test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from splat_core.domain.vocab import (
    NULL,
    PAD,
    Vocab,
    WeaponVocab,
    canonical_tokens,
    check_same_tokens,
    content_tokens,
    is_content_token,
    rung_token,
    token_info,
)
from tests.helpers import FIXTURE, MAIN_ONLY, RUNGS, STANDARD

# The order of the reference checkpoint's vocab.json (fixture README): main-only 0-11,
# family rungs 12-137, <NULL> 138, <PAD> 139.
EXPECTED_ORDER = MAIN_ONLY + [f"{f}_{r}" for f in STANDARD for r in RUNGS] + ["<NULL>", "<PAD>"]

FIXTURE_WEAPON_IDS = [0, 1, 10, 11, 20, 21, 30, 31, 40, 41, 200, 201, 210]
FIXTURE_WEAPON_IDS += [1000, 1001, 1100, 2000, 2010, 3000, 4000, 5000, 5010, 6000, 7010, 8000, 8010]


@pytest.fixture
def fixture_dir() -> Path:
    return FIXTURE


# ---------------------------------------------------------------------------------------------
# canonical vocabulary


def test_canonical_tokens_match_the_reference_checkpoint_fixture(fixture_dir: Path) -> None:
    raw = json.loads((fixture_dir / "vocab.json").read_text(encoding="utf-8"))
    expected = {t: i for i, t in enumerate(canonical_tokens())}
    assert expected == raw
    # Same order too (ids ascend with position).
    assert [t for t, _ in sorted(raw.items(), key=lambda kv: kv[1])] == canonical_tokens()


def test_canonical_vocab_equals_fixture_vocab(fixture_dir: Path) -> None:
    loaded = Vocab.from_json(fixture_dir / "vocab.json")
    assert loaded.token_to_id == Vocab.canonical().token_to_id
    assert loaded.pad_id == 139
    assert loaded.null_id == 138


def test_canonical_tokens_written_out() -> None:
    assert canonical_tokens() == EXPECTED_ORDER


def test_token_counts() -> None:
    content = content_tokens()
    assert len(content) == 138 == 12 + 14 * 9
    assert len(set(content)) == 138
    assert NULL not in content and PAD not in content
    tokens = canonical_tokens()
    assert len(tokens) == 140
    assert len(set(tokens)) == 140
    assert tokens[-2:] == ["<NULL>", "<PAD>"]


def test_main_only_tokens_are_bare_and_no_other_rungs_exist() -> None:
    tokens = set(canonical_tokens())
    for a in MAIN_ONLY:
        assert a in tokens
        assert f"{a}_10" not in tokens
    for f in STANDARD:
        assert f not in tokens
        for r in range(0, 60):
            assert (f"{f}_{r}" in tokens) == (r in RUNGS)


def test_canonical_vocab_properties() -> None:
    v = Vocab.canonical()
    assert len(v) == 140
    assert v.pad_id == 139
    assert v.null_id == 138
    assert v.content_ids() == list(range(138))
    assert v.id_to_token[0] == "comeback"
    assert v.id_to_token[12] == "ink_recovery_up_3"
    assert v.id_to_token[137] == "swim_speed_up_57"


def test_rung_token_and_token_info() -> None:
    assert rung_token("swim_speed_up", 12) == "swim_speed_up_12"
    info = token_info("swim_speed_up_12")
    assert (info.token, info.ability, info.rung, info.main_only) == (
        "swim_speed_up_12",
        "swim_speed_up",
        12,
        False,
    )
    info = token_info("stealth_jump")
    assert (info.ability, info.rung, info.main_only) == ("stealth_jump", None, True)
    for t in EXPECTED_ORDER[:-2]:
        assert is_content_token(t)
    for t in ["<PAD>", "<NULL>", "<MASK>", "swim_speed_up", "swim_speed_up_10", "stealth_jump_10"]:
        assert not is_content_token(t)


@pytest.mark.parametrize("bad", ["swim_speed_up_10", "stealth_jump_10", "<PAD>", "foo"])
def test_token_info_unknown_names_the_token(bad: str) -> None:
    with pytest.raises(KeyError, match=re.escape(repr(bad))):
        token_info(bad)


# ---------------------------------------------------------------------------------------------
# Vocab validation


def _canonical_dict() -> dict[str, int]:
    return {t: i for i, t in enumerate(EXPECTED_ORDER)}


def test_vocab_rejects_duplicate_ids() -> None:
    d = _canonical_dict()
    d["haunt"] = d["comeback"]
    with pytest.raises(ValueError, match="same id"):
        Vocab(d)


def test_vocab_rejects_non_contiguous_ids() -> None:
    d = _canonical_dict()
    d["<PAD>"] = 500
    with pytest.raises(ValueError, match="contiguous"):
        Vocab(d)
    with pytest.raises(ValueError, match="contiguous"):
        Vocab({"comeback": 1, "<PAD>": 2})


def test_vocab_rejects_unknown_tokens() -> None:
    d = _canonical_dict()
    d["swim_speed_up_41"] = len(d)
    with pytest.raises(ValueError, match="swim_speed_up_41"):
        Vocab(d)
    with pytest.raises(ValueError, match="weapon_id_8000"):
        Vocab({"<PAD>": 0, "weapon_id_8000": 1})


def test_vocab_rejects_missing_pad() -> None:
    d = {t: i for i, t in enumerate(EXPECTED_ORDER[:-1])}  # no <PAD>
    with pytest.raises(ValueError, match="<PAD>"):
        Vocab(d)


def test_vocab_without_null_is_allowed() -> None:
    v = Vocab({"comeback": 0, "swim_speed_up_3": 1, "<PAD>": 2})
    assert v.null_id is None
    assert v.pad_id == 2
    assert v.content_ids() == [0, 1]


def test_vocab_from_json_rejects_non_mapping(tmp_path: Path) -> None:
    p = tmp_path / "vocab.json"
    p.write_text(json.dumps(EXPECTED_ORDER), encoding="utf-8")
    with pytest.raises(ValueError, match="JSON object"):
        Vocab.from_json(p)
    p.write_text(json.dumps({"<PAD>": "0"}), encoding="utf-8")
    with pytest.raises(ValueError, match="JSON object"):
        Vocab.from_json(p)


def test_vocab_json_round_trip_keeps_a_non_canonical_order(tmp_path: Path) -> None:
    order = list(reversed(EXPECTED_ORDER))
    d = {t: i for i, t in enumerate(order)}
    v = Vocab(d)
    p = tmp_path / "vocab.json"
    v.to_json(p)
    back = Vocab.from_json(p)
    assert back.token_to_id == d
    assert back.pad_id == 0
    assert back.null_id == 1
    assert back.decode(range(3)) == ["<PAD>", "<NULL>", "swim_speed_up_57"]


def test_encode_decode_round_trip() -> None:
    v = Vocab.canonical()
    tokens = ["stealth_jump", "swim_speed_up_3", "swim_speed_up_6", "<NULL>", "<PAD>"]
    ids = v.encode(tokens)
    assert ids == [11, 12 + 13 * 9, 12 + 13 * 9 + 1, 138, 139]
    assert v.decode(ids) == tokens
    assert v.decode(range(140)) == EXPECTED_ORDER
    assert v.encode(EXPECTED_ORDER) == list(range(140))


def test_encode_error_names_the_bad_token() -> None:
    v = Vocab.canonical()
    with pytest.raises(KeyError, match="swim_speed_up_41"):
        v.encode(["swim_speed_up_3", "swim_speed_up_41"])


@pytest.mark.parametrize("bad", [140, -1, 1000])
def test_decode_error_names_the_bad_id(bad: int) -> None:
    v = Vocab.canonical()
    with pytest.raises(KeyError, match=rf"token id {bad} is not in the vocabulary"):
        v.decode([0, bad])


def test_check_same_tokens() -> None:
    a = _canonical_dict()
    b = {t: i for i, t in enumerate(reversed(EXPECTED_ORDER))}
    check_same_tokens(a, b)  # same tokens, different ids: fine
    c = dict(a)
    del c["haunt"]
    with pytest.raises(ValueError, match="haunt"):
        check_same_tokens(a, c)


# ---------------------------------------------------------------------------------------------
# WeaponVocab


def test_weapon_vocab_fixture(fixture_dir: Path) -> None:
    raw = json.loads((fixture_dir / "weapon_vocab.json").read_text(encoding="utf-8"))
    wv = WeaponVocab.from_json(fixture_dir / "weapon_vocab.json")
    assert len(wv) == 26
    assert wv.key_to_index == raw
    assert wv.weapon_ids == FIXTURE_WEAPON_IDS
    assert wv.key_to_index == {f"weapon_id_{w}": i for i, w in enumerate(FIXTURE_WEAPON_IDS)}
    assert wv.index_of(8000) == 24
    assert wv.index_of(5000) == 20


def test_weapon_vocab_round_trip(tmp_path: Path) -> None:
    ids = [8000, 5000, 1111, 0, 40]
    wv = WeaponVocab.from_weapon_ids(ids)
    assert wv.key_to_index == {
        "weapon_id_8000": 0,
        "weapon_id_5000": 1,
        "weapon_id_1111": 2,
        "weapon_id_0": 3,
        "weapon_id_40": 4,
    }
    assert wv.weapon_ids == ids
    assert [wv.index_of(w) for w in ids] == list(range(5))
    p = tmp_path / "weapon_vocab.json"
    wv.to_json(p)
    back = WeaponVocab.from_json(p)
    assert back.key_to_index == wv.key_to_index
    assert back.weapon_ids == ids


def test_weapon_vocab_index_of_unknown_names_the_weapon() -> None:
    wv = WeaponVocab.from_weapon_ids([8000])
    with pytest.raises(KeyError, match="weapon 1234 "):
        wv.index_of(1234)


def test_weapon_vocab_rejects_bad_indices_and_keys(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="contiguous"):
        WeaponVocab({"weapon_id_1": 0, "weapon_id_2": 2})
    with pytest.raises(ValueError, match="contiguous"):
        WeaponVocab({"weapon_id_1": 0, "weapon_id_2": 0})
    with pytest.raises(ValueError, match="weapon_id_abc"):
        WeaponVocab({"weapon_id_abc": 0})
    with pytest.raises(ValueError, match="8000"):
        WeaponVocab({"8000": 0})
    p = tmp_path / "w.json"
    p.write_text(json.dumps([8000]), encoding="utf-8")
    with pytest.raises(ValueError, match="JSON object"):
        WeaponVocab.from_json(p)
