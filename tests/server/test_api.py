"""Every endpoint of the API, its answers checked against the query layer (itself checked
against direct computations in tests/core/test_query.py)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from splat_core.query import wire
from splat_core.query.summary import top_per_kind

BUILD = {"swim_speed_up": 12, "ink_saver_main": 6, "ninja_squid": 10}


def _public(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "feature_id"}


def _largest(reader) -> int:
    return int(reader.feature_counts().argmax())


def test_health_names_counts_and_version(client, reader):
    body = client.get("/health").json()
    assert body["status"] == "healthy"
    assert body["n_features"] == reader.n_features
    assert body["n_samples"] == reader.n_samples
    assert body["nnz"] == int(reader.feature_counts().sum())
    assert body["data_version"] == reader.data_version
    assert body["versions"] == reader.versions


def test_features_lists_every_id(client, reader):
    assert client.get("/features").json() == {"feature_ids": list(range(reader.n_features))}


@pytest.mark.parametrize("shape", ["reference", "splat"])
@pytest.mark.parametrize(
    "params",
    [{}, {"limit": 5}, {"sample_frac": 0.5, "seed": 7}, {"limit": 3, "include_abilities": False}],
)
def test_activation_rows_equal_the_query_layer(client, reader, params, shape):
    f = _largest(reader)
    r = client.get(f"/activations/{f}", params={**params, "shape": shape})
    assert r.status_code == 200
    assert r.headers["x-splat-data-version"] == reader.data_version
    body = r.json()
    table = reader.activation_list(
        f,
        params.get("limit"),
        params.get("sample_frac"),
        params.get("seed", 0),
        params.get("include_abilities", True),
    )
    table = wire.shaped(table, shape)
    assert list(body) == ["feature_id", "n_rows", "columns", "data", "load_time_ms"]
    assert body["feature_id"] == f and body["n_rows"] == table.num_rows
    assert body["columns"] == table.column_names
    assert body["data"] == table.to_pylist()
    if "limit" in params:  # top-N, not the first N: the highest activations, descending
        ids, values = reader.activations(f)
        got = [row["activation"] for row in body["data"]]
        np.testing.assert_allclose(got, values[: params["limit"]], rtol=1e-6)
    arrow = client.get(f"/activations/{f}/arrow", params={**params, "shape": shape})
    assert arrow.headers["content-type"] == "application/vnd.apache.arrow.stream"
    assert arrow.headers["x-num-rows"] == str(table.num_rows)
    assert arrow.content[:6] == b"ARROW1"  # the IPC file format, as the reference's
    assert pa.ipc.open_file(pa.py_buffer(arrow.content)).read_all().equals(table)
    stream = client.get(f"/activations/{f}/arrow", params={**params, "shape": shape,
                                                          "format": "stream"})  # fmt: skip
    assert pa.ipc.open_stream(stream.content).read_all().equals(table)


def test_sample_frac_is_seeded_and_reproducible(client, reader):
    f = _largest(reader)

    def get(seed):
        params = {"sample_frac": 0.3, "seed": seed}
        return client.get(f"/activations/{f}", params=params).json()["data"]

    assert get(1) == get(1)
    assert get(1) != get(2)


def test_vocabularies(client, reader):
    vocab, weapons = reader.vocabularies
    body = client.get("/context/vocab").json()
    assert body["vocab"] == vocab.token_to_id
    assert body["weapon_vocab"] == weapons.key_to_index
    inv = client.get("/context/inv_vocab").json()
    assert inv["inv_vocab"] == {str(i): t for t, i in vocab.token_to_id.items()}
    assert inv["inv_weapon_vocab"] == {str(i): k for k, i in weapons.key_to_index.items()}


def test_feature_summary_and_tables(client, reader):
    f = _largest(reader)
    s = client.get(f"/features/{f}", params={"top_k": 3}).json()
    assert s["feature_id"] == f and s["nnz"] == int(reader.feature_counts()[f])
    assert s["stats"] == pytest.approx(reader.stats(f))
    assert s["histogram"] == [_public(r) for r in reader.histogram(f)]
    for part, key in (
        ("tokens", "kind"),
        ("weapons", "kind"),
        ("influence", "sign"),
        ("neighbors", "kind"),
    ):
        rows = [_public(r) for r in top_per_kind(getattr(reader, part)(f), key, 3)]
        assert s[part] == rows and rows
        full = client.get(f"/features/{f}/{part}").json()
        assert full == [_public(r) for r in getattr(reader, part)(f)]
    assert s["label"] is None
    assert s["correlations"] == [_public(r) for r in reader.correlations(f)[:3]]
    full = client.get(f"/features/{f}/correlations").json()
    assert full == [_public(r) for r in reader.correlations(f)] and len(full) == 10
    point = client.get(f"/features/{f}/map").json()
    assert s["map"] == point == pytest.approx(reader.map_point(f)) and point["feature_id"] == f
    assert client.get(f"/features/{f}/stats").json() == pytest.approx(reader.stats(f))
    assert client.get(f"/features/{f}/histogram").json() == [
        _public(r) for r in reader.histogram(f)
    ]


def test_top_and_quantile_examples(client, reader):
    f = _largest(reader)
    top = client.get(f"/features/{f}/examples", params={"k": 7}).json()
    assert top == [e.to_dict() for e in reader.top_examples(f, 7)]
    q = client.get(
        f"/features/{f}/examples/quantiles", params={"n_bins": 4, "per_bin": 2, "seed": 3}
    ).json()
    assert q == [e.to_dict() for e in reader.quantile_examples(f, 4, 2, 3)]


def test_grouped_examples_builds_and_negatives(client, reader):
    from splat_core.investigate import examples as ex

    f = _largest(reader)
    groups = client.get(f"/features/{f}/examples/groups", params={"k": 4}).json()
    assert groups == [g.to_dict() for g in ex.grouped_examples(reader, f, 4)]
    q = client.get(
        f"/features/{f}/examples/quantiles/groups", params={"n_bins": 4, "per_bin": 2, "seed": 3}
    ).json()
    assert q == [g.to_dict() for g in ex.grouped_quantile_examples(reader, f, 4, 2, 3)]
    s = groups[0]["sample_ids"][0]
    builds = client.get(f"/samples/{s}/builds", params={"limit": 3}).json()
    assert builds == ex.containing_builds(reader, s, 3).to_dict()
    assert client.get("/samples/999999999/builds").status_code == 404
    neg = client.get(f"/features/{f}/examples/negatives", params={"k": 5, "seed": 2}).json()
    assert neg == ex.non_activating(reader, f, 5, 2).to_dict()
    assert client.get(f"/features/{f}/examples", params={"k": 3}).json() == [
        e.to_dict() for e in reader.top_examples(f, 3)
    ]  # the existing answer is unchanged


def test_feature_index_rows(client, reader):
    rows = client.get("/features/index").json()
    assert [r["feature_id"] for r in rows] == list(range(reader.n_features))
    counts = reader.feature_counts()
    assert [r["nnz"] for r in rows] == counts.tolist()
    f = _largest(reader)
    assert rows[f]["max"] == pytest.approx(reader.stats(f)["max"])
    enhancers = [t for t in reader.tokens(f) if t["kind"] == "enhancer" and t["rank"] == 1]
    assert rows[f]["top_token"] == (enhancers[0]["token"] if enhancers else None)


def test_sample_and_token_search(client, reader):
    body = client.get("/samples/3", params={"k": 5}).json()
    assert body == {**reader.sample(3), "features": reader.sample_features(3, 5)}
    for sign in ("+", "-"):
        got = client.get("/tokens/swim_speed_up_12/features", params={"sign": sign, "k": 4})
        assert got.json() == reader.token_features("swim_speed_up_12", 4, sign)


def test_encode_and_whatif_equal_the_query_layer(client, reader):
    weapon = reader.vocabularies[1].weapon_ids[0]
    body = client.post(
        "/encode",
        json={"weapon_id": weapon, "abilities": BUILD, "top_predictions": 5, "top_features": 8},
    ).json()
    enc = reader.encode(weapon, BUILD)
    assert body["tokens"] == enc.tokens
    assert [p["token"] for p in body["predictions"]] == [t for t, _ in enc.top_predictions(5)]
    np.testing.assert_allclose(
        [p["probability"] for p in body["predictions"]],
        [p for _, p in enc.top_predictions(5)],
        rtol=1e-5,
    )
    assert [x["feature_id"] for x in body["features"]] == [f for f, _ in enc.features[:8]]
    f = enc.features[0][0]
    w = client.post(
        "/whatif", json={"weapon_id": weapon, "abilities": BUILD, "feature": f, "max_variants": 10}
    ).json()
    direct = reader.whatif(weapon, BUILD, f)
    assert w["feature"] == f
    assert w["feature_activation"] == pytest.approx(float(direct.base.activations[f]), rel=1e-5)
    assert [(v["kind"], v["change"]) for v in w["variants"]] == [
        (v.kind, v.change) for v in direct.variants[:10]
    ]
    np.testing.assert_allclose(
        [v["feature_delta"] for v in w["variants"]],
        [v.feature_delta for v in direct.variants[:10]],
        rtol=1e-4,
        atol=1e-6,
    )


def test_batch_features_and_activations(client, reader):
    ids = [0, _largest(reader), 2]
    body = client.post(
        "/batch/features",
        json={"feature_ids": ids, "parts": ["stats", "examples", "label"], "examples": 3},
    ).json()
    assert [x["feature_id"] for x in body["features"]] == ids
    for x, f in zip(body["features"], ids, strict=True):
        assert x["stats"] == (pytest.approx(reader.stats(f)) if reader.stats(f) else None)
        assert x["examples"] == [e.to_dict() for e in reader.top_examples(f, 3)]
        assert x["tokens"] is None  # not asked for
    arrow = client.post("/batch/activations/arrow", json={"feature_ids": ids, "limit": 4})
    table = pa.ipc.open_stream(arrow.content).read_all()
    for f in ids:
        part = table.filter(pa.compute.equal(table["feature_id"], f)).drop_columns("feature_id")
        assert part.equals(reader.activation_list(f, 4))


def test_large_answers_come_from_the_cache_on_repeat(client, reader):
    from splat_server.answer_cache import AnswerCache

    client.app.state.splat.cache = AnswerCache(1 << 20, min_bytes=0)
    f = _largest(reader)
    first = client.get(f"/activations/{f}/arrow")
    again = client.get(f"/activations/{f}/arrow")
    assert (first.headers["x-cache-hit"], again.headers["x-cache-hit"]) == ("false", "true")
    assert again.content == first.content and again.headers["x-num-rows"] == str(
        reader.activation_list(f).num_rows
    )
    other = client.get(f"/activations/{f}/arrow", params={"limit": 3})
    assert other.headers["x-cache-hit"] == "false"  # other parameters, other answer
    j1, j2 = client.get(f"/activations/{f}"), client.get(f"/activations/{f}")
    assert j2.headers["x-cache-hit"] == "true" and j2.json() == j1.json()
