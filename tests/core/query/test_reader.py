"""The Reader on the tiny materialized home: ids, counts, activations, examples, samples
and analysis tables, each checked against a direct computation from the stores."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import zarr

from splat_core.query import (
    MissingAssetError,
    Reader,
    UnknownFeatureError,
    UnknownSampleError,
)
from splat_core.store import catalog
from splat_core.store.artifacts import read_vocab_dir
from tests.helpers import publish_table


def _expected_order(column: np.ndarray) -> np.ndarray:
    ids = np.flatnonzero(column)
    return ids[np.lexsort((ids, -column[ids]))]


def _features(tiny_reader) -> list[int]:
    counts = tiny_reader.feature_counts()
    return sorted({0, 5, tiny_reader.n_features - 1, int(counts.argmax()), int(counts.argmin())})


def test_ids_counts_and_activations_match_the_shards(tiny_reader, dense):
    acts = dense[0]
    assert tiny_reader.n_samples == acts.shape[0] and tiny_reader.n_features == acts.shape[1]
    assert list(tiny_reader.feature_ids()) == list(range(acts.shape[1]))
    np.testing.assert_array_equal(tiny_reader.feature_counts(), (acts > 0).sum(axis=0))
    for f in _features(tiny_reader):
        ids, values = tiny_reader.activations(f)
        order = _expected_order(acts[:, f])
        np.testing.assert_array_equal(ids, order)
        np.testing.assert_array_equal(values, acts[order, f])
        top_ids, top_values = tiny_reader.activations(f, limit=7)
        np.testing.assert_array_equal(top_ids, order[:7])
        np.testing.assert_array_equal(top_values, acts[order[:7], f])


def test_top_examples_match_sorted_dense_activations(tiny_reader, dense):
    acts, meta, weapon_ids = dense
    for f in _features(tiny_reader):
        examples = tiny_reader.top_examples(f, k=20)
        order = _expected_order(acts[:, f])[:20]
        assert [e.sample_id for e in examples] == order.tolist()
        assert [e.rank for e in examples] == list(range(1, len(order) + 1))
        np.testing.assert_array_equal([e.activation for e in examples], acts[order, f])
        for e in examples:
            weapon, tokens, build = meta[e.sample_id]
            assert (e.weapon.index, e.weapon.weapon_id) == (weapon, weapon_ids[weapon])
            assert e.tokens == tokens and e.build_id == build
            assert e.weapon.name and e.weapon.weapon_class and e.weapon.sub and e.weapon.special
    assert tiny_reader.top_examples(0, k=0) == []


def test_quantile_examples_are_seeded_and_within_their_bins(tiny_reader, dense):
    acts = dense[0]
    f = int(tiny_reader.feature_counts().argmax())
    page = tiny_reader.quantile_examples(f, n_bins=5, per_bin=3, seed=7)
    assert page == tiny_reader.quantile_examples(f, n_bins=5, per_bin=3, seed=7)
    assert page != tiny_reader.quantile_examples(f, n_bins=5, per_bin=3, seed=8)
    values = acts[_expected_order(acts[:, f]), f]
    edges = np.quantile(values.astype(np.float64), np.linspace(0, 1, 6))
    assert [e.bin for e in page] == sorted(e.bin for e in page)
    assert set(e.bin for e in page) == set(range(5))
    for e in page:
        assert e.activation == acts[e.sample_id, f]
        assert values[e.rank - 1] == e.activation
        assert (e.bin_lo, e.bin_hi) == (edges[e.bin], edges[e.bin + 1])
        assert e.bin_lo <= e.activation <= e.bin_hi
    for b in range(5):
        assert sum(e.bin == b for e in page) == 3
    small = tiny_reader.quantile_examples(f, n_bins=2, per_bin=10_000)
    assert sorted(e.sample_id for e in small) == sorted(_expected_order(acts[:, f]).tolist())


def test_sample_features_equal_the_sorted_csr_row(tiny_reader, dense):
    acts, meta, weapon_ids = dense
    n = acts.shape[0]
    for s in (0, 1, n // 2 - 1, n // 2, n - 1):
        got = tiny_reader.sample_features(s, k=5)
        order = _expected_order(acts[s])[:5]
        assert [g["feature_id"] for g in got] == order.tolist()
        np.testing.assert_array_equal([g["activation"] for g in got], acts[s, order])
        info = tiny_reader.sample(s)
        weapon, tokens, build = meta[s]
        assert info["weapon"]["weapon_id"] == weapon_ids[weapon]
        assert (info["weapon"]["index"], info["tokens"], info["build_id"]) == (
            weapon,
            tokens,
            build,
        )
    for bad in (-1, n, "3", 2.0):
        with pytest.raises(UnknownSampleError):
            tiny_reader.sample_features(bad)


def test_unknown_feature_ids_raise(tiny_reader):
    for bad in (-1, tiny_reader.n_features, "1", 1.5, None):
        with pytest.raises(UnknownFeatureError) as err:
            tiny_reader.top_examples(bad)
        assert isinstance(err.value, KeyError)
    with pytest.raises(KeyError):
        tiny_reader.quantile_examples(tiny_reader.n_features)


def test_real_analysis_tables(tiny_reader):
    assert "feature_stats" in tiny_reader.versions  # the graph materializes the analysis group
    counts = tiny_reader.feature_counts()
    for f in _features(tiny_reader):
        stats = tiny_reader.stats(f)
        assert stats["feature_id"] == f and stats["nnz"] == counts[f]
        assert all(row["feature_id"] == f for row in tiny_reader.histogram(f))


def test_correlations_and_map_of_the_tiny_home(tiny_reader):
    """The materialized tables against a direct computation: np.corrcoef of dense columns,
    and every feature with a nonzero decoder direction on the map."""
    r, f = tiny_reader, int(np.argmax(tiny_reader.feature_counts()))
    dense = np.zeros((r.n_samples, r.n_features))
    for g in range(r.n_features):
        ids, values = r.activations(g)
        dense[ids, g] = values
    rows = r.correlations(f)
    assert [row["rank"] for row in rows] == list(range(1, 11))
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.corrcoef(dense.T)[f]
    want[f] = np.nan
    best = np.argsort(-np.nan_to_num(want, nan=-np.inf), kind="stable")[:10]
    assert [row["neighbor_id"] for row in rows] == best.tolist()
    assert [row["pearson"] for row in rows] == pytest.approx(want[best], abs=1e-9)
    both = ((dense[:, [f]] > 0) & (dense[:, best] > 0)).sum(axis=0)
    assert [row["n_both"] for row in rows] == both.tolist()
    table = r.table("feature_map").table
    assert table.column_names == ["feature_id", "x", "y"]
    assert table.num_rows == r.n_features and r.map_point(f)["feature_id"] == f


def test_missing_analysis_assets_raise_and_fake_tables_are_indexed(bare):
    with Reader.open(bare) as reader:
        for query in (reader.stats, reader.histogram, reader.tokens, reader.weapons,
                      reader.influence, reader.neighbors, reader.correlations,
                      reader.map_point):  # fmt: skip
            with pytest.raises(MissingAssetError) as err:
                query(0)
        assert "is not materialized under" in str(err.value)
        assert "run `splat materialize`" in str(err.value)
        with pytest.raises(MissingAssetError, match="feature_influence"):
            reader.token_features("swim_speed_up_3")
        with pytest.raises(MissingAssetError, match="token_idf"):
            reader.token_idf()
    rows = {"feature_id": [3, 1, 3, 1, 3], "rank": [1, 1, 2, 2, 3], "token": list("abcde")}
    publish_table(bare, "feature_tokens", pa.table(rows))  # unsorted on purpose
    with Reader.open(bare) as reader:
        assert reader.tokens(3) == [
            {"feature_id": 3, "rank": 1, "token": "a"},
            {"feature_id": 3, "rank": 2, "token": "c"},
            {"feature_id": 3, "rank": 3, "token": "e"},
        ]
        assert [r["token"] for r in reader.tokens(1)] == ["b", "d"]
        assert reader.tokens(0) == [] and reader.tokens(reader.n_features - 1) == []
        with pytest.raises(UnknownFeatureError):
            reader.tokens(reader.n_features)


def test_token_features_are_the_argsort_of_the_influence_row(bare):
    vocab = read_vocab_dir(catalog.current_path(bare, "vocab"))[0]
    with Reader.open(bare) as reader:
        n_features = reader.n_features
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(len(vocab), n_features)).astype(np.float32)
    matrix[5, :3] = matrix[5, 3]  # ties resolve to the smaller feature id
    matrix[7] = -np.abs(matrix[7])  # token 7 is pushed up by exactly two features
    matrix[7, [4, 9]] = [0.5, 0.25]

    def extra(d):
        z = zarr.create_array(store=str(d / "influence.zarr"), shape=matrix.shape,
                              dtype=np.float32, zarr_format=3)  # fmt: skip
        z[:] = matrix

    publish_table(bare, "feature_influence", pa.table({"feature_id": [0], "value": [1.0]}), extra)
    with Reader.open(bare) as reader:
        for t in (5, vocab.token_to_id["swim_speed_up_3"]):
            row = matrix[t]
            name = vocab.id_to_token[t]
            up = reader.token_features(name, k=6)
            assert [r["feature_id"] for r in up] == np.argsort(-row, kind="stable")[:6].tolist()
            assert [r["value"] for r in up] == row[[r["feature_id"] for r in up]].tolist()
            down = reader.token_features(t, k=6, sign="-")
            assert [r["feature_id"] for r in down] == np.argsort(row, kind="stable")[:6].tolist()
        assert [r["feature_id"] for r in reader.token_features(7, k=6)] == [4, 9]
        assert all(r["value"] < 0 for r in reader.token_features(7, k=6, sign="-"))
        assert reader.influence(0) == [{"feature_id": 0, "value": 1.0}]
        with pytest.raises(KeyError):
            reader.token_features("no_such_token")
        with pytest.raises(ValueError):
            reader.token_features(5, sign="*")
