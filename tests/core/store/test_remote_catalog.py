"""A SPLAT_HOME that is an fsspec URL: the catalog on fsspec's in-memory filesystem.

The object store holds the versions and CURRENT.json; this machine holds a cache of the
versions it has read or written (SPLAT_CACHE_DIR). The same protocol runs against a real
S3-compatible server in tests/assets/test_s3.py.
"""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from splat_core.labels import LabelStore
from splat_core.query import Reader
from splat_core.query.errors import MissingAssetError
from splat_core.store import catalog, generations, homes, publishing
from splat_core.store.homes import splat_home

MEMORY = fsspec.filesystem("memory")


@pytest.fixture
def remote_home(tmp_path, monkeypatch):
    """A fresh remote home (memory://) and a fresh local cache."""
    monkeypatch.setenv("SPLAT_CACHE_DIR", str(tmp_path / "cache"))
    url = f"memory://splat-test/{uuid.uuid4().hex}"
    yield url
    if MEMORY.exists(url):
        MEMORY.rm(url, recursive=True)


def fresh_cache(monkeypatch, tmp_path) -> Path:
    """Another machine: same home, empty cache."""
    cache = tmp_path / f"cache-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("SPLAT_CACHE_DIR", str(cache))
    return cache


def _write(text):
    def write(d):
        (d / "value.txt").write_text(text)
        (d / "nested").mkdir()
        (d / "nested" / "blob.bin").write_bytes(text.encode() * 3)
        return {"text": text}

    return write


def _remote_files(url: str) -> list[str]:
    root = url[len("memory://") :]
    return sorted(f.split(root, 1)[1].lstrip("/") for f in MEMORY.find(url))


def _versions(url: str, asset: str) -> list[str]:
    parts = [f.split("/") for f in _remote_files(url)]
    return sorted({p[1] for p in parts if p[0] == asset and p[1].startswith("v")})


# --- what a remote home is -------------------------------------------------------------------


def test_urls_are_not_mangled_and_local_paths_stay_paths(tmp_path):
    assert homes.is_remote("s3://bucket/prefix") and homes.is_remote("memory://x")
    assert not homes.is_remote(tmp_path) and not homes.is_remote("./splat_home")
    assert not homes.is_remote("file:///tmp/x")
    assert homes.normalize("s3://bucket/prefix/") == "s3://bucket/prefix"
    assert homes.normalize("file:///tmp/x") == Path("/tmp/x")
    assert homes.normalize(str(tmp_path)) == tmp_path
    assert splat_home("s3://bucket/prefix") == "s3://bucket/prefix"
    assert splat_home(str(tmp_path)) == tmp_path
    assert homes.resolve("s3://b/p") == "s3://b/p"
    assert catalog.asset_root("s3://b/p", "samples", "000") == "s3://b/p/samples/000"
    assert catalog.asset_root(tmp_path, "samples", "000") == tmp_path / "samples" / "000"


def test_splat_home_from_the_environment(monkeypatch):
    monkeypatch.setenv("SPLAT_HOME", "s3://bucket/some/prefix")
    assert splat_home() == "s3://bucket/some/prefix"


