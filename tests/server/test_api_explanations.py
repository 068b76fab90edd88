"""The explanation routes against the feature_explanations Parquet file as a consumer reads
it (pyarrow, the served generation's version): the table, the summary and batch parts, a
rule re-scored through POST, and the bad-rule and unknown-feature errors."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from splat_core.explain.table import SCHEMA
from splat_core.investigate.explanations import explain_feature

ASSET = "feature_explanations"


@pytest.fixture
def table_rows(home) -> dict[int, list[dict]]:
    """feature id -> its rows without feature_id, best first, read straight from Parquet."""
    version = json.loads((home / "GENERATION.json").read_text())["versions"][ASSET]
    rows = pq.read_table(home / ASSET / version / f"{ASSET}.parquet").to_pylist()
    out: dict[int, list[dict]] = {}
    for row in sorted(rows, key=lambda r: (r["feature_id"], r["rank"])):
        out.setdefault(row.pop("feature_id"), []).append(row)
    return out


def test_tables_summary_and_batch_equal_the_parquet_rows(client, reader, table_rows):
    assert len(table_rows) > reader.n_features // 2
    for f in range(reader.n_features):
        assert client.get(f"/features/{f}/explanations").json() == table_rows.get(f, [])
    f = next(iter(table_rows))
    assert client.get(f"/features/{f}").json()["explanations"] == table_rows[f]
    body = client.post("/batch/features", json={"feature_ids": [f], "parts": ["explanations"]})
    assert body.json()["features"][0]["explanations"] == table_rows[f]


def test_rescoring_a_stored_rule_reproduces_its_row(client, table_rows):
    matched = 0
    for f, rows in table_rows.items():
        best = rows[0]
        r = client.post(f"/features/{f}/explanations/score", json={"rule": best["rule"]})
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["feature_id"] == f and got["rule"] == best["rule"]
        assert got["f1"] >= best["f1"]  # scored against the target it detects better
        if got["target"] == best["target"]:
            matched += 1
            assert got == {"feature_id": f, **{k: best[k] for k in got if k != "feature_id"}}
    assert matched > len(table_rows) // 2


def test_examples_of_the_best_rule(client, reader, table_rows):
    f = next(iter(table_rows))
    got = client.get(f"/features/{f}/explanations/examples", params={"k": 3}).json()
    want = explain_feature(reader, f, 3)
    assert got == {k: want[k] for k in ("hard_negatives", "misses")}
    assert got["hard_negatives"] and all(e["activation"] == 0 for e in got["hard_negatives"])
    assert client.get(f"/features/{f}/explanations/examples", params={"k": 101}).status_code == 422


def test_a_bad_rule_is_422_naming_the_column(client, reader):
    r = client.post("/features/0/explanations/score", json={"rule": "ninja_squid & class = pan"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["msg"] == "rule:23: unknown class 'pan'"
    assert client.post("/features/0/explanations/score", json={"rule": ""}).status_code == 422
    n = reader.n_features
    r = client.post(f"/features/{n}/explanations/score", json={"rule": "ninja_squid"})
    assert r.status_code == 404 and "unknown feature" in r.json()["detail"]
    for path in (f"/features/{n}/explanations", f"/features/{n}/explanations/examples"):
        assert client.get(path).status_code == 404


def test_the_schema_documents_the_routes_and_every_column(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert "get" in paths["/features/{feature_id}/explanations"]
    assert "get" in paths["/features/{feature_id}/explanations/examples"]
    assert "post" in paths["/features/{feature_id}/explanations/score"]
    models = spec["components"]["schemas"]
    assert set(models["ExplanationRow"]["properties"]) == set(SCHEMA.names) - {"feature_id"}
    assert "explanations" in models["FeatureSummary"]["required"]
