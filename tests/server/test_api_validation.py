"""GET /features/{id}/validate/*: the core functions' results (tests/core/investigate/
test_validation.py checks their numbers); bad parameters are 422, an unknown feature 404."""

from __future__ import annotations

import json

import numpy as np

from splat_core import investigate as inv


def _same(got, want):
    assert got.status_code == 200, got.text
    assert got.json() == json.loads(json.dumps(want))


def test_validate_routes_answer_the_core_functions(client, reader):
    f = int(np.argmax(reader.feature_counts()))
    base = f"/features/{f}/validate"
    _same(
        client.get(f"{base}/sweep", params={"family": "SSU", "n_perm": 30, "seed": 1}),
        inv.validate_sweep(reader, f, "SSU", 30, 1),
    )
    _same(
        client.get(f"{base}/tokens", params={"n_perm": 20, "top_k": 5}),
        inv.validate_token_effects(reader, f, True, 20, 0, 5),
    )
    rule = "swim_speed_up >= 12"
    _same(
        client.get(f"{base}/rule", params={"rule": rule, "n_perm": 20}),
        inv.validate_rule(reader, f, rule, 20),
    )
    _same(
        client.get(f"{base}/interference", params={"family": "SSU", "n": 8}),
        inv.interference(reader, f, "SSU", 8),
    )
    _same(
        client.get(f"{base}/interference", params={"family": "ninja_squid"}),
        inv.interference(reader, f, "ninja_squid"),
    )


def test_validate_routes_refuse_bad_parameters(client):
    cases = [
        ("/features/0/validate/sweep", {"family": "SSU", "n_perm": 5000}, 422),
        ("/features/0/validate/sweep", {"family": "swim"}, 422),
        ("/features/0/validate/sweep", {}, 422),
        ("/features/0/validate/tokens", {"seed": -1}, 422),
        ("/features/0/validate/rule", {"rule": "ssu >>= 3"}, 422),
        ("/features/0/validate/interference", {"family": "SSU", "source": "bottom"}, 422),
        ("/features/100000/validate/sweep", {"family": "SSU"}, 404),
    ]
    for path, params, status in cases:
        got = client.get(path, params=params)
        assert got.status_code == status, (path, params, got.text)
        assert "detail" in got.json()
