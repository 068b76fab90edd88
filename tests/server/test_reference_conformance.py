"""The reference project's client, as it talks to an activation server, against `splat serve
api` (uvicorn on 127.0.0.1): a new HTTP client per call, `/health` first, `polars.read_ipc`
on the raw Arrow body, the JSON `data` rows, the `X-*` headers. Every parameter combination
is checked for exact columns, dtypes and values against the dense activations computed from
the CSR shards (tests/conftest.py: `dense`), not against splat's own reader."""

from __future__ import annotations

import io
import itertools

import httpx
import numpy as np
import polars as pl
import pytest

from splat_cli.bench.http import api_server
from tests.helpers import ROOT

LIMITS = (None, 0, 1, 7, 10**6)
FRACS = (None, 0.0, 0.5, 1.0)
COMBOS = list(itertools.product(LIMITS, FRACS, (True, False)))
REFERENCE_COLUMNS = ["activation", "weapon_id", "ability_input_tokens"]


ARTIFACT = ROOT / "test-artifacts" / "conformance.md"  # the table, for a reader
TABLE: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def conformance_table():
    """Each checked route and parameter combination, written as a Markdown table at the end."""
    yield
    ARTIFACT.parent.mkdir(exist_ok=True)
    head = "| route | parameters | columns (dtypes) | rows compared | result |\n"
    ARTIFACT.write_text(head + "|---|---|---|---|---|\n" + "".join(TABLE))


@pytest.fixture
def record(request):
    """record(route, params, columns, rows): a table row, pass or fail as the test ends."""
    rows = []
    yield lambda *cells: rows.append(cells)
    report = getattr(request.node, "rep_call", None)  # tests/conftest.py keeps it
    result = "pass" if report is not None and report.passed else "FAIL"
    TABLE.extend(f"| {route} | {params} | {columns} | {n} | {result} |\n"
                 for route, params, columns, n in rows)  # fmt: skip


@pytest.fixture(scope="module")
def url(tiny_home):
    with api_server(tiny_home) as url:
        yield url


@pytest.fixture(scope="module")
def feature(tiny_reader):
    return int(tiny_reader.feature_counts().argmax())


def _params(limit, sample_frac, include_abilities) -> dict:
    """As the reference client sends them: include_abilities only when False."""
    params = {k: v for k, v in (("limit", limit), ("sample_frac", sample_frac)) if v is not None}
    if not include_abilities:
        params["include_abilities"] = "false"
    return params


def reference_arrow(url: str, f: int, **options):
    """ServerBackedDatabase.get_all_feature_activations_for_pagerank: health, then the Arrow
    route, each through a new client; the body parsed with polars.read_ipc."""
    with httpx.Client(timeout=2) as client:
        assert client.get(f"{url}/health").json()["status"] == "healthy"
    with httpx.Client(timeout=120) as client:
        r = client.get(f"{url}/activations/{f}/arrow", params=_params(**options))
    r.raise_for_status()
    return pl.read_ipc(io.BytesIO(r.content)), r.headers


def reference_json(url: str, f: int, **options) -> list[dict]:
    """ActivationClient.get_activations: the JSON route's `data` rows."""
    with httpx.Client(timeout=30) as client:
        r = client.get(f"{url}/activations/{f}", params=_params(**options))
    r.raise_for_status()
    body = r.json()
    assert list(body) == ["feature_id", "n_rows", "columns", "data", "load_time_ms"]
    assert body["n_rows"] == len(body["data"])
    return body


def expected(dense, tiny_reader, f, limit, sample_frac, include_abilities) -> dict:
    """The rows straight from the dense activations: highest first (ties by sample id), a
    seeded sample (seed 0) when sample_frac is given and not 0, the top `limit` unless 0."""
    acts, meta, _ = dense
    col = acts[:, f]
    order = np.lexsort((np.arange(len(col)), -col))[: int((col > 0).sum())]
    if sample_frac:
        pos = np.random.default_rng(0).choice(len(order), round(sample_frac * len(order)),
                                              replace=False)  # fmt: skip
        order = order[np.sort(pos)]
    if limit:
        order = order[:limit]
    vocab = tiny_reader.vocabularies[0]
    rows = {"activation": col[order].tolist(),
            "weapon_id": [meta[s][0] for s in order.tolist()]}  # fmt: skip
    if include_abilities:
        rows["ability_input_tokens"] = [vocab.encode(meta[s][1]) for s in order.tolist()]
    return rows


