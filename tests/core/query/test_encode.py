"""Encoding a custom build and what-if deltas against the model and SAE run directly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from splat_core.domain.tokenizer import ap_to_tokens
from splat_core.model import load_model
from splat_core.query import (
    UnknownFeatureError,
)
from splat_core.sae import load_sae
from splat_core.store import catalog
from splat_core.store.artifacts import read_vocab_dir


@pytest.fixture(scope="module")
def direct(tiny_home):
    model = load_model(catalog.current_path(tiny_home, "base_model")).eval()
    sae = load_sae(catalog.current_path(tiny_home, "sae")).eval()
    vocab, weapons = read_vocab_dir(catalog.current_path(tiny_home, "vocab"))

    @torch.no_grad()
    def run(weapon_id: int, abilities: dict):
        tokens = ap_to_tokens(abilities) or ["<NULL>"]
        t = torch.tensor([vocab.encode(tokens)])
        w = torch.tensor([[weapons.index_of(weapon_id)]])
        pooled = model.pooled(t, w)
        probs = torch.sigmoid(model(t, w))[0, vocab.content_ids()].numpy()
        return tokens, probs, pooled[0].numpy(), sae.encode(pooled)[0].numpy()

    return run, vocab, weapons


BUILD = {"swim_speed_up": 12, "ninja_squid": 10, "ink_saver_main": 3}


def test_encode_equals_the_model_and_sae(tiny_reader, direct):
    run, vocab, weapons = direct
    weapon = weapons.weapon_ids[3]
    for abilities in (BUILD, {}):
        enc = tiny_reader.encode(weapon, abilities)
        tokens, probs, pooled, acts = run(weapon, abilities)
        assert enc.tokens == tokens
        np.testing.assert_allclose(enc.pooled, pooled, atol=1e-6)
        np.testing.assert_allclose(enc.activations, acts, atol=1e-6)
        names = [vocab.id_to_token[i] for i in vocab.content_ids()]
        assert list(enc.probabilities) == names
        np.testing.assert_allclose(list(enc.probabilities.values()), probs, atol=1e-6)
        nonzero = np.flatnonzero(acts)
        assert sorted(f for f, _ in enc.features) == nonzero.tolist()
        assert [v for _, v in enc.features] == sorted((v for _, v in enc.features), reverse=True)
    assert tiny_reader.encode(weapon, {}).tokens == ["<NULL>"]


def test_whatif_deltas_equal_direct_recomputation(tiny_reader, direct):
    run, vocab, weapons = direct
    weapon, other = weapons.weapon_ids[3], weapons.weapon_ids[10]
    base = run(weapon, BUILD)
    f = int(np.argmax(base[3]))
    result = tiny_reader.whatif(weapon, BUILD, feature=f)
    by_change = {(v.kind, v.change): v for v in result.variants}
    assert ("add", "ninja_squid") not in by_change  # clothes already hold one
    assert ("add", "swim_speed_up_12") not in by_change
    assert len([v for v in result.variants if v.kind == "weapon"]) == len(weapons) - 1
    cases = {
        ("add", "swim_speed_up_15"): (weapon, {**BUILD, "swim_speed_up": 15}),
        ("add", "stealth_jump"): (weapon, {**BUILD, "stealth_jump": 10}),
        ("remove", "ninja_squid"): (weapon, {"swim_speed_up": 12, "ink_saver_main": 3}),
        ("weapon", str(other)): (other, BUILD),
    }
    names = [vocab.id_to_token[i] for i in vocab.content_ids()]
    for key, (w, abilities) in cases.items():
        v = by_change[key]
        tokens, probs, _, acts = run(w, abilities)
        assert v.tokens == tokens and v.weapon_id == w
        assert v.feature_activation == pytest.approx(acts[f], abs=1e-5)
        assert v.feature_delta == pytest.approx(acts[f] - base[3][f], abs=1e-5)
        delta = probs - base[1]
        biggest = np.argsort(-np.abs(delta), kind="stable")[:5]
        assert {t for t, _ in v.prediction_changes} == {names[j] for j in biggest}
        for token, d in v.prediction_changes:
            assert d == pytest.approx(delta[names.index(token)], abs=1e-5)
    deltas = [abs(v.feature_delta) for v in result.variants]
    assert deltas == sorted(deltas, reverse=True)


def test_bad_encode_inputs_raise(tiny_reader, direct):
    weapon = direct[2].weapon_ids[0]
    for abilities, match in (
        ({"not_an_ability": 3}, "unknown abilities"),
        ({"ninja_squid": 7}, "main-only"),
        ({"swim_speed_up": -3}, "negative"),
        ({"swim_speed_up": 1.5}, "integer"),
        ({"swim_speed_up": 57, "ink_saver_main": 3}, "exceeds"),
        ({"ninja_squid": 10, "haunt": 10}, "both main-only"),
    ):
        with pytest.raises(ValueError, match=match):
            tiny_reader.encode(weapon, abilities)
    for bad in (999_999, "8000", None):
        with pytest.raises(KeyError):
            tiny_reader.encode(bad, BUILD)
    with pytest.raises(UnknownFeatureError):
        tiny_reader.whatif(weapon, BUILD, feature=tiny_reader.n_features)
