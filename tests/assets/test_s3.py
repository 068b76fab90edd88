"""SPLAT_HOME on object storage: the whole `tiny` graph materialized into an S3 bucket on a
real S3-compatible server (moto's, on loopback, started here), then queried back through the
query layer and the HTTP API from a fresh cache, as another machine would."""

from __future__ import annotations

import json
import logging
import uuid

import boto3
import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer

from splat_assets.instance import prepare_dagster_home
from splat_cli.main import main
from splat_core.query import Reader
from splat_core.store import catalog, homes
from splat_core.store.contract import ANALYSIS_ASSETS
from splat_server.app import create_app
from splat_server.settings import ServerSettings
from tests.helpers import shard_entries

BUCKET = "splat-test"
HOME = f"s3://{BUCKET}/homes/tiny"
ASSETS = {"vocab", "builds", "samples", "base_model", "pooled", "sae", "activations",
          "feature_store", *ANALYSIS_ASSETS}  # fmt: skip
TOKEN = "test-token-0123456789"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """An S3 server on 127.0.0.1 (a free port) with one bucket; the environment points at it."""
    requests_log = logging.getLogger("werkzeug")  # one line per request otherwise
    level = requests_log.level
    requests_log.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        with pytest.MonkeyPatch.context() as mp:
            for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                                "AWS_DEFAULT_REGION": "us-east-1",
                                "AWS_EC2_METADATA_DISABLED": "true",
                                "SPLAT_S3_ENDPOINT_URL": endpoint}.items():  # fmt: skip
                mp.setenv(name, value)
            for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                         "AWS_ENDPOINT_URL_S3", "SPLAT_STORAGE_OPTIONS"):  # fmt: skip
                mp.delenv(name, raising=False)
            client = boto3.client("s3", endpoint_url=endpoint)
            client.create_bucket(Bucket=BUCKET)
            yield client, mp
    finally:
        server.stop()
        requests_log.setLevel(level)


@pytest.fixture(scope="module")
def materialized(s3, tmp_path_factory):
    """`splat materialize --profile tiny --home s3://...` with local Dagster storage."""
    client, mp = s3
    dagster_home = tmp_path_factory.mktemp("dagster_home")
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    writer_cache = tmp_path_factory.mktemp("writer_cache")
    mp.setenv("DAGSTER_HOME", str(dagster_home))
    mp.setenv("SPLAT_DAGSTER_STORAGE", str(dagster_home / "storage"))
    mp.setenv("SPLAT_CACHE_DIR", str(writer_cache))
    mp.setenv("SPLAT_HOME", HOME)  # restored after the module: the CLI sets it too
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny graph is small; one thread is robust on a busy CPU
    try:
        assert main(["materialize", "--profile", "tiny", "--home", HOME]) == 0
    finally:
        torch.set_num_threads(threads)
    return client, writer_cache


@pytest.fixture
def reader_env(materialized, tmp_path, monkeypatch):
    """Another machine: same bucket, an empty cache."""
    monkeypatch.setenv("SPLAT_CACHE_DIR", str(tmp_path / "reader_cache"))
    return tmp_path / "reader_cache"


