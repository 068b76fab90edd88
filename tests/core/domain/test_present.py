"""Builds and features as a person reads them, and the explorer's small computations."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from splat_core.domain import present
from splat_core.domain.tokenizer import ap_to_tokens
from splat_core.domain.vocab import NULL
from splat_core.investigate import explorer
from splat_core.query.examples import Example, WeaponInfo

LUNA = WeaponInfo(22, 200, "Luna Blaster", "blaster", "Splat Bomb", "Zipcaster")


def example(rank, activation, tokens, bin_=None, lo=None, hi=None) -> Example:
    return Example(rank, 100 + rank, activation, LUNA, tokens, 7, bin_, lo, hi)


def test_names():
    assert present.ability_name("swim_speed_up") == "Swim Speed Up"
    assert present.ability_name("ink_saver_main") == "Ink Saver (Main)"
    assert present.ability_name("last_ditch_effort") == "Last-Ditch Effort"
    assert present.token_name("quick_respawn_12") == "Quick Respawn 12"
    assert present.token_name("comeback") == "Comeback"
    assert present.token_name(NULL) == NULL


def test_a_full_build_reads_as_ap_per_ability():
    ap = {"comeback": 10, "swim_speed_up": 21, "quick_respawn": 12, "ink_saver_main": 3}
    parts = present.read_build(ap_to_tokens(ap))
    assert [p.text() for p in parts] == [
        "Comeback", "Swim Speed Up 21", "Quick Respawn 12", "Ink Saver (Main) 3",
    ]  # fmt: skip
    assert present.build_ap(ap_to_tokens(ap)) == ap
    assert present.build_text(ap_to_tokens(ap)).startswith("Comeback · Swim Speed Up 21")


def test_a_partial_build_keeps_its_gaps():
    tokens = ["sub_power_up_12", "sub_power_up_21", "special_charge_up_3", NULL]
    parts = present.read_build(tokens)
    assert parts[0] == present.BuildPart("sub_power_up", 21, False, (3, 6, 15))
    assert present.build_texts(tokens) == ["Sub Power Up 21*", "Special Charge Up 3"]
    assert present.build_ap(tokens) == {"sub_power_up": 21, "special_charge_up": 3}
    assert present.build_text([NULL]) == "(empty build)"


def test_weapon_feature_and_enrichment_texts():
    assert present.weapon_text(LUNA) == "Luna Blaster (blaster · Splat Bomb · Zipcaster)"
    unknown = WeaponInfo(0, 9999, None, None, None, None)
    assert present.weapon_text(unknown) == "weapon 9999"
    assert present.feature_title(4, None) == "Feature 4"
    label = {"name": "Swim runner", "category": "tactical"}
    assert present.feature_title(4, label) == "Feature 4 · Swim runner [tactical]"
    assert present.feature_title(4, {**label, "category": "none"}) == "Feature 4 · Swim runner"
    assert present.enrichment_ratio(3.0) == 8.0


def test_example_row():
    row = present.example_row(example(1, 0.9, ["quick_respawn_12", "comeback"]))
    assert row["build"] == ["Comeback", "Quick Respawn 12*"]
    assert row["ap"] == 22
    assert row["kit"] == "blaster · Splat Bomb · Zipcaster"
    assert (row["rank"], row["weapon"], row["weapon_id"]) == (1, "Luna Blaster", 200)


def test_interval_groups_highest_bin_first():
    picked = [
        example(9, 0.1, ["comeback"], 0, 0.0, 0.2),
        example(3, 0.5, ["haunt"], 1, 0.2, 0.6),
        example(2, 0.55, ["haunt"], 1, 0.2, 0.6),
    ]
    groups = explorer.interval_groups(picked)
    assert [g["bin"] for g in groups] == [1, 0]
    assert [r["rank"] for r in groups[0]["rows"]] == [3, 2]
    assert (groups[1]["lo"], groups[1]["hi"]) == (0.0, 0.2)


def test_histogram_bars_add_the_exact_zero_count():
    rows = [
        {"bin": 1, "lo": 0.5, "hi": 1.0, "count": 3},
        {"bin": 0, "lo": 0.0, "hi": 0.5, "count": 7},
    ]
    bars = explorer.histogram_bars(rows, n_samples=100, nnz=10, zeros=False)
    assert [b["count"] for b in bars] == [7, 3]
    bars = explorer.histogram_bars(rows, n_samples=100, nnz=10, zeros=True)
    assert bars[0] == {"lo": 0.0, "hi": 0.0, "count": 90, "zero": True}
    assert sum(b["count"] for b in bars) == 100


def test_prediction_rows_union_of_both_tops():
    before = {"a_3": 0.9, "b_3": 0.5, "c_3": 0.1}
    after = {"a_3": 0.2, "b_3": 0.6, "c_3": 0.95}
    rows = explorer.prediction_rows(before, after, n=1)
    assert [r["token"] for r in rows] == ["c_3", "a_3"]
    assert rows[1]["change"] == pytest.approx(-0.7)


def test_top_features_and_encode_tokens_with_a_stub_encoder():
    acts = np.array([0.0, 2.0, 0.5, 2.0], np.float32)
    assert explorer.top_features(acts, 2) == [(1, 2.0), (3, 2.0)]
    seen = []

    def forward(rows):
        seen.extend(rows)
        return np.array([[0.25, 0.75]]), None, acts[None, :]

    enc = SimpleNamespace(
        forward=forward, weapon_index=lambda w: w // 100, content_names=["x_3", "y_3"]
    )
    probs, out = explorer.encode_tokens(SimpleNamespace(encoder=enc), 200, [NULL])
    assert seen == [(2, [NULL])]
    assert probs == {"x_3": 0.25, "y_3": 0.75}
    assert out.tolist() == acts.tolist()


def test_share():
    assert present.share(0.229) == "22.9%"
    assert present.share(0.00024) == "0.024%"
    assert present.share(0) == "0%"
