"""The query layer (`splat_core.query.Reader`) on a tiny materialized home: every answer is
checked against a direct computation from the stores."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
import zarr

from splat_core.domain.tokenizer import ap_to_tokens
from splat_core.model import load_model
from splat_core.query import (
    LiveReader,
    MissingAssetError,
    Reader,
    UnknownFeatureError,
    UnknownSampleError,
    ipc_stream,
)
from splat_core.query.token_lists import PackedTokens
from splat_core.sae import load_sae
from splat_core.store import catalog
from splat_core.store.artifacts import mark, open_artifact, read_samples_dir, read_vocab_dir
from splat_core.store.contract import ANALYSIS_ASSETS
from splat_server.answer_cache import AnswerCache

ANALYSIS = ANALYSIS_ASSETS


@pytest.fixture(scope="module")
def home(tiny_home):
    return tiny_home  # read-only here; `bare` copies it before publishing


@pytest.fixture(scope="module")
def reader(home):
    with Reader.open(home) as r:
        yield r


@pytest.fixture(scope="module")
def dense(home):
    """Dense [N, F] activations from the CSR shards, and per-sample weapon/tokens/build."""
    info = catalog.read_catalog(home)
    parts = info["activations"]["partitions"].values()
    shards = [open_artifact(Path(p["path"])) for p in parts]
    n = sum(s.shape[0] for s in shards)
    out = np.zeros((n, shards[0].shape[1]), np.float32)
    for s in shards:
        out[s.sample_start : s.sample_start + s.shape[0]] = s.row_slice(0, s.shape[0]).toarray()
    meta = {}
    for p in info["samples"]["partitions"].values():
        t = read_samples_dir(Path(p["path"]))
        for i, sid in enumerate(t.sample_id.tolist()):
            toks = t.inputs.vocab.decode(t.inputs.tokens(i).tolist())
            meta[sid] = (int(t.inputs.weapon[i]), toks, int(t.build_id[i]))
    weapon_ids = t.inputs.weapon_vocab.weapon_ids
    return out, meta, weapon_ids


@pytest.fixture
def bare(home, tmp_path):
    """A copy of the home without any analysis asset (safe to publish into)."""
    ignore = shutil.ignore_patterns(*ANALYSIS)
    shutil.copytree(home, tmp_path / "home", ignore=ignore, symlinks=True)
    return tmp_path / "home"


def _expected_order(column: np.ndarray) -> np.ndarray:
    ids = np.flatnonzero(column)
    return ids[np.lexsort((ids, -column[ids]))]


def _features(reader) -> list[int]:
    counts = reader.feature_counts()
    return sorted({0, 5, reader.n_features - 1, int(counts.argmax()), int(counts.argmin())})


def test_ids_counts_and_activations_match_the_shards(reader, dense):
    acts = dense[0]
    assert reader.n_samples == acts.shape[0] and reader.n_features == acts.shape[1]
    assert list(reader.feature_ids()) == list(range(acts.shape[1]))
    np.testing.assert_array_equal(reader.feature_counts(), (acts > 0).sum(axis=0))
    for f in _features(reader):
        ids, values = reader.activations(f)
        order = _expected_order(acts[:, f])
        np.testing.assert_array_equal(ids, order)
        np.testing.assert_array_equal(values, acts[order, f])
        top_ids, top_values = reader.activations(f, limit=7)
        np.testing.assert_array_equal(top_ids, order[:7])
        np.testing.assert_array_equal(top_values, acts[order[:7], f])


def test_top_examples_match_sorted_dense_activations(reader, dense):
    acts, meta, weapon_ids = dense
    for f in _features(reader):
        examples = reader.top_examples(f, k=20)
        order = _expected_order(acts[:, f])[:20]
        assert [e.sample_id for e in examples] == order.tolist()
        assert [e.rank for e in examples] == list(range(1, len(order) + 1))
        np.testing.assert_array_equal([e.activation for e in examples], acts[order, f])
        for e in examples:
            weapon, tokens, build = meta[e.sample_id]
            assert (e.weapon.index, e.weapon.weapon_id) == (weapon, weapon_ids[weapon])
            assert e.tokens == tokens and e.build_id == build
            assert e.weapon.name and e.weapon.weapon_class and e.weapon.sub and e.weapon.special
    assert reader.top_examples(0, k=0) == []


def test_quantile_examples_are_seeded_and_within_their_bins(reader, dense):
    acts = dense[0]
    f = int(reader.feature_counts().argmax())
    page = reader.quantile_examples(f, n_bins=5, per_bin=3, seed=7)
    assert page == reader.quantile_examples(f, n_bins=5, per_bin=3, seed=7)
    assert page != reader.quantile_examples(f, n_bins=5, per_bin=3, seed=8)
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
    small = reader.quantile_examples(f, n_bins=2, per_bin=10_000)
    assert sorted(e.sample_id for e in small) == sorted(_expected_order(acts[:, f]).tolist())


def test_sample_features_equal_the_sorted_csr_row(reader, dense):
    acts, meta, weapon_ids = dense
    n = acts.shape[0]
    for s in (0, 1, n // 2 - 1, n // 2, n - 1):
        got = reader.sample_features(s, k=5)
        order = _expected_order(acts[s])[:5]
        assert [g["feature_id"] for g in got] == order.tolist()
        np.testing.assert_array_equal([g["activation"] for g in got], acts[s, order])
        info = reader.sample(s)
        weapon, tokens, build = meta[s]
        assert info["weapon"]["weapon_id"] == weapon_ids[weapon]
        assert (info["weapon"]["index"], info["tokens"], info["build_id"]) == (
            weapon,
            tokens,
            build,
        )
    for bad in (-1, n, "3", 2.0):
        with pytest.raises(UnknownSampleError):
            reader.sample_features(bad)


def test_unknown_feature_ids_raise(reader):
    for bad in (-1, reader.n_features, "1", 1.5, None):
        with pytest.raises(UnknownFeatureError) as err:
            reader.top_examples(bad)
        assert isinstance(err.value, KeyError)
    with pytest.raises(KeyError):
        reader.quantile_examples(reader.n_features)


def test_real_analysis_tables(reader):
    assert "feature_stats" in reader.versions  # the graph materializes the analysis group
    counts = reader.feature_counts()
    for f in _features(reader):
        stats = reader.stats(f)
        assert stats["feature_id"] == f and stats["nnz"] == counts[f]
        assert all(row["feature_id"] == f for row in reader.histogram(f))


def _publish_table(home, asset: str, table: pa.Table, extra=None) -> None:
    def write(d):
        pq.write_table(table, d / f"{asset}.parquet")
        if extra:
            extra(d)
        mark(d, asset)
        return {"rows": table.num_rows}

    catalog.publish_asset(home, asset, write)


def test_missing_analysis_assets_raise_and_fake_tables_are_indexed(bare):
    with Reader.open(bare) as reader:
        for query in (reader.stats, reader.histogram, reader.tokens, reader.weapons,
                      reader.influence, reader.neighbors):  # fmt: skip
            with pytest.raises(MissingAssetError) as err:
                query(0)
        assert "is not materialized under" in str(err.value)
        assert "run `splat materialize`" in str(err.value)
        with pytest.raises(MissingAssetError, match="feature_influence"):
            reader.token_features("swim_speed_up_3")
        with pytest.raises(MissingAssetError, match="token_idf"):
            reader.token_idf()
    rows = {"feature_id": [3, 1, 3, 1, 3], "rank": [1, 1, 2, 2, 3], "token": list("abcde")}
    _publish_table(bare, "feature_tokens", pa.table(rows))  # unsorted on purpose
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

    _publish_table(bare, "feature_influence", pa.table({"feature_id": [0], "value": [1.0]}), extra)
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

        catalog.publish_asset(bare, "feature_store", write)
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

    catalog.publish_asset(bare, "feature_store", write)
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
    catalog.publish_asset(bare, "feature_store", lambda d: shutil.copytree(old_dir, d,
                          dirs_exist_ok=True) and {})  # fmt: skip
    now[0] = 4.9
    assert live.get() is first  # not due yet
    now[0] = 5.0
    second = live.get()
    assert second is not first
    assert second.versions["feature_store"] != first.versions["feature_store"]
    now[0] = 20.0
    assert live.get() is second  # due, but nothing new


@pytest.mark.parametrize(
    ("limit", "frac", "seed"), [(None, None, 0), (7, None, 0), (None, 0.5, 3), (4, 0.5, 3)]
)
def test_activation_list_rows_match_dense_and_metadata(reader, dense, limit, frac, seed):
    acts, meta, _ = dense
    f = int(reader.feature_counts().argmax())
    table = reader.activation_list(f, limit=limit, sample_frac=frac, seed=seed)
    col = acts[:, f]
    order = np.lexsort((np.arange(len(col)), -col))[: int((col > 0).sum())]
    if frac is not None:  # a seeded subset of positions, kept in descending order
        rng = np.random.default_rng(seed)
        pos = np.sort(rng.choice(len(order), size=int(round(frac * len(order))), replace=False))
        order = order[pos]
    order = order[:limit] if limit is not None else order
    vocab = reader.vocabularies[0]
    assert table.column("sample_id").to_pylist() == order.tolist()
    np.testing.assert_array_equal(table.column("activation").to_numpy(), col[order])
    assert table.column("weapon_id").to_pylist() == [meta[s][0] for s in order.tolist()]
    tokens = table.column("ability_input_tokens").to_pylist()
    assert [vocab.decode(t) for t in tokens] == [meta[s][1] for s in order.tolist()]
    again = reader.activation_list(f, limit=limit, sample_frac=frac, seed=seed)
    assert again.equals(table)
    bare_table = reader.activation_list(f, limit=limit, sample_frac=frac, seed=seed,
                                        include_abilities=False)  # fmt: skip
    assert bare_table.column_names == ["sample_id", "activation", "weapon_id"]
    streamed = pa.ipc.open_stream(ipc_stream(table)).read_all()
    assert streamed.equals(table)


@pytest.mark.parametrize(("vocab_size", "longest"), [(140, 15), (140, 23), (300, 9)])
def test_packed_token_lists_equal_the_ragged_lists(vocab_size, longest):
    rng = np.random.default_rng(vocab_size + longest)
    lengths = rng.integers(0, longest + 1, size=500)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    tokens = rng.integers(0, vocab_size, size=int(offsets[-1]))
    packed = PackedTokens(offsets, tokens, vocab_size)
    ids = rng.integers(0, 500, size=300)
    got = packed.lists(ids).to_pylist()
    assert got == [tokens[offsets[i] : offsets[i + 1]].tolist() for i in ids]
    assert packed.lists(np.zeros(0, np.int64)).to_pylist() == []


def test_activation_list_rejects_bad_parameters(reader):
    with pytest.raises(ValueError):
        reader.activation_list(0, limit=-1)
    with pytest.raises(ValueError):
        reader.activation_list(0, sample_frac=0.0)
    with pytest.raises(ValueError):
        reader.activation_list(0, sample_frac=1.5)
    with pytest.raises(UnknownFeatureError):
        reader.activation_list(reader.n_features)


@pytest.fixture(scope="module")
def direct(home):
    model = load_model(catalog.current_path(home, "base_model")).eval()
    sae = load_sae(catalog.current_path(home, "sae")).eval()
    vocab, weapons = read_vocab_dir(catalog.current_path(home, "vocab"))

    @torch.no_grad()
    def run(weapon_id: int, abilities: dict):
        tokens = ap_to_tokens(abilities) or ["<NULL>"]
        t = torch.tensor([vocab.encode(tokens)])
        w = torch.tensor([[weapons.index_of(weapon_id)]])
        pooled = model.pooled(t, w)
        probs = torch.sigmoid(model(t, w))[0, vocab.content_ids()].numpy()
        return tokens, probs, pooled[0].numpy(), sae.encode(pooled)[0].numpy()

    return run, vocab, weapons


BUILD = {"swim_speed_up": 12, "ninja_squid": 10, "ink_saver_main": 3}


def test_encode_equals_the_model_and_sae(reader, direct):
    run, vocab, weapons = direct
    weapon = weapons.weapon_ids[3]
    for abilities in (BUILD, {}):
        enc = reader.encode(weapon, abilities)
        tokens, probs, pooled, acts = run(weapon, abilities)
        assert enc.tokens == tokens
        np.testing.assert_allclose(enc.pooled, pooled, atol=1e-6)
        np.testing.assert_allclose(enc.activations, acts, atol=1e-6)
        names = [vocab.id_to_token[i] for i in vocab.content_ids()]
        assert list(enc.probabilities) == names
        np.testing.assert_allclose(list(enc.probabilities.values()), probs, atol=1e-6)
        nonzero = np.flatnonzero(acts)
        assert sorted(f for f, _ in enc.features) == nonzero.tolist()
        assert [v for _, v in enc.features] == sorted((v for _, v in enc.features), reverse=True)
    assert reader.encode(weapon, {}).tokens == ["<NULL>"]


def test_whatif_deltas_equal_direct_recomputation(reader, direct):
    run, vocab, weapons = direct
    weapon, other = weapons.weapon_ids[3], weapons.weapon_ids[10]
    base = run(weapon, BUILD)
    f = int(np.argmax(base[3]))
    result = reader.whatif(weapon, BUILD, feature=f)
    by_change = {(v.kind, v.change): v for v in result.variants}
    assert ("add", "ninja_squid") not in by_change  # clothes already hold one
    assert ("add", "swim_speed_up_12") not in by_change
    assert len([v for v in result.variants if v.kind == "weapon"]) == len(weapons) - 1
    cases = {
        ("add", "swim_speed_up_15"): (weapon, {**BUILD, "swim_speed_up": 15}),
        ("add", "stealth_jump"): (weapon, {**BUILD, "stealth_jump": 10}),
        ("remove", "ninja_squid"): (weapon, {"swim_speed_up": 12, "ink_saver_main": 3}),
        ("weapon", str(other)): (other, BUILD),
    }
    names = [vocab.id_to_token[i] for i in vocab.content_ids()]
    for key, (w, abilities) in cases.items():
        v = by_change[key]
        tokens, probs, _, acts = run(w, abilities)
        assert v.tokens == tokens and v.weapon_id == w
        assert v.feature_activation == pytest.approx(acts[f], abs=1e-5)
        assert v.feature_delta == pytest.approx(acts[f] - base[3][f], abs=1e-5)
        delta = probs - base[1]
        biggest = np.argsort(-np.abs(delta), kind="stable")[:5]
        assert {t for t, _ in v.prediction_changes} == {names[j] for j in biggest}
        for token, d in v.prediction_changes:
            assert d == pytest.approx(delta[names.index(token)], abs=1e-5)
    deltas = [abs(v.feature_delta) for v in result.variants]
    assert deltas == sorted(deltas, reverse=True)


def test_bad_encode_inputs_raise(reader, direct):
    weapon = direct[2].weapon_ids[0]
    for abilities, match in (
        ({"not_an_ability": 3}, "unknown abilities"),
        ({"ninja_squid": 7}, "main-only"),
        ({"swim_speed_up": -3}, "negative"),
        ({"swim_speed_up": 1.5}, "integer"),
        ({"swim_speed_up": 57, "ink_saver_main": 3}, "exceeds"),
        ({"ninja_squid": 10, "haunt": 10}, "both main-only"),
    ):
        with pytest.raises(ValueError, match=match):
            reader.encode(weapon, abilities)
    for bad in (999_999, "8000", None):
        with pytest.raises(KeyError):
            reader.encode(bad, BUILD)
    with pytest.raises(UnknownFeatureError):
        reader.whatif(weapon, BUILD, feature=reader.n_features)


def test_answer_cache_is_lru_by_bytes_and_skips_small_answers():
    cache = AnswerCache(max_bytes=100, min_bytes=10)
    built = []

    def answer(key, size):
        def build():
            built.append(key)
            return bytes(size)

        return cache.get_or_build(key, build)

    assert answer("a", 40) == (bytes(40), False)
    assert answer("a", 40) == (bytes(40), True)
    answer("b", 40)
    answer("a", 40)  # a is now the most recent
    answer("c", 40)  # 120 bytes > 100: evicts b, the least recent
    assert cache.nbytes == 80
    assert answer("a", 40)[1] is True and answer("b", 40)[1] is False
    answer("tiny", 5)
    answer("tiny", 5)
    answer("huge", 101)
    answer("huge", 101)
    assert built.count("tiny") == 2 and built.count("huge") == 2  # never cached
    assert (cache.hits, cache.misses) == (3, 8)