def test_cache_dir_per_home_and_endpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("SPLAT_CACHE_DIR", str(tmp_path))
    a, b = homes.cache_dir("s3://b/one"), homes.cache_dir("s3://b/two")
    assert a != b and a.parent == b.parent == tmp_path
    assert homes.cache_dir("s3://b/one/") == a
    assert (a / "HOME").read_text().splitlines() == ["s3://b/one"]
    monkeypatch.setenv("SPLAT_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    assert homes.cache_dir("s3://b/one") != a  # another server's bucket is another home
    assert homes.storage_options("s3") == {"endpoint_url": "http://127.0.0.1:9000"}
    assert homes.storage_options("memory") == {}


def test_storage_options_from_json(monkeypatch):
    monkeypatch.setenv("SPLAT_STORAGE_OPTIONS", '{"anon": true}')
    assert homes.storage_options("s3") == {"anon": True}
    monkeypatch.setenv("SPLAT_STORAGE_OPTIONS", "anon")
    with pytest.raises(ValueError, match="SPLAT_STORAGE_OPTIONS"):
        homes.storage_options("s3")


# --- publishing and reading back -----------------------------------------------------------


def test_publish_then_read_back(remote_home, tmp_path):
    publishing.publish_asset(remote_home, "thing", _write("one"))
    publishing.publish_asset(remote_home, "parted", _write("p0"), partition="000")
    info = catalog.read_catalog(remote_home)
    version = info["thing"]["version"]
    entry = info["thing"]
    assert {k: entry[k] for k in ("path", "version", "metadata", "inputs")} == {
        "path": f"{remote_home}/thing/{version}",
        "version": version,
        "metadata": {"text": "one"},
        "inputs": {},  # not an asset of the contract: no inputs
    }
    assert len(entry["fingerprint"]) == 16
    assert info["parted"]["partitions"]["000"]["metadata"] == {"text": "p0"}
    assert info["parted"]["partitions"]["000"]["path"].startswith(f"{remote_home}/parted/000/v")
    assert list(info) == ["thing", "parted"]  # the local catalog's order
    local = catalog.current_path(remote_home, "thing")
    assert local.is_relative_to(tmp_path / "cache")
    assert (local / "value.txt").read_text() == "one"
    assert (local / "nested" / "blob.bin").read_bytes() == b"oneoneone"


def test_the_store_holds_the_version_and_its_pointer(remote_home):
    publishing.publish_asset(remote_home, "thing", _write("one"))
    files = _remote_files(remote_home)
    version = catalog.current_pointer(remote_home, "thing")["version"]
    gen = json.loads(MEMORY.cat_file(f"{remote_home}/GENERATION.json"))
    assert files == [
        "GENERATION.json",
        f"generations/{gen['id']}.json",
        "thing/CURRENT.json",
        f"thing/{version}/MANIFEST.json",
        f"thing/{version}/nested/blob.bin",
        f"thing/{version}/value.txt",
    ]
    assert gen["versions"] == {"thing": version}  # the served generation names it
    pointer = json.loads(MEMORY.cat_file(f"{remote_home}/thing/CURRENT.json"))
    assert pointer["version"] == version and pointer["metadata"] == {"text": "one"}
    # the local staging directory became the cached copy: nothing left behind
    local_root = homes.cache_dir(remote_home) / "thing"
    assert sorted(p.name for p in local_root.iterdir()) == [version]


def test_a_fresh_cache_downloads_the_current_version_once(remote_home, tmp_path, monkeypatch):
    publishing.publish_asset(remote_home, "thing", _write("one"))
    fresh_cache(monkeypatch, tmp_path)
    fetched = []
    real = homes.fetch_dir

    def counting(url, final):
        fetched.append(url)
        return real(url, final)

    monkeypatch.setattr(homes, "fetch_dir", counting)
    first = catalog.current_path(remote_home, "thing")
    again = catalog.current_path(remote_home, "thing")
    assert first == again and (first / "value.txt").read_text() == "one"
    assert fetched == [
        f"{remote_home}/thing/{catalog.current_pointer(remote_home, 'thing')['version']}"
    ]
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".fetch")]


def test_a_new_version_is_seen_by_another_machine(remote_home, tmp_path, monkeypatch):
    publishing.publish_asset(remote_home, "thing", _write("one"))
    writer_cache = homes.cache_dir(remote_home)
    fresh_cache(monkeypatch, tmp_path)
    old = catalog.current_path(remote_home, "thing")
    monkeypatch.setenv("SPLAT_CACHE_DIR", str(writer_cache.parent))
    publishing.publish_asset(remote_home, "thing", _write("two"))
    fresh_cache(monkeypatch, tmp_path)
    assert (catalog.current_path(remote_home, "thing") / "value.txt").read_text() == "two"
    assert (old / "value.txt").read_text() == "one"  # a reader on the old copy keeps it


def test_a_failed_upload_leaves_the_previous_version_current(remote_home, tmp_path, monkeypatch):
    publishing.publish_asset(remote_home, "thing", _write("one"))
    before = catalog.current_pointer(remote_home, "thing")
    real_put = MemoryFileSystem.put_file
    calls = []

    def flaky(self, lpath, rpath, *args, **kwargs):
        calls.append(rpath)
        if len(calls) > 1:
            raise ConnectionError("network down")
        return real_put(self, lpath, rpath, *args, **kwargs)

    monkeypatch.setattr(MemoryFileSystem, "put_file", flaky)
    with pytest.raises(ConnectionError, match="network down"):
        publishing.publish_asset(remote_home, "thing", _write("two"))
    monkeypatch.setattr(MemoryFileSystem, "put_file", real_put)
    assert len(calls) == 2  # one file made it up before the failure
    assert catalog.current_pointer(remote_home, "thing") == before
    assert _versions(remote_home, "thing") == [before["version"]]  # the partial one was removed
    local_root = homes.cache_dir(remote_home) / "thing"
    assert [p.name for p in local_root.iterdir()] == [before["version"]]  # no staging left
    fresh_cache(monkeypatch, tmp_path)
    assert (catalog.current_path(remote_home, "thing") / "value.txt").read_text() == "one"