def _keys(client, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_every_asset_lives_in_the_bucket(materialized):
    client, _ = materialized
    keys = _keys(client, "homes/tiny/")
    assert keys and all(k.startswith("homes/tiny/") for k in keys)
    pointers = {k.removeprefix("homes/tiny/") for k in keys if k.endswith("/CURRENT.json")}
    expected = {f"{a}/CURRENT.json" for a in ASSETS - {"samples", "pooled", "activations"}}
    expected |= {f"{a}/{p}/CURRENT.json" for a in ("samples", "pooled", "activations")
                 for p in ("000", "001")}  # fmt: skip
    assert pointers == expected
    for pointer_key in pointers:  # each names a complete version that is there
        body = client.get_object(Bucket=BUCKET, Key=f"homes/tiny/{pointer_key}")["Body"].read()
        version = json.loads(body)["version"]
        root = f"homes/tiny/{pointer_key.removesuffix('CURRENT.json')}{version}/"
        assert f"{root}artifact.json" in keys or any(k.startswith(root) for k in keys)
    store = [k for k in keys if k.startswith("homes/tiny/feature_store/v")]
    assert any("/indptr/" in k for k in store) and any("/data/" in k for k in store)
    # staging directories, the Dagster instance and the cache never reach the bucket
    assert not [k for k in keys if "/.staging" in k or "/dagster/" in k or "/.fetch" in k]


def test_catalog_and_info_name_the_bucket(materialized, reader_env, capsys):
    info = catalog.read_catalog(HOME)
    assert set(info) == ASSETS
    assert set(info["activations"]["partitions"]) == {"000", "001"}
    assert info["feature_store"]["path"].startswith(f"{HOME}/feature_store/v")
    shard_nnz = sum(p["metadata"]["nnz"] for p in info["activations"]["partitions"].values())
    assert info["feature_store"]["metadata"]["nnz"] == shard_nnz
    capsys.readouterr()
    assert main(["info", "--json", "--home", HOME]) == 0
    printed = json.loads(capsys.readouterr().out)
    stale = [e.pop("stale") for e in printed.values() if "version" in e]
    stale += [p.pop("stale") for e in printed.values() for p in e.get("partitions", {}).values()]
    assert stale and set(stale) == {None}  # the catalog, each entry saying it is up to date
    assert printed == json.loads(json.dumps(info, default=str))
    assert main(["info", "--home", HOME]) == 0
    assert f"2 partitions under {HOME}/activations" in capsys.readouterr().out


def test_a_fresh_cache_reads_the_bytes_that_were_written(materialized, reader_env):
    _, writer_cache = materialized
    fetched = catalog.current_path(HOME, "feature_store")
    assert fetched.is_relative_to(reader_env)
    written = homes.cache_dir(HOME).relative_to(reader_env)  # same home, same digest
    original = writer_cache / written / fetched.relative_to(reader_env / written)
    files = sorted(p.relative_to(original) for p in original.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(fetched) for p in fetched.rglob("*") if p.is_file())
    for rel in files:
        assert (original / rel).read_bytes() == (fetched / rel).read_bytes()


def test_top_activations_through_the_query_layer(materialized, reader_env):
    with Reader.open(HOME) as reader:
        assert reader.home == HOME
        info = catalog.read_catalog(HOME)
        assert reader.versions["feature_store"] == info["feature_store"]["version"]
        # direct computation from the activations asset (CSR shards), read from the bucket
        rows, cols, vals = shard_entries(HOME)
        assert reader.n_samples == info["feature_store"]["metadata"]["n_samples"]
        for f in range(reader.n_features):
            mine = cols == f
            order = np.lexsort((rows[mine], -vals[mine]))[:10]
            ids, values = reader.activations(f, limit=10)
            np.testing.assert_array_equal(ids, rows[mine][order])
            np.testing.assert_array_equal(values, vals[mine][order])
        f = int(reader.feature_counts().argmax())
        top = reader.top_examples(f, 5)
        assert [e.sample_id for e in top] == list(reader.activations(f, limit=5)[0])
        assert reader.stats(f)["nnz"] == int(reader.feature_counts()[f])
        sample = int(top[0].sample_id)
        assert f in [row["feature_id"] for row in reader.sample_features(sample)]


def test_the_api_serves_the_bucket(materialized, reader_env, monkeypatch):
    monkeypatch.setenv("SPLAT_HOME", HOME)
    monkeypatch.setenv("SPLAT_API_TOKEN", TOKEN)
    settings = ServerSettings.from_env()
    assert settings.home == HOME
    client = TestClient(create_app(settings))
    with Reader.open(HOME) as reader:
        health = client.get("/health").json()
        assert health["status"] == "healthy"
        assert health["n_features"] == reader.n_features
        assert health["versions"] == reader.versions
        f = int(reader.feature_counts().argmax())
        body = client.get(f"/activations/{f}", params={"limit": 5, "shape": "splat"}).json()
        assert body["data"] == reader.activation_list(f, 5).to_pylist()
        summary = client.get(f"/features/{f}", params={"top_k": 3}).json()
        assert summary["nnz"] == int(reader.feature_counts()[f])
        assert summary["stats"] == pytest.approx(reader.stats(f))
    # labels are written on this machine, next to the cache; never into the bucket
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = client.put(f"/labels/{f}", json={"name": "from s3"}, headers=auth)
    assert r.status_code == 200 and r.json()["version"] == 1
    assert client.get(f"/features/{f}").json()["label"]["name"] == "from s3"
    assert (homes.cache_dir(HOME) / "labels" / "labels.sqlite").is_file()
    assert not [k for k in _keys(materialized[0], "homes/tiny/") if "/labels/" in k]


def test_a_missing_bucket_or_home_is_a_clear_error(materialized, reader_env):
    missing = f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/home"
    with pytest.raises(FileNotFoundError, match="no-such-bucket.*does not exist"):
        Reader.open(missing)
    with pytest.raises(FileNotFoundError, match="no-such-bucket.*does not exist"):
        catalog.current_path(missing, "vocab")
    empty = f"s3://{BUCKET}/nothing-here"
    assert catalog.read_catalog(empty) == {}
    with pytest.raises(FileNotFoundError, match=f"asset vocab is not materialized under {empty}"):
        catalog.current_path(empty, "vocab")


def test_dagster_storage_of_a_remote_home_stays_local(tmp_path, monkeypatch):
    for name in ("DAGSTER_HOME", "SPLAT_DAGSTER_STORAGE"):  # restored after the test
        monkeypatch.setenv(name, "unset")
        monkeypatch.delenv(name)
    monkeypatch.setenv("SPLAT_CACHE_DIR", str(tmp_path))
    dagster_home = prepare_dagster_home("s3://some-bucket/prefix")
    assert dagster_home == homes.cache_dir("s3://some-bucket/prefix") / "dagster"
    assert (dagster_home / "dagster.yaml").exists()
