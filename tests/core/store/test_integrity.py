"""Checksums: every published file is in its version's manifest, and any damage to one is a
DamagedError naming the asset, version and file, never numbers."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import numpy as np
import pytest

from splat_core.query import DamagedError, Reader
from splat_core.store import artifacts, catalog
from splat_core.store.integrity import MANIFEST, Verifier, fingerprint, write_manifest
from splat_core.store.publishing import publish_asset


@pytest.fixture
def version(tmp_path):
    """An empty directory to fill as a version."""
    (tmp_path / "v").mkdir()
    return tmp_path / "v"


def _write(d):
    (d / "a.txt").write_text("alpha")
    (d / "sub").mkdir()
    (d / "sub" / "b.bin").write_bytes(b"\x00\x01" * 100)
    (d / "metrics.json").write_text('{"seconds": 1.5}')
    return {}


def test_the_manifest_hashes_every_file(version):
    _write(version)
    manifest = write_manifest(version, asset="thing", partition=None, version="v1")
    files = manifest["files"]
    assert sorted(files) == ["a.txt", "metrics.json", "sub/b.bin"]
    assert files["a.txt"] == {"sha256": hashlib.sha256(b"alpha").hexdigest(), "bytes": 5}
    assert json.loads((version / MANIFEST).read_text())["files"] == files
    # the fingerprint is of the content: a run's timings (metrics.json) are left out
    (version / "metrics.json").write_text('{"seconds": 9.0}')
    again = write_manifest(version, asset="thing", partition=None, version="v2")
    assert again["fingerprint"] == manifest["fingerprint"] == fingerprint(files)
    (version / "a.txt").write_text("alphb")
    assert (
        write_manifest(version, asset="t", partition=None, version="v3")["fingerprint"]
        != (manifest["fingerprint"])
    )


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda p: p.write_bytes(b"\x00\x02" + p.read_bytes()[2:]), "checksum mismatch"),
        (lambda p: p.write_bytes(p.read_bytes()[:50]), "50 bytes, expected 200"),
        (lambda p: p.unlink(), "missing"),
    ],
)
def test_each_kind_of_damage_is_named(version, damage, reason):
    _write(version)
    write_manifest(version, asset="thing", partition="003", version="v1")
    verifier = Verifier(version)
    verifier.check(version / "sub" / "b.bin")  # intact
    damage(version / "sub" / "b.bin")
    with pytest.raises(DamagedError) as err:
        verifier.check(version / "sub" / "b.bin")
    assert str(err.value) == f"thing[003] version v1: sub/b.bin: {reason}"
    assert (err.value.asset, err.value.version, err.value.file) == ("thing[003]", "v1", "sub/b.bin")
    assert Verifier(version).verify_all() == [str(err.value)]


def test_a_file_that_appears_and_a_broken_manifest_are_damage(version):
    _write(version)
    write_manifest(version, asset="thing", partition=None, version="v1")
    (version / "sub" / "new.bin").write_bytes(b"x")
    with pytest.raises(DamagedError, match="not in the manifest"):
        Verifier(version).check(version / "sub" / "new.bin")
    Verifier(version).check(version / "sub" / "never.bin")  # absent and unlisted: fine
    (version / MANIFEST).write_text("{not json")
    with pytest.raises(DamagedError, match="MANIFEST.json: unreadable"):
        Verifier(version)


def test_a_file_changed_after_it_was_checked_is_checked_again(version):
    _write(version)
    write_manifest(version, asset="thing", partition=None, version="v1")
    verifier = Verifier(version)
    path = version / "a.txt"
    verifier.check(path)
    path.write_text("omega")  # same size; a new mtime (and inode may stay)
    os.utime(path, ns=(1, 1))
    with pytest.raises(DamagedError, match="checksum mismatch"):
        verifier.check(path)


def test_versions_without_a_manifest_are_read_unchecked(version):
    _write(version)
    verifier = Verifier(version)
    assert not verifier.checked and verifier.verify_all() == []
    verifier.check(version / "a.txt")


def test_readers_refuse_damaged_stores_files_and_tables(tiny_home, tmp_path):
    """Through the one read path: the feature store's chunks (lazily, when a read touches
    them), its indptr and metadata (when it opens), a table, the samples, the SAE."""
    cases = [
        ("feature_store", "csc.zarr/data/c/0", lambda r: r.activations(0)),
        ("feature_store", "csc.zarr/indptr/c/0", lambda r: r.n_features),
        ("feature_store", "csc.zarr/zarr.json", lambda r: r.n_features),
        ("feature_stats", "feature_stats.parquet", lambda r: r.stats(0)),
        ("samples/000", "samples.parquet", lambda r: r.top_examples(0, 1)),
        ("sae", "sae.safetensors", lambda r: r.encode(40, {})),
    ]
    for i, (key, rel, query) in enumerate(cases):
        home = tmp_path / f"h{i}"
        shutil.copytree(tiny_home, home)
        with Reader.open(home) as reader:
            asset, _, part = key.partition("/")
            version = reader.versions[key]
            target = catalog.version_path(home, asset, version, part or None) / rel
            raw = bytearray(target.read_bytes())
            raw[len(raw) // 2] ^= 0xFF
            target.write_bytes(bytes(raw))
        with Reader.open(home) as reader, pytest.raises(DamagedError) as err:
            query(reader)
        assert (err.value.file, err.value.reason) == (rel, "checksum mismatch"), key
        assert err.value.version == version


def test_a_chunk_damaged_then_restored_while_open_reads_the_restored_file(tiny_home, tmp_path):
    """A reader open during the damage and the repair: errors while damaged, then exactly
    the original numbers, never those of the damaged file it had mapped (found by the
    fault-injection suite: the old map outlived the restore)."""
    home = tmp_path / "h"
    shutil.copytree(tiny_home, home)
    with Reader.open(home) as reader:
        key = next(k for k in reader.versions if k.startswith("activations/"))
        sample = 0
        want = reader.sample_features(sample, 10)
        directory = catalog.version_path(home, "activations", reader.versions[key], key[12:])
        chunk = directory / "csr.zarr" / "data" / "c" / "0"
        original = chunk.read_bytes()
        chunk.write_bytes(b"\xff" * len(original))  # in place: the same inode
        with pytest.raises(DamagedError, match="csr.zarr/data/c/0: checksum mismatch"):
            reader.sample_features(sample, 10)
        chunk.unlink()  # restored as a new file
        chunk.write_bytes(original)
        assert reader.sample_features(sample, 10) == want


def test_an_intact_home_reads_the_same_numbers(tiny_reader, tiny_home):
    """Checking costs nothing in correctness: the same activations as the raw stores."""
    csc = artifacts.open_artifact(catalog.current_path(tiny_home, "feature_store"))
    for f in (0, 5, tiny_reader.n_features - 1):
        ids, values = tiny_reader.activations(f)
        raw_ids, raw_values = csc.feature(f)
        assert np.array_equal(ids, raw_ids) and np.array_equal(values, raw_values)


def test_publishing_writes_the_manifest_into_the_version(tmp_path):
    publish_asset(tmp_path, "thing", _write)
    directory = catalog.current_path(tmp_path, "thing")
    manifest = json.loads((directory / MANIFEST).read_text())
    pointer = catalog.current_pointer(tmp_path, "thing")
    assert manifest["version"] == pointer["version"] == directory.name
    assert manifest["fingerprint"] == pointer["fingerprint"]
    assert Verifier(directory).verify_all() == []