def test_a_failed_write_uploads_nothing(remote_home):
    def crash(d):
        (d / "value.txt").write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        publishing.publish_asset(remote_home, "thing", crash)
    assert catalog.read_catalog(remote_home) == {}
    assert not MEMORY.exists(remote_home)


def test_old_versions_are_pruned_remotely_and_in_the_cache(remote_home, tmp_path, monkeypatch):
    monkeypatch.setattr(generations, "RETAIN_S", 0.0)  # keep only what the last ones name
    for i in range(5):
        publishing.publish_asset(remote_home, "thing", _write(str(i)))
    kept = 1 + generations.KEEP_GENERATIONS
    assert len(_versions(remote_home, "thing")) == kept
    assert len([p for p in (homes.cache_dir(remote_home) / "thing").iterdir()]) == kept
    assert (catalog.current_path(remote_home, "thing") / "value.txt").read_text() == "4"


def test_missing_asset_and_empty_home(remote_home):
    assert catalog.read_catalog(remote_home) == {}
    assert catalog.current_pointer(remote_home, "thing") is None
    with pytest.raises(
        FileNotFoundError, match=f"asset thing is not materialized under {remote_home}"
    ):
        catalog.current_path(remote_home, "thing")
    with pytest.raises(MissingAssetError, match=remote_home):
        Reader.open(remote_home).path("thing")


def test_a_pruned_version_is_a_clear_error(remote_home, tmp_path, monkeypatch):
    publishing.publish_asset(remote_home, "thing", _write("one"))
    version = catalog.current_pointer(remote_home, "thing")["version"]
    MEMORY.rm(f"{remote_home}/thing/{version}", recursive=True)
    fresh_cache(monkeypatch, tmp_path)
    with pytest.raises(FileNotFoundError, match=f"{remote_home}/thing/{version}: no such version"):
        catalog.current_path(remote_home, "thing")


def test_concurrent_readers_share_one_complete_copy(remote_home, tmp_path, monkeypatch):
    publishing.publish_asset(remote_home, "thing", _write("one"))
    fresh_cache(monkeypatch, tmp_path)
    out, errors = [], []

    def read():
        try:
            out.append((catalog.current_path(remote_home, "thing") / "value.txt").read_text())
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and out == ["one"] * 4


def test_the_reader_fetches_only_what_it_reads(remote_home, tmp_path, monkeypatch):
    publishing.publish_asset(remote_home, "thing", _write("one"))
    publishing.publish_asset(remote_home, "other", _write("two"))
    publishing.publish_asset(remote_home, "parted", _write("p0"), partition="000")
    cache = fresh_cache(monkeypatch, tmp_path)
    reader = Reader.open(remote_home)
    assert reader.home == remote_home
    assert set(reader.versions) == {"thing", "other", "parted/000"}
    assert not cache.exists() or not list(cache.glob("*/thing"))  # nothing fetched yet
    assert (reader.path("thing") / "value.txt").read_text() == "one"
    assert (reader.partitions("parted")["000"] / "value.txt").read_text() == "p0"
    assert not list(cache.glob("*/other"))
    publishing.publish_asset(remote_home, "thing", _write("three"))
    assert (reader.path("thing") / "value.txt").read_text() == "one"  # its snapshot
    assert reader.refresh() and (reader.path("thing") / "value.txt").read_text() == "three"


def test_local_state_of_a_remote_home_stays_on_this_machine(remote_home):
    store = LabelStore.open(remote_home)
    store.set(1, name="local")
    assert store.path == homes.cache_dir(remote_home) / "labels" / "labels.sqlite"
    assert store.path.exists() and not MEMORY.exists(f"{remote_home}/labels")
    assert homes.local_dir(remote_home) == homes.cache_dir(remote_home)
