"""GET /features/{f}/compare/{g}, /features/{f}/logit_histogram and /feature_map: the core
functions' results (tests/core/investigate/test_compare.py checks their numbers); unknown
features 404, a bad colour 422, no feature_map 503."""

from __future__ import annotations

import json

import numpy as np

from splat_core.investigate.compare import compare_features, logit_histogram, map_points
from splat_core.labels import LabelStore
from splat_core.query import Reader


def _same(got, want):
    assert got == json.loads(json.dumps(want))


def test_compare_and_logit_histogram(client, reader):
    f, g = (int(i) for i in np.argsort(-reader.feature_counts(), kind="stable")[:2])
    got = client.get(f"/features/{f}/compare/{g}", params={"max_points": 50, "seed": 2})
    assert got.status_code == 200, got.text
    _same(got.json(), compare_features(reader, f, g, 50, 2))
    got = client.get(f"/features/{f}/logit_histogram", params={"bins": 9, "top_k": 4})
    assert got.status_code == 200, got.text
    _same(got.json(), logit_histogram(reader, f, 9, 4))
    assert client.get(f"/features/{f}/compare/{10**6}").status_code == 404
    assert client.get(f"/features/{10**6}/logit_histogram").status_code == 404
    assert client.get(f"/features/{f}/logit_histogram", params={"bins": 0}).status_code == 422


def test_feature_map(client, home, make_client, investigation_home):
    LabelStore.open(home).set(1, name="Swim stacker", source="api")
    got = client.get("/feature_map", params={"color": "family"})
    assert got.status_code == 200, got.text
    with Reader.open(home) as r:
        _same(got.json(), map_points(r, "family", {1: "Swim stacker"}))
    assert got.json()["method"] in ("umap", "pca")
    assert [p["label"] for p in got.json()["points"] if p["feature_id"] == 1] == ["Swim stacker"]
    assert client.get("/feature_map", params={"color": "weapon"}).status_code == 422
    missing = make_client(home=investigation_home[0]).get("/feature_map")
    assert missing.status_code == 503 and missing.json()["asset"] == "feature_map"
