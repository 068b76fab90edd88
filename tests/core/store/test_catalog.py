"""Versioned, atomic publication of assets under SPLAT_HOME."""

from __future__ import annotations

import pytest

from splat_core.store import generations
from splat_core.store.catalog import current_path, read_catalog
from splat_core.store.publishing import publish_asset, staged


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


def _versions(home, asset) -> list[str]:
    return sorted(p.name for p in (home / asset).iterdir() if p.name.startswith("v"))


def test_versions_a_reader_may_hold_are_kept_then_pruned(tmp_path, monkeypatch):
    for i in range(5):
        publish_asset(tmp_path, "thing", _write(str(i)))
    assert len(_versions(tmp_path, "thing")) == 5  # each served within RETAIN_S: kept
    monkeypatch.setattr(generations, "RETAIN_S", 0.0)
    publish_asset(tmp_path, "thing", _write("5"))
    # kept: the new current version, and those of the last KEEP_GENERATIONS generations
    assert len(_versions(tmp_path, "thing")) == 1 + generations.KEEP_GENERATIONS
    assert len(list((tmp_path / generations.HISTORY).iterdir())) == 1 + generations.KEEP_GENERATIONS


def test_missing_asset_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="asset thing is not materialized"):
        current_path(tmp_path, "thing")
    with staged(tmp_path, "thing") as d:
        assert d.exists()
