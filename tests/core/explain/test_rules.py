"""The rule language: parsing (with file:column errors), canonical text, sentences, and
evaluation checked against a per-sample oracle written from the tokens."""

from __future__ import annotations

import numpy as np
import pytest

from splat_core.builds.sample_meta import SampleMeta
from splat_core.domain.vocab import MAIN_ONLY, STANDARD, is_content_token, token_info
from splat_core.domain.weapons import weapons_by_id
from splat_core.explain.inputs import InputTable, condition_vocabulary
from splat_core.explain.rules import Absent, AtLeast, Has, Kit, Rule, RuleError, parse


@pytest.mark.parametrize(
    "text",
    [
        "swim_speed_up >= 21",
        "no quick_respawn",
        "ninja_squid & class = roller",
        "run_speed_up >= 15 & class = splatling | comeback",
        'class in {dualies, splatana} | sub = "Splat Bomb"',
        'weapon = "Splattershot Jr." & no stealth_jump',
        'no comeback | special_power_up >= 57 & special = "Tenta Missiles"',
    ],
)
def test_canonical_text_parses_back_to_the_same_rule(text):
    rule = parse(text)
    assert parse(str(rule)) == rule
    assert str(parse(str(rule))) == str(rule)


def test_words_sets_and_ids():
    a = parse("Swim_Speed_Up >= 20 and CLASS = Roller or class = brush")
    assert a.terms == ((AtLeast("swim_speed_up", 21), Kit("class", ("roller",))),
                       (Kit("class", ("brush",)),))  # fmt: skip
    # kit conditions standing alone as terms merge into one set; weapon by name or id
    b = parse("class = brush | class = roller | weapon = 10 | weapon = splattershot_jr.")
    assert b.terms == ((Kit("class", ("brush", "roller")),), (Kit("weapon", ("10",)),))
    assert parse("sub = splat_bomb").terms == ((Kit("sub", ("Splat Bomb",)),),)


def test_rung_thresholds_round_up_to_the_next_rung():
    # the highest rung held is the AP, so ">= 20" holds exactly when ">= 21" does
    assert parse("ink_saver_main >= 1").terms[0][0] == AtLeast("ink_saver_main", 3)
    assert parse("ink_saver_main >= 57").terms[0][0] == AtLeast("ink_saver_main", 57)


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("swim_sped_up >= 21", "rule:1:", "did you mean swim_speed_up"),
        ("swim_speed_up 21", "rule:15:", "expected '>= AP'"),
        ("swim_speed_up >= 0", "rule:18:", "AP must be within 1..57"),
        ("swim_speed_up >= 60", "rule:18:", "AP must be within 1..57"),
        ("swim_speed_up >= x", "rule:18:", "expected an AP number"),
        ("class = rollr", "rule:9:", "did you mean 'roller'"),
        ("class in {roller, brush", "rule:24:", "ends too early"),  # one past the end
        ("comeback &", "rule:11:", "ends too early"),
        ("comeback comeback", "rule:10:", "expected '&' or '|'"),
        ("   ", "rule:1:", "empty"),
        ("comeback ; haunt", "rule:10:", "unexpected ';'"),
        ("comeback | haunt | tenacity | thermal_ink | ninja_squid", "rule:1:",
         "at most 4 terms"),
    ],
)  # fmt: skip
def test_errors_name_the_column(text, where, says):
    with pytest.raises(RuleError) as e:
        parse(text)
    assert str(e.value).startswith(where) and says in str(e.value)


def test_sentences_use_the_game_names():
    assert parse("run_speed_up >= 21 & class = splatling").sentence() == (
        "Run Speed Up at 21 AP or more, on a Splatling"
    )
    assert parse("no ink_saver_sub | class in {dualies, splatana}").sentence() == (
        "No Ink Saver (Sub); or on Dualies or a Splatana"
    )
    assert parse('last_ditch_effort & weapon = 10 & sub = "Splat Bomb"').sentence() == (
        "Last-Ditch Effort, on the Splattershot Jr., with Splat Bomb as sub"
    )


def test_rule_structure_is_bounded():
    with pytest.raises(RuleError):
        Rule(())
    with pytest.raises(RuleError, match="at most 4 conditions"):
        Rule(((Has("comeback"),) * 5,))


# --- evaluation against an oracle ------------------------------------------------------------


def _oracle(meta: SampleMeta, s: int) -> dict:
    """What the language means, from one sample's tokens."""
    top = dict.fromkeys(STANDARD, 0)
    mains = set()
    for t in meta.vocab.decode(meta.tokens(s).tolist()):
        if not is_content_token(t):
            continue
        info = token_info(t)
        if info.main_only:
            mains.add(info.ability)
        else:
            top[info.ability] = max(top[info.ability], info.rung)
    w = weapons_by_id()[meta.weapon_vocab.weapon_ids[meta.weapon[s]]]
    return {"top": top, "mains": mains, "weapon": str(w.weapon_id), "class": w.weapon_class,
            "sub": w.sub, "special": w.special}  # fmt: skip


def _holds(c, o: dict) -> bool:
    if isinstance(c, AtLeast):
        return o["top"][c.ability] >= c.ap
    if isinstance(c, Has):
        return c.ability in o["mains"]
    if isinstance(c, Absent):
        return c.ability not in o["mains"] if c.ability in MAIN_ONLY else o["top"][c.ability] == 0
    return o[c.kind] in c.values


@pytest.fixture(scope="module")
def tiny_inputs(tiny_reader):
    idx = tiny_reader.samples
    meta = SampleMeta(idx.weapon, idx.offsets, idx.token_ids, idx.vocab, idx.weapon_vocab)
    return meta, InputTable.from_meta(meta)


def test_every_condition_matches_the_oracle(tiny_inputs):
    meta, table = tiny_inputs
    rows = np.arange(0, meta.n_samples, 7)  # a spread of samples keeps the oracle quick
    oracle = [_oracle(meta, int(s)) for s in rows]
    vocabulary = condition_vocabulary(table)
    assert len(vocabulary) > len(STANDARD) * 10  # rungs and absences, main-only, kits
    for c in vocabulary:
        got = table.condition(c, rows)
        assert got.tolist() == [_holds(c, o) for o in oracle], str(c)
        assert table.condition(c).any() or not isinstance(c, Kit), f"{c} never holds"


def test_rules_and_margins_match_the_oracle(tiny_inputs):
    meta, table = tiny_inputs
    rule = parse("swim_speed_up >= 6 & no comeback | quick_respawn >= 12 & quick_super_jump >= 3"
                 " | class in {roller, brush}")  # fmt: skip
    rows = np.arange(meta.n_samples)
    holds, margin = table.evaluate(rule, rows), table.margin(rule, rows)
    for s in range(0, meta.n_samples, 5):
        o = _oracle(meta, s)
        sat = [all(_holds(c, o) for c in t) for t in rule.terms]
        assert holds[s] == any(sat)
        extras = [sum(o["top"][c.ability] - c.ap for c in t if isinstance(c, AtLeast))
                  for t, ok in zip(rule.terms, sat, strict=True) if ok]  # fmt: skip
        assert margin[s] == (max(extras) if extras else -1)
