"""Bad input never gets a 5xx: unknown ids 404, bad parameters 422, no data 503; and the
bearer-token rules for writes and for a public bind."""

from __future__ import annotations

import pytest

from tests.server.conftest import TOKEN

BUILD = {"swim_speed_up": 12}


@pytest.mark.parametrize(
    "path",
    [
        "/features/{n}",
        "/features/-3/examples",
        "/features/{n}/tokens",
        "/samples/-1",
        "/samples/{s}",
        "/tokens/not_a_token/features",
        "/labels/{n}",
    ],
)
def test_unknown_ids_are_404(client, reader, path):
    r = client.get(path.format(n=reader.n_features, s=reader.n_samples))
    assert r.status_code == 404, r.text
    assert "unknown" in r.json()["detail"]


@pytest.mark.parametrize(
    "path", ["/activations/{n}", "/activations/-1", "/activations/9223372036854775807/arrow"]
)
def test_unknown_ids_on_the_reference_routes_are_empty_lists(client, reader, path):
    """As the reference server: 200 with no rows (its client carries on)."""
    r = client.get(path.format(n=reader.n_features))
    assert r.status_code == 200, r.text
    if path.endswith("/arrow"):
        assert r.headers["x-num-rows"] == "0" and r.content[:6] == b"ARROW1"
    else:
        assert r.json()["n_rows"] == 0 and r.json()["data"] == []


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/activations/0", {"limit": -1}),
        ("/activations/18446744073709551616", {}),  # beyond int64
        ("/features/-9223372036854775809", {}),
        ("/activations/0", {"sample_frac": -0.1}),
        ("/activations/0", {"sample_frac": 1.5}),
        ("/activations/0", {"limit": "many"}),
        ("/activations/abc", {}),
        ("/features/0/examples", {"k": 100_000}),
        ("/features/0/examples/quantiles", {"n_bins": 0}),
        ("/features/0", {"top_k": 101}),
        ("/tokens/swim_speed_up_12/features", {"sign": "*"}),
        ("/samples/0", {"k": -1}),
        ("/labels", {"q": "x" * 201}),
    ],
)
def test_bad_parameters_are_422(client, path, params):
    r = client.get(path, params=params)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    "body",
    [
        {"weapon_id": 40},
        {"weapon_id": "x", "abilities": BUILD},
        {"weapon_id": 999_999, "abilities": BUILD},
        {"weapon_id": 40, "abilities": {"nope": 3}},
        {"weapon_id": 40, "abilities": {"swim_speed_up": 58}},
        {"weapon_id": 40, "abilities": {"ninja_squid": 3}},
        {"weapon_id": 40, "abilities": {f"a{i}": 3 for i in range(40)}},
    ],
)
@pytest.mark.parametrize("route", ["/encode", "/whatif"])
def test_bad_builds_are_422(client, reader, route, body):
    if body.get("weapon_id") == 40:
        body = {**body, "weapon_id": reader.vocabularies[1].weapon_ids[0]}
    r = client.post(route, json=body)
    assert r.status_code == 422, r.text


def test_whatif_with_unknown_feature_is_404(client, reader):
    weapon = reader.vocabularies[1].weapon_ids[0]
    r = client.post(
        "/whatif", json={"weapon_id": weapon, "abilities": BUILD, "feature": reader.n_features}
    )
    assert r.status_code == 404


def test_batch_bounds(client):
    assert client.post("/batch/features", json={"feature_ids": []}).status_code == 422
    many = {"feature_ids": list(range(257))}
    assert client.post("/batch/features", json=many).status_code == 422
    bad = {"feature_ids": [0], "parts": ["secrets"]}
    assert client.post("/batch/features", json=bad).status_code == 422
    assert client.post("/batch/features", json={"feature_ids": [0, -5]}).status_code == 404


def test_malformed_and_oversized_bodies(client, auth):
    r = client.post("/encode", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    big = b"x" * ((16 << 20) + 1)
    r = client.post("/labels/import/consolidated", content=big, headers=auth)
    assert r.status_code == 413


def test_an_empty_home_answers_503_and_health_says_no_data(make_client, tmp_path):
    c = make_client(home=tmp_path / "empty")
    health = c.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "no_data"
    r = c.get("/activations/0")
    assert r.status_code == 503 and r.json()["asset"] == "feature_store"
    assert c.get("/features").status_code == 503


def test_writes_are_refused_without_a_configured_token(make_client):
    c = make_client(token=None)
    r = c.put("/labels/0", json={"name": "x"})
    assert r.status_code == 403 and "SPLAT_API_TOKEN" in r.json()["detail"]
    assert c.get("/labels/0").status_code == 200  # reads stay open on loopback


def test_writes_need_the_right_token(client, auth):
    assert client.put("/labels/0", json={"name": "x"}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.put("/labels/0", json={"name": "x"}, headers=wrong).status_code == 401
    assert client.put("/labels/0", json={"name": "x"}, headers=auth).status_code == 200
    assert client.delete("/labels/0").status_code == 401


def test_a_public_bind_needs_the_token_for_every_request(make_client, auth):
    c = make_client(token=TOKEN, bind_host="0.0.0.0")
    assert c.get("/health").status_code == 401
    assert c.get("/health", headers=auth).status_code == 200
    locked = make_client(token=None, bind_host="0.0.0.0")
    assert locked.get("/health").status_code == 403


def test_cors_is_off_unless_configured(make_client):
    origin = {"Origin": "http://evil.example"}
    assert "access-control-allow-origin" not in make_client().get("/health", headers=origin).headers
    c = make_client(cors_origins=("http://lab.example",))
    r = c.get("/health", headers={"Origin": "http://lab.example"})
    assert r.headers["access-control-allow-origin"] == "http://lab.example"


def test_no_parameter_names_a_path(client):
    """Every path and query parameter in the schema is an id, a count, a flag or a name."""
    spec = client.get("/openapi.json").json()
    names = {
        p["name"]
        for ops in spec["paths"].values()
        for op in ops.values()
        for p in op.get("parameters", [])
    }
    assert not {n for n in names if any(w in n.lower() for w in ("path", "file", "dir", "home"))}
