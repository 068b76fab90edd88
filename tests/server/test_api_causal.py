"""GET /features/{id}/interactions, /minimal_sets, /itemsets: the core functions' results
(tests/core/investigate/test_interactions.py checks their numbers); bad parameters and
over-expensive requests are 422, an unknown feature a 404."""

from __future__ import annotations

import json

import pytest

from splat_core import investigate as inv

ALL_RUNGS = "&".join(f"{a}_rungs={r}" for a in "xy" for r in (3, 6, 12, 15, 21, 29, 38, 51, 57))


def _feature(reader) -> int:
    return next(f for f in range(reader.encoder.sae.n_features) if reader.top_examples(f, 1))


def _same(got, want):
    assert got.status_code == 200, got.text
    assert got.json() == json.loads(json.dumps(want))


def test_answers_equal_the_core_functions(client, reader):
    f = _feature(reader)
    q = "x=SSU&y=ninja_squid&x_rungs=6&x_rungs=21&n=4"
    want = inv.interaction(reader, f, "SSU", "ninja_squid", [6, 21], None, 4)
    _same(client.get(f"/features/{f}/interactions?{q}"), want)
    q = "x=SSU&y=RSU&z=QR&rungs=3&rungs=6&rungs=12&n=4"
    want = inv.interaction3(reader, f, "SSU", "RSU", "QR", [3, 6, 12], 4)
    _same(client.get(f"/features/{f}/interactions?{q}"), want)
    want = inv.minimal_sets(reader, f, 3, 0.5, 12, 64)
    _same(client.get(f"/features/{f}/minimal_sets?n=3&max_evals=64"), want)
    want = inv.contrastive_itemsets(reader, f, 0.8, 2, 0.1, 10, False)
    q = "high_quantile=0.8&max_size=2&min_support=0.1&top_k=10&collapse=false"
    _same(client.get(f"/features/{f}/itemsets?{q}"), want)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("interactions?x=SSU&y=SSU", 422),
        ("interactions?x=SSU&y=nope", 422),
        ("interactions?x=SSU&y=RSU&x_rungs=7", 422),
        (f"interactions?x=SSU&y=RSU&n=1000&{ALL_RUNGS}", 422),  # 100,000 rows: over the bound
        ("interactions?x=SSU&y=RSU&rungs=3", 422),
        ("minimal_sets?n=200&max_evals=16384", 422),
        ("minimal_sets?fraction=0", 422),
        ("itemsets?high_quantile=90", 422),
        ("itemsets?max_size=9", 422),
    ],
)
def test_bad_parameters(client, reader, path, status):
    got = client.get(f"/features/{_feature(reader)}/{path}")
    assert got.status_code == status, got.text


def test_unknown_feature_is_404(client):
    for path in ("interactions?x=SSU&y=RSU", "minimal_sets", "itemsets"):
        assert client.get(f"/features/{10**6}/{path}").status_code == 404
