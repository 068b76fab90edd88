"""The API over a home serving two SAEs (tests/variant_home.py): `?sae=alt` answers what the
alt Reader answers (and not the default's), without it every answer is the default
variant's exactly as over a home of one SAE, an unknown variant is a JSON 404 naming the
served ones, labels and the answer cache are per variant, `/saes` and `/health` name the
variants."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from splat_core.labels import LabelStore
from splat_core.query import Reader
from splat_server.answer_cache import AnswerCache
from splat_server.app import create_app
from splat_server.settings import ServerSettings
from tests.server.conftest import TOKEN
from tests.variant_home import (
    ALT,
    ALT_FEATURES,
    private_copy,
    served_dir,
)

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def client_of(home) -> TestClient:
    return TestClient(create_app(ServerSettings(home=home, token=TOKEN)))


@pytest.fixture(scope="module")
def client(variant_home):
    return client_of(variant_home)


@pytest.fixture(scope="module")
def readers(variant_home):
    return {"default": Reader.open(variant_home), ALT: Reader.open(variant_home, sae=ALT)}


def ok(response) -> dict | list:
    assert response.status_code == 200, response.text
    return response.json()


def busiest(reader: Reader) -> int:
    return int(np.argmax(reader.feature_counts()))


def test_feature_ids_and_tables_are_the_variants(client, readers):
    assert ok(client.get("/features"))["feature_ids"] == list(range(readers["default"].n_features))
    assert ok(client.get("/features", params={"sae": ALT}))["feature_ids"] == list(
        range(ALT_FEATURES)
    )
    f = busiest(readers[ALT])
    alt = ok(client.get(f"/features/{f}/stats", params={"sae": ALT}))
    default = ok(client.get(f"/features/{f}/stats"))
    assert alt == pytest.approx(readers[ALT].stats(f))
    assert default == pytest.approx(readers["default"].stats(f))
    assert alt != default
    assert alt["nnz"] == int(readers[ALT].feature_counts()[f])
    # an id only the wider default variant has
    assert client.get("/features/40/stats", params={"sae": ALT}).status_code == 404
    assert client.get("/features/40/stats").status_code == 200


def test_activation_lists_are_the_variants(client, readers):
    f = busiest(readers[ALT])
    for sae, params in (("default", {}), (ALT, {"sae": ALT})):
        body = client.get(f"/activations/{f}/arrow", params={**params, "shape": "splat"})
        table = pa.ipc.open_file(pa.BufferReader(body.content)).read_all()
        ids, values = readers[sae].activations(f)
        assert table.column("sample_id").to_pylist() == ids.tolist()
        np.testing.assert_allclose(table.column("activation").to_numpy(), values, rtol=1e-6)
        rows = ok(client.get(f"/activations/{f}", params={**params, "limit": 5}))
        assert [r["activation"] for r in rows["data"]] == pytest.approx(values[:5].tolist())
    a = client.get(f"/activations/{f}", params={"sae": ALT}).json()["data"]
    b = client.get(f"/activations/{f}").json()["data"]
    assert a != b


def test_without_sae_the_answers_are_those_of_a_home_of_one_sae(client, tiny_home, readers):
    """The reference client sends no `sae`: over the home with a second SAE it gets the
    same bytes as over the home before the variant was added."""
    before = client_of(tiny_home)
    f = busiest(readers["default"])
    for path, params in ((f"/activations/{f}/arrow", {}), ("/features", {}),
                         (f"/features/{f}/tokens", {}), ("/context/vocab", {}),
                         (f"/activations/{f}/arrow", {"sample_frac": 0.5, "seed": 3})):  # fmt: skip
        assert client.get(path, params=params).content == before.get(path, params=params).content
    assert client.get("/health").json()["n_features"] == before.get("/health").json()["n_features"]


def test_an_unknown_variant_is_a_json_404_naming_the_served_ones(client):
    for path in ("/features", "/activations/1", "/health", "/labels", "/labels/1",
                 "/features/1"):  # fmt: skip
        r = client.get(path, params={"sae": "wide"})
        assert r.status_code == 404, (path, r.text)
        assert r.headers["content-type"] == "application/json"
        body = r.json()
        assert body["saes"] == ["default", ALT]
        assert "'wide'" in body["detail"] and "default, alt" in body["detail"]
    assert client.get("/features", params={"sae": "x" * 41}).status_code == 422


def test_saes_and_health_name_the_variants(client, variant_home, readers):
    out = ok(client.get("/saes"))
    assert out["default"] == "default"
    assert [s["name"] for s in out["saes"]] == ["default", ALT]
    by = {s["name"]: s for s in out["saes"]}
    assert by[ALT]["n_features"] == ALT_FEATURES and by[ALT]["k"] == 3
    assert by["default"]["n_features"] == readers["default"].n_features
    assert by[ALT]["settings"] == ["sae.n_features=32", "sae.k=3", "sae.aux_k=8", "sae.epochs=10"]
    assert by["default"]["settings"] == []
    for sae in ("default", ALT):
        metrics = json.loads((served_dir(variant_home, "sae", sae) / "metrics.json").read_text())
        assert by[sae]["metrics"]["explained_variance"] == metrics["explained_variance"]
        assert by[sae]["metrics"]["mean_l0"] == metrics["mean_l0"]
    assert by[ALT]["metrics"]["mean_l0"] <= 3 < by["default"]["metrics"]["mean_l0"] + 1
    health = ok(client.get("/health"))
    assert health["sae"] == "default" and health["saes"] == ["default", ALT]
    assert health["n_features"] == readers["default"].n_features
    alt = ok(client.get("/health", params={"sae": ALT}))
    assert alt["sae"] == ALT and alt["n_features"] == ALT_FEATURES
    assert alt["versions"]["sae"] == readers[ALT].versions["sae"] != health["versions"]["sae"]
    assert alt["data_version"] == readers[ALT].data_version != health["data_version"]


def test_every_reader_route_documents_sae(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path, op in (("/activations/{feature_id}", "get"), ("/labels", "get"),
                     ("/labels/{feature_id}", "put"), ("/features/{feature_id}/stats", "get"),
                     ("/health", "get")):  # fmt: skip
        names = [p["name"] for p in paths[path][op].get("parameters", [])]
        assert names.count("sae") == 1, (path, names)
    assert "/saes" in paths


def test_labels_are_per_variant(variant_home, tmp_path):
    home = private_copy(variant_home, tmp_path / "home")
    client = client_of(home)
    put = client.put("/labels/3", params={"sae": ALT}, json={"name": "alt three"}, headers=AUTH)
    assert put.status_code == 200, put.text
    assert client.get("/labels/3").json() is None
    assert client.get("/labels/3", params={"sae": ALT}).json()["name"] == "alt three"
    assert [x["feature_id"] for x in client.get("/labels", params={"sae": ALT}).json()] == [3]
    assert client.get("/labels").json() == []
    assert LabelStore.open(home, ALT).get(3).name == "alt three"
    assert not LabelStore.exists(home)
    # ids beyond the variant's features are refused for it, not for the wider default
    r = client.put("/labels/40", params={"sae": ALT}, json={"name": "x"}, headers=AUTH)
    assert r.status_code == 404
    assert client.put("/labels/40", json={"name": "x"}, headers=AUTH).status_code == 200
    summary = client.get("/features/3", params={"sae": ALT}).json()
    assert summary["label"]["name"] == "alt three"


def test_the_answer_cache_keys_on_the_variant(variant_home, readers):
    client = client_of(variant_home)
    client.app.state.splat.cache = AnswerCache(1 << 26, min_bytes=0)  # keep every answer
    f = busiest(readers[ALT])
    first = client.get(f"/activations/{f}/arrow")
    assert first.headers["x-cache-hit"] == "false"
    assert client.get(f"/activations/{f}/arrow").headers["x-cache-hit"] == "true"
    alt = client.get(f"/activations/{f}/arrow", params={"sae": ALT})
    assert alt.headers["x-cache-hit"] == "false" and alt.content != first.content
    again = client.get(f"/activations/{f}/arrow", params={"sae": ALT})
    assert again.headers["x-cache-hit"] == "true" and again.content == alt.content