@pytest.mark.parametrize(("limit", "sample_frac", "include_abilities"), COMBOS)
def test_the_reference_client_reads_every_combination(
    url, dense, tiny_reader, feature, record, limit, sample_frac, include_abilities
):
    options = {"limit": limit, "sample_frac": sample_frac, "include_abilities": include_abilities}
    want = expected(dense, tiny_reader, feature, **options)
    names = REFERENCE_COLUMNS if include_abilities else REFERENCE_COLUMNS[:2]
    dtypes = ["Float32", "Int64", "List(Int64)"][: len(names)]
    params = ", ".join(f"{k}={v}" for k, v in _params(**options).items()) or "(none)"
    n = len(want["activation"])
    columns = ", ".join(f"{c} ({t})" for c, t in zip(names, dtypes, strict=True))
    record("GET /activations/{id}/arrow: polars.read_ipc", params, columns, n)
    record("GET /activations/{id}: JSON data rows", params, columns + "; float64 text", n)
    df, headers = reference_arrow(url, feature, **options)
    assert df.columns == names
    assert df.dtypes == [pl.Float32, pl.Int64, pl.List(pl.Int64)][: len(names)]
    got = df.to_dict(as_series=False)
    np.testing.assert_array_equal(np.asarray(got["activation"], np.float32),
                                  np.asarray(want["activation"], np.float32))  # fmt: skip
    assert got["weapon_id"] == want["weapon_id"]
    if include_abilities:
        assert got["ability_input_tokens"] == want["ability_input_tokens"]
    assert headers["x-feature-id"] == str(feature)
    assert headers["x-num-rows"] == str(len(want["activation"]))
    assert float(headers["x-load-time-ms"]) >= 0
    assert headers["x-cache-hit"] in ("true", "false")
    assert headers["content-type"] == "application/vnd.apache.arrow.stream"
    body = reference_json(url, feature, **options)
    assert body["columns"] == names and body["feature_id"] == feature
    assert [list(row) for row in body["data"]] == [names] * len(body["data"])
    assert [row["weapon_id"] for row in body["data"]] == want["weapon_id"]
    # the exact double of each float32, as the reference's Python floats: not float32 text
    assert [row["activation"] for row in body["data"]] == want["activation"]
    if include_abilities:
        tokens = [row["ability_input_tokens"] for row in body["data"]]
        assert tokens == want["ability_input_tokens"]


def test_an_unknown_feature_is_an_empty_frame_the_client_carries_on_with(url, tiny_reader, record):
    columns = "activation (Float32), weapon_id (Int64), ability_input_tokens (List(Int64))"
    record("GET /activations/{unknown id}/arrow", "(none)", columns, "0 (empty frame)")
    df, headers = reference_arrow(url, tiny_reader.n_features, limit=None, sample_frac=None,
                                  include_abilities=True)  # fmt: skip
    assert df.height == 0 and df.columns == REFERENCE_COLUMNS
    assert df.dtypes == [pl.Float32, pl.Int64, pl.List(pl.Int64)]
    assert headers["x-num-rows"] == "0"


def test_the_vocabularies_as_the_client_reads_them(url, tiny_reader, record):
    record("GET /context/vocab", "(none)", "vocab, weapon_vocab", "every token and weapon")
    with httpx.Client(timeout=30) as client:
        body = client.get(f"{url}/context/vocab").json()
    vocab, weapons = tiny_reader.vocabularies
    assert body["vocab"] == dict(vocab.token_to_id)
    assert body["weapon_vocab"] == dict(weapons.key_to_index)


def test_health_and_feature_ids_as_the_client_reads_them(url, tiny_reader, record):
    record("GET /health", "(none)", "status, model_type, n_features, uptime_seconds", 1)
    record("GET /features", "(none)", "feature_ids", tiny_reader.n_features)
    with httpx.Client(timeout=2) as client:
        health = client.get(f"{url}/health").json()
    assert health["status"] == "healthy" and health["n_features"] == tiny_reader.n_features
    assert isinstance(health["model_type"], str) and health["uptime_seconds"] >= 0
    with httpx.Client(timeout=10) as client:
        ids = client.get(f"{url}/features").json()["feature_ids"]
    assert ids == list(range(tiny_reader.n_features))
