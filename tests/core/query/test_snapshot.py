"""One snapshot per reader: it keeps its versions until refresh; a successor and the live
reader move to newer ones."""

from __future__ import annotations

import shutil

import numpy as np
import zarr

from splat_core.query import (
    LiveReader,
    Reader,
)
from splat_core.store import catalog, publishing


def test_reader_keeps_its_snapshot_until_refresh(bare):
    old_dir = catalog.current_path(bare, "feature_store")
    with Reader.open(bare) as reader:
        f = int(reader.feature_counts().argmax())
        ids, values = reader.activations(f)
        old_version = reader.versions["feature_store"]

        def write(d):
            shutil.copytree(old_dir, d, dirs_exist_ok=True)
            data = zarr.open_array(str(d / "csc.zarr" / "data"), mode="r+")
            data[:] = data[:] * 2
            return {}

        publishing.publish_asset(bare, "feature_store", write)
        again_ids, again_values = reader.activations(f)  # still the old version
        np.testing.assert_array_equal(again_values, values)
        assert reader.versions["feature_store"] == old_version
        assert reader.refresh() is True
        assert reader.versions["feature_store"] != old_version
        new_ids, new_values = reader.activations(f)
        np.testing.assert_array_equal(new_ids, ids)
        np.testing.assert_array_equal(new_values, values * 2)
        assert reader.refresh() is False


def test_successor_is_a_new_snapshot_that_keeps_what_is_still_current(bare):
    old_dir = catalog.current_path(bare, "feature_store")
    reader = Reader.open(bare)
    assert reader.successor() is reader  # nothing published: the same snapshot
    f = int(reader.feature_counts().argmax())
    ids, values = reader.activations(f)
    samples = reader.samples

    def write(d):
        shutil.copytree(old_dir, d, dirs_exist_ok=True)
        data = zarr.open_array(str(d / "csc.zarr" / "data"), mode="r+")
        data[:] = data[:] * 3
        return {}

    publishing.publish_asset(bare, "feature_store", write)
    new = reader.successor()
    assert new is not reader
    np.testing.assert_array_equal(reader.activations(f)[1], values)  # old one untouched
    np.testing.assert_array_equal(new.activations(f)[1], values * 3)
    np.testing.assert_array_equal(new.activations(f)[0], ids)
    assert new.samples is samples  # unchanged assets are not loaded again


def test_live_reader_notices_a_publication_when_its_check_is_due(bare):
    now = [0.0]
    live = LiveReader(bare, check_every=5.0, clock=lambda: now[0])
    first = live.get()
    old_dir = catalog.current_path(bare, "feature_store")
    publishing.publish_asset(bare, "feature_store", lambda d: shutil.copytree(old_dir, d,
                          dirs_exist_ok=True) and {})  # fmt: skip
    now[0] = 4.9
    assert live.get() is first  # not due yet
    now[0] = 5.0
    second = live.get()
    assert second is not first
    assert second.versions["feature_store"] != first.versions["feature_store"]
    now[0] = 20.0
    assert live.get() is second  # due, but nothing new
