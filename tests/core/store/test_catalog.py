"""Versioned, atomic publication of assets under SPLAT_HOME."""

from __future__ import annotations

import pytest

from splat_core.store.catalog import (
    current_path,
    publish_asset,
    read_catalog,
    staged,
)


def _write(text):
    def write(d):
        (d / "value.txt").write_text(text)
        return {"text": text}

    return write


def test_publish_then_read_back(tmp_path):
    publish_asset(tmp_path, "thing", _write("one"))
    assert (current_path(tmp_path, "thing") / "value.txt").read_text() == "one"
    publish_asset(tmp_path, "parted", _write("p0"), partition="000")
    catalog = read_catalog(tmp_path)
    assert catalog["thing"]["metadata"] == {"text": "one"}
    assert catalog["parted"]["partitions"]["000"]["metadata"] == {"text": "p0"}


def test_a_reader_keeps_its_version_while_a_new_one_is_published(tmp_path):
    publish_asset(tmp_path, "thing", _write("one"))
    old = current_path(tmp_path, "thing")
    publish_asset(tmp_path, "thing", _write("two"))
    assert (old / "value.txt").read_text() == "one"  # still readable
    assert (current_path(tmp_path, "thing") / "value.txt").read_text() == "two"


def test_an_interrupted_write_leaves_the_previous_version_current(tmp_path):
    publish_asset(tmp_path, "thing", _write("one"))

    def crash(d):
        (d / "value.txt").write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        publish_asset(tmp_path, "thing", crash)
    assert (current_path(tmp_path, "thing") / "value.txt").read_text() == "one"
    assert not [p for p in (tmp_path / "thing").iterdir() if p.name.startswith(".staging")]


def test_old_versions_are_pruned(tmp_path):
    for i in range(5):
        publish_asset(tmp_path, "thing", _write(str(i)))
    versions = [p for p in (tmp_path / "thing").iterdir() if p.name.startswith("v")]
    assert len(versions) == 2


def test_missing_asset_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="asset thing is not materialized"):
        current_path(tmp_path, "thing")
    with staged(tmp_path, "thing") as d:
        assert d.exists()
