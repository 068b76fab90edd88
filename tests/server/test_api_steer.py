"""POST /steer: the core functions' results (tests/core/investigate/test_steering.py checks
their numbers), truncated to top_tokens; bad input is a 422, an unknown feature a 404."""

from __future__ import annotations

import json

import pytest

from splat_core import investigate as inv

BUILD = {"swim_speed_up": 12, "ninja_squid": 10}


def _feature(reader) -> int:
    return next(f for f in range(reader.encoder.sae.n_features) if reader.top_examples(f, 1))


def _same(got, want):
    assert got == json.loads(json.dumps(want))


def test_steer_build_and_examples(client, reader):
    f = _feature(reader)
    w = reader.vocabularies[1].weapon_ids[0]
    edits = [{"feature_id": f, "op": "clamp", "value": 4.0}]
    got = client.post("/steer", json={"edits": edits, "weapon_id": w, "abilities": BUILD})
    assert got.status_code == 200, got.text
    _same(got.json(), inv.steer(reader, w, BUILD, [inv.FeatureEdit(f, "clamp", 4.0)]))
    edits = [
        {"feature_id": f, "op": "scale", "value": 2.0},
        {"feature_id": 1, "op": "add", "value": 1},
    ]
    got = client.post("/steer", json={"edits": edits, "n_examples": 5, "top_tokens": 7})
    assert got.status_code == 200, got.text
    want = inv.steer_examples(
        reader, f, [inv.FeatureEdit(f, "scale", 2.0), inv.FeatureEdit(1, "add", 1.0)], n=5
    )
    want["changes"] = want["changes"][:7]
    _same(got.json(), want)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"edits": []}, 422),
        ({"edits": [{"feature_id": 0, "op": "double", "value": 1}]}, 422),
        ({"edits": [{"feature_id": 0, "op": "add", "value": 1}], "abilities": BUILD}, 422),
        ({"edits": [{"feature_id": 0, "op": "add", "value": 1}], "weapon_id": -5}, 422),
        (
            {
                "edits": [{"feature_id": 0, "op": "add", "value": 1}],
                "weapon_id": 0,
                "abilities": {"swim": 3},
            },
            422,
        ),
        ({"edits": [{"feature_id": 0, "op": "scale", "value": 1e300}], "n_examples": 3}, 422),
        ({"edits": [{"feature_id": 10**6, "op": "add", "value": 1}]}, 404),
    ],
)
def test_steer_bad_input(client, body, status):
    got = client.post("/steer", json=body)
    assert got.status_code == status, got.text
