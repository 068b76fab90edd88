"""Labels through the API: the store's values, versions, history, the reference's
consolidated layout, and concurrent writers losing nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from splat_core.labels import LabelStore


def test_put_get_update_and_history(client, auth, home):
    body = {"name": "Swim runner", "category": "tactical", "notes": "SSU stacks", "confidence": 0.8}
    first = client.put("/labels/5", json=body, headers=auth).json()
    assert first["version"] == 1 and first["source"] == "api"
    assert client.get("/labels/5").json() == first
    assert LabelStore.open(home).get(5).to_dict() == first
    second = client.put(
        "/labels/5", json={**body, "name": "Runner", "expected_version": 1}, headers=auth
    ).json()
    assert second["version"] == 2 and second["created_at"] == first["created_at"]
    stale = client.put("/labels/5", json={**body, "expected_version": 1}, headers=auth)
    assert stale.status_code == 409 and stale.json()["current"]["version"] == 2
    history = client.get("/labels/5/history").json()
    assert [h["name"] for h in history] == ["Swim runner", "Runner"]
    assert client.get("/features/5").json()["label"]["name"] == "Runner"
    assert client.get("/features/index").json()[5]["label"] == "Runner"
    assert [x["feature_id"] for x in client.get("/labels", params={"q": "runn"}).json()] == [5]
    assert client.delete("/labels/5", headers=auth).json() == {"deleted": True}
    assert client.get("/labels/5").json() is None


def test_bad_label_values_are_422(client, auth):
    for body in (
        {"name": ""},
        {"name": "x", "category": "vibes"},
        {"name": "x", "confidence": 2},
        {"name": "x", "importance_percentile": 101},
        {"name": "x" * 201},
    ):
        assert client.put("/labels/1", json=body, headers=auth).status_code == 422, body


def test_consolidated_export_import_round_trip(client, auth, make_client, tmp_path):
    client.put("/labels/1", json={"name": "A", "category": "mechanical"}, headers=auth)
    client.put("/labels/2", json={"name": "B", "notes": "n", "confidence": 0.5}, headers=auth)
    exported = client.get("/labels/export/consolidated", params={"model_type": "ultra"}).json()
    assert set(exported) == {"1", "2"}
    assert exported["1"]["display_name"] == "A" and exported["1"]["model_type"] == "ultra"
    assert exported["2"]["interpretability_confidence"] == 0.5
    other = make_client(home=tmp_path / "other", token=client.app.state.splat.settings.token)
    r = other.post("/labels/import/consolidated", json=exported, headers=auth)
    assert r.json() == {"imported": 2}
    again = other.get("/labels/export/consolidated", params={"model_type": "ultra"}).json()
    assert {k: v["display_name"] for k, v in again.items()} == {"1": "A", "2": "B"}
    bad = {**exported, "3": {"feature_id": 3, "display_name": "C", "dashboard_category": "zzz"}}
    assert other.post("/labels/import/consolidated", json=bad, headers=auth).status_code == 422
    assert "3" not in other.get("/labels/export/consolidated").json()  # all or nothing


def test_concurrent_writers_lose_nothing(client, auth, home):
    def write(i: int):
        r = client.put(f"/labels/{i % 4}", json={"name": f"w{i}"}, headers=auth)
        return r.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(write, range(80)))
    assert codes == [200] * 80
    store = LabelStore.open(home)
    versions = [store.get(f).version for f in range(4)]
    assert versions == [20, 20, 20, 20]
    names = {h["name"] for f in range(4) for h in store.history(f)}
    assert names == {f"w{i}" for i in range(80)}


def test_a_label_rule_is_scored_on_write_and_rescored_on_read(client, auth, home):
    from splat_core.investigate.explanations import score_rule
    from splat_core.query import Reader

    with Reader.open(home) as reader:
        version, want = reader.data_version, score_rule(reader, 2, "class = shooter")
    r = client.put("/labels/2", json={"name": "shooters", "rule": "class=shooter"}, headers=auth)
    label = r.json()
    assert label["rule"] == "class = shooter" and label["rule_score"]["data_version"] == version
    assert label["rule_score"]["f1"] == pytest.approx(want["f1"])
    assert r.headers["X-Splat-Data-Version"] == version
    bad = client.put("/labels/2", json={"name": "x", "rule": "swim_speed_up 12"}, headers=auth)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["msg"].startswith("rule:15: expected '>= AP'")
    store = LabelStore.open(home)
    store.save_rule_score(2, "class = shooter", {"rule": "class = shooter", "data_version": "old"})
    assert client.get("/labels/2").json()["rule_score"] == label["rule_score"]
    assert store.get(2).rule_score == label["rule_score"]
    # a PUT replaces the label: no rule given, none kept
    plain = client.put("/labels/2", json={"name": "plain"}, headers=auth).json()
    assert (plain["rule"], plain["rule_score"]) == (None, None)
