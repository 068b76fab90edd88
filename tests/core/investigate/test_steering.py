"""Steering against a direct computation: the SAE's encode, edit, decode and the model's
output layer run by hand on the tiny home's model and SAE."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from splat_core import investigate as inv
from splat_core.investigate.steering import FeatureEdit

BUILD = {"swim_speed_up": 12, "ninja_squid": 10}


def _feature(reader):
    return next(f for f in range(reader.encoder.sae.n_features) if reader.top_examples(f, 1))


@torch.inference_mode()
def _direct(reader, rows, edits):
    """(before, after) probabilities: decode(edited h) + the reconstruction error, by hand."""
    enc = reader.encoder
    width = max(len(t) for _, t in rows)
    ids = torch.full((len(rows), width), enc.vocab.pad_id, dtype=torch.long)
    for i, (_, toks) in enumerate(rows):
        ids[i, : len(toks)] = torch.tensor(enc.vocab.encode(toks))
    weapons = torch.tensor([[w] for w, _ in rows])
    x = enc.model.pooled(ids, weapons)
    h = enc.sae.encode(x)
    err = x - enc.sae.decode(h)
    h2, extra = h.clone(), torch.zeros_like(x)
    for f, op, v in edits:
        if op == "clamp":
            h2[:, f] = v
        elif op == "scale":
            h2[:, f] = h[:, f] * v
        elif op == "add":
            h2[:, f] = h2[:, f] + v
        else:
            w = enc.sae.decoder_weight[:, f]
            extra = extra + v * w / w.norm()
    x2 = enc.sae.decode(h2) + err + extra
    cols = torch.as_tensor(enc.content_ids)
    p0 = torch.sigmoid(enc.model.output_layer(x))[:, cols].numpy()
    p1 = torch.sigmoid(enc.model.output_layer(x2))[:, cols].numpy()
    return p0, p1


def _row(reader, weapon_id, abilities):
    enc = reader.encoder
    return enc.weapon_index(weapon_id), enc.tokens(abilities)


def _by_token(r, key="delta"):
    return {c["token"]: c[key] for c in r["changes"]}


@pytest.mark.parametrize(
    "edits",
    [
        [(None, "clamp", 5.0)],
        [(None, "scale", 3.0), (1, "add", 2.0)],
        [(None, "direct", 4.0)],
        [(None, "clamp", 0.0), (2, "direct", -2.0)],
    ],
)
def test_steer_matches_direct_computation(tiny_reader, edits):
    f = _feature(tiny_reader)
    edits = [(f if g is None else g, op, v) for g, op, v in edits]
    w = tiny_reader.encoder.weapon_vocab.weapon_ids[0]
    r = inv.steer(tiny_reader, w, BUILD, [FeatureEdit(*e) for e in edits])
    p0, p1 = _direct(tiny_reader, [_row(tiny_reader, w, BUILD)], edits)
    names = tiny_reader.encoder.content_names
    got = _by_token(r)
    assert len(got) == len(names)
    np.testing.assert_allclose([got[t] for t in names], p1[0] - p0[0], atol=1e-5)
    np.testing.assert_allclose([_by_token(r, "before")[t] for t in names], p0[0], atol=1e-6)
    deltas = [abs(c["delta"]) for c in r["changes"]]
    assert deltas == sorted(deltas, reverse=True)
    held = set(r["tokens"])
    before = [t for t, p in zip(names, p0[0], strict=True) if p > 0.5 and t not in held]
    after = [t for t, p in zip(names, p1[0], strict=True) if p > 0.5 and t not in held]
    assert r["completion_before"] == before and r["completion_after"] == after
    assert r["added"] == [t for t in after if t not in before]
    assert r["removed"] == [t for t in before if t not in after]
    if edits[0][1] == "clamp":
        assert r["features"][0] == {
            "feature_id": f,
            "before": pytest.approx(r["features"][0]["before"]),
            "after": edits[0][2],
        }


@pytest.mark.parametrize("edits", [[], [FeatureEdit(0, "scale", 1.0)]])
def test_identity_edits_reproduce_the_models_output_exactly(tiny_reader, edits):
    w = tiny_reader.encoder.weapon_vocab.weapon_ids[0]
    r = inv.steer(tiny_reader, w, BUILD, edits)
    own = tiny_reader.encode(w, BUILD).probabilities
    assert all(c["delta"] == 0.0 for c in r["changes"])
    assert {c["token"]: c["before"] for c in r["changes"]} == own
    assert r["completion_before"] == r["completion_after"] and not r["added"]


def test_steer_examples_means_and_stderrs(tiny_reader):
    f = _feature(tiny_reader)
    edits = [(f, "clamp", 0.0), (f, "add", 3.0)]
    r = inv.steer_examples(tiny_reader, f, [FeatureEdit(*e) for e in edits], n=6)
    ex = tiny_reader.top_examples(f, 6)
    enc = tiny_reader.encoder
    rows = [(enc.weapon_index(e.weapon.weapon_id), list(e.tokens)) for e in ex]
    p0, p1 = _direct(tiny_reader, rows, edits)
    d = (p1 - p0).astype(np.float64)
    assert r["n_examples"] == len(ex) and r["source"] == "top"
    names = enc.content_names
    mean, se = _by_token(r, "mean_delta"), _by_token(r, "stderr")
    np.testing.assert_allclose([mean[t] for t in names], d.mean(0), atol=1e-5)
    if len(ex) > 1:
        want = d.std(0, ddof=1) / np.sqrt(len(ex))
        np.testing.assert_allclose([se[t] for t in names], want, atol=1e-5)
    changed = 0
    for (_, toks), a, b in zip(rows, p0, p1, strict=True):
        ca = {t for t, p in zip(names, a, strict=True) if p > 0.5 and t not in toks}
        cb = {t for t, p in zip(names, b, strict=True) if p > 0.5 and t not in toks}
        changed += ca != cb
    assert r["n_completion_changed"] == changed
    assert all(c["n"] == len(ex) for c in r["changes"])


def test_bad_edits_are_refused(tiny_reader):
    with pytest.raises(ValueError):
        FeatureEdit(0, "double", 2.0)
    with pytest.raises(ValueError):
        FeatureEdit(0, "scale", float("nan"))
    with pytest.raises(KeyError):
        inv.steer(tiny_reader, 0, BUILD, [FeatureEdit(10**6, "clamp", 1.0)])
    with pytest.raises(ValueError):
        inv.steer_examples(tiny_reader, 0, [], source="middle")
