"""The synthetic seed-scale store, at a small scale: a complete home the Reader opens, exact
sizes and big-feature counts, activations equal to the CSR shards, and the seed's dense
layouts reading the same activations."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from splat_cli.bench.activation_plan import distinct_draws
from splat_cli.bench.dense_zarr import (
    read_batch_scan,
    read_dense_feature,
    read_dense_top,
    row_bytes,
    write_dense_rows,
    write_sample_major,
)
from splat_cli.bench.seed_store import SEED_ANALYSIS as ANALYSIS_ASSETS  # what a seed store feeds
from splat_cli.bench.seed_store import sample_plan, write_seed_store
from splat_core.query import Reader
from splat_core.sparse import check_csc, check_csr, open_csc
from splat_core.store import catalog
from tests.helpers import seed_map_by_pca

SMALL = {"n_samples": 20_000, "n_features": 512, "n_shards": 2, "active_per_sample": 64,
         "big_features": ((0, 10_000), (1, 2_000)), "hidden": 32, "seed": 3}  # fmt: skip


def _quiet(_message: str) -> None:
    pass


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    home = tmp_path_factory.mktemp("seed") / "home"
    with seed_map_by_pca():
        report = write_seed_store(home, analysis=True, progress=_quiet, **SMALL)
    return home, report


def _csr(reader: Reader) -> sp.csr_matrix:
    shards = reader.activation_shards()
    return sp.vstack([s.row_slice(0, s.n_rows) for s in shards]).tocsr()


def test_home_opens_with_the_asked_sizes(store):
    home, report = store
    reader = Reader.open(home)
    assert (reader.n_samples, reader.n_features) == (20_000, 512)
    assert report["n_samples"] == 20_000 and report["nnz"] == reader.csc.nnz
    assert len(reader.samples.weapon) == 20_000
    assert set(reader.partitions("activations")) == set(reader.partitions("samples"))
    meta = catalog.read_catalog(home)
    assert meta["feature_store"]["metadata"]["synthesized"] is True
    assert all(p["metadata"]["synthesized"] for p in meta["activations"]["partitions"].values())


def test_big_features_and_density(store):
    home, report = store
    reader = Reader.open(home)
    counts = reader.feature_counts()
    assert counts[0] == 10_000 and counts[1] == 2_000
    assert report["big_features"] == {0: 10_000, 1: 2_000}
    assert reader.csc.nnz / reader.n_samples >= 64
    assert np.diff(_csr(reader).indptr).min() >= 64
    assert counts[2:].max() < counts[0]  # the planted feature is the largest


def test_stores_are_valid(store):
    home, _ = store
    reader = Reader.open(home)
    for shard in reader.activation_shards():
        assert check_csr(shard) == []
    assert check_csc(reader.csc) == []


@pytest.mark.parametrize("f", [0, 1, 2, 100, 511])
def test_activations_equal_the_csr_shards(store, f):
    reader = Reader.open(store[0])
    col = _csr(reader).tocsc()[:, f]
    ids, values = col.indices.astype(np.int64), col.data.astype(np.float32)
    order = np.lexsort((ids, -values))
    got_ids, got_values = reader.activations(f)
    np.testing.assert_array_equal(got_ids, ids[order])
    np.testing.assert_array_equal(got_values, values[order])
    assert (got_values > 0).all()


def test_analysis_tables_exist(store):
    home, report = store
    reader = Reader.open(home)
    assert reader.stats(0)["nnz"] == 10_000
    assert sum(r["count"] for r in reader.histogram(1)) == 2_000
    assert reader.tokens(0) and reader.weapons(0) and reader.influence(0)
    assert reader.neighbors(5) and reader.token_idf()
    assert set(ANALYSIS_ASSETS) <= set(report["assets"]) and report["slow_steps"] == []


def test_dense_baseline_reads_the_same(store, tmp_path):
    reader = Reader.open(store[0])
    features = [0, 1, 7, 300]
    dense = write_dense_rows(tmp_path / "dense.zarr", reader.csc, features,
                             reader.n_samples, reader.n_features)  # fmt: skip
    for f in features:
        ids, values = reader.activations(f)
        order = np.argsort(ids)
        d_ids, d_values = read_dense_feature(dense, f)
        np.testing.assert_array_equal(d_ids, ids[order])
        np.testing.assert_array_equal(d_values, values[order])
        top_ids, top_values = read_dense_top(dense, f, 50)
        q_ids, q_values = reader.activations(f, limit=50)
        np.testing.assert_array_equal(top_ids, q_ids)
        np.testing.assert_array_equal(top_values, q_values)
        assert row_bytes(dense, f) == dense.attrs["written_bytes"][str(f)] > 0
    assert len(read_dense_feature(dense, 2)[0]) == 0  # an unwritten row reads as zeros


def test_batch_scan_reads_the_same(store, tmp_path):
    reader = Reader.open(store[0])
    arr = write_sample_major(tmp_path / "batches.zarr", reader.activation_shards(),
                             reader.n_samples, reader.n_features)  # fmt: skip
    ids, values = reader.activations(1)
    order = np.argsort(ids)
    s_ids, s_values = read_batch_scan(arr, 1)
    np.testing.assert_array_equal(s_ids, ids[order])
    np.testing.assert_array_equal(s_values, values[order])


def test_same_seed_same_store(store, tmp_path):
    home = tmp_path / "again"
    write_seed_store(home, analysis=False, progress=_quiet, **SMALL)
    a = open_csc(catalog.current_path(store[0], "feature_store") / "csc.zarr")
    b = open_csc(catalog.current_path(home, "feature_store") / "csc.zarr")
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(a, name)[:], getattr(b, name)[:])


def test_odd_sample_count_is_exact(tmp_path):
    assert sample_plan(1_000) == (500, 1, True) and sample_plan(1_001) == (1_001, 1, False)
    report = write_seed_store(
        tmp_path / "odd", n_samples=1_001, n_features=64, n_shards=3, active_per_sample=8,
        big_features=((5, 700),), hidden=16, analysis=False, progress=_quiet,
    )  # fmt: skip
    assert report["n_samples"] == 1_001 and report["big_features"] == {5: 700}


def test_distinct_draws_are_distinct_and_skewed():
    rng = np.random.default_rng(0)
    weights = 1.0 / (np.arange(100) + 1.0) ** 1.1
    cdf = np.cumsum(weights) / weights.sum()
    draws = distinct_draws(rng, 2_000, 40, cdf)
    assert draws.shape == (2_000, 40)
    assert all(len(np.unique(r)) == 40 for r in draws)
    counts = np.bincount(draws.ravel(), minlength=100)
    assert counts[0] > counts[50] > 0


def test_time_analysis_reruns_only_the_asked_assets(store):
    from splat_cli.bench.seed_store import time_analysis

    home, _ = store
    before = catalog.read_catalog(home)
    report = time_analysis(home, ["feature_correlations"], progress=_quiet)
    after = catalog.read_catalog(home)
    assert set(report["assets"]) == {"feature_correlations"} and report["slow_steps"] == []
    assert report["assets"]["feature_correlations"]["rss_peak_bytes"] > 0
    changed = {a for a in ANALYSIS_ASSETS if after[a]["version"] != before[a]["version"]}
    assert changed == {"feature_correlations"}
    with pytest.raises(ValueError, match="not analysis assets"):
        time_analysis(home, ["sae"], progress=_quiet)
