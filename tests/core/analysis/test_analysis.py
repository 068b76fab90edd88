"""Analysis tables checked against direct computations on a tiny hand-made feature store."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp

from splat_core import analysis
from splat_core.analysis import blocks
from splat_core.builds.samples import SampleTable
from splat_core.builds.table import BuildTable
from splat_core.domain.vocab import NULL, PAD, Vocab, WeaponVocab
from splat_core.sparse import build_csc, open_csc, write_csr

# Activations [N=12, F=5]: f0 has ties, f1 never fires, f2 fires everywhere,
# f3 fires once (on the <NULL> sample), f4 has one repeated value (min == max).
A = np.array(
    [
        [3.0, 0, 0.5, 0, 1.0],
        [1.0, 0, 1.5, 0, 0],
        [3.0, 0, 2.5, 0, 1.0],
        [0, 0, 0.25, 2.0, 0],
        [2.0, 0, 4.0, 0, 1.0],
        [1.0, 0, 0.75, 0, 0],
        [0, 0, 3.0, 0, 0],
        [0.5, 0, 1.25, 0, 1.0],
        [0, 0, 5.0, 0, 0],
        [3.0, 0, 0.5, 0, 0],
        [0, 0, 2.0, 0, 0],
        [1.0, 0, 6.0, 0, 0],
    ],
    dtype=np.float32,
)
N, F = A.shape
WEAPON_IDS = [0, 10, 8000, 99990]  # 99990 is not in the weapon table
WEAPONS = [0, 0, 1, 2, 2, 2, 1, 0, 3, 2, 1, 0]  # dense index per sample
TOKENS = [
    ["swim_speed_up_3", "ink_saver_main_6"],
    ["swim_speed_up_3"],
    ["swim_speed_up_3", "comeback", "ninja_squid"],
    [NULL],
    ["ninja_squid", "run_speed_up_12"],
    ["comeback"],
    ["ink_saver_main_6", "run_speed_up_12"],
    ["run_speed_up_12"],
    ["comeback", "ninja_squid", "swim_speed_up_3"],
    ["swim_speed_up_3", "ninja_squid"],
    ["ink_saver_main_6"],
    ["run_speed_up_12", "swim_speed_up_3"],
]
VOCAB = Vocab.canonical()
WVOCAB = WeaponVocab.from_weapon_ids(WEAPON_IDS)


def sample_table(rows: range) -> SampleTable:
    rows = list(rows)
    inputs = BuildTable.from_lists(
        [VOCAB.encode(TOKENS[i]) for i in rows], [WEAPONS[i] for i in rows], VOCAB, WVOCAB
    )
    ids = np.array(rows, dtype=np.int64)
    return SampleTable(ids, ids, np.zeros(len(rows), np.int16), inputs)


@pytest.fixture(scope="module")
def csc(tmp_path_factory):
    root = tmp_path_factory.mktemp("analysis")
    shards = []
    for start, stop in ((0, 7), (7, N)):
        m = sp.csr_matrix(A[start:stop])
        shards.append(write_csr(root / f"csr{start}", m.indptr, m.indices, m.data, m.shape, start))
    build_csc(shards, root / "csc", n_features=F, n_samples=N)
    return open_csc(root / "csc")


@pytest.fixture(scope="module")
def meta():
    return analysis.SampleMeta.from_tables([sample_table(range(6, N)), sample_table(range(6))])


def top_samples(f: int, n: int) -> list[int]:
    """Feature f's top n samples: value desc, ties by sample id (the store's order)."""
    nz = [i for i in range(N) if A[i, f] > 0]
    return sorted(nz, key=lambda i: (-A[i, f], i))[:n]


def rows_of(table, **where) -> list[dict]:
    return [r for r in table.to_pylist() if all(r[k] == v for k, v in where.items())]


def test_sample_meta(meta):
    assert meta.n_samples == N
    for i in range(N):
        assert VOCAB.decode(meta.tokens(i)) == TOKENS[i]
    np.testing.assert_array_equal(meta.weapon, WEAPONS)
    with pytest.raises(ValueError, match="contiguous"):
        analysis.SampleMeta.from_tables([sample_table(range(0, 5)), sample_table(range(6, N))])


@pytest.mark.parametrize("small_blocks", [False, True])
def test_feature_stats(csc, monkeypatch, small_blocks):
    if small_blocks:  # features split over many blocks, one feature alone per block
        monkeypatch.setattr(blocks, "MAX_BLOCK_ENTRIES", 3)
    t = analysis.feature_stats(csc, N)
    assert t.column_names[0] == "feature_id"
    rows = t.to_pylist()
    for f in range(F):
        col = A[:, f].astype(np.float64)
        nz = col[col > 0]
        r = rows[f]
        assert r["feature_id"] == f and r["nnz"] == len(nz)
        assert r["density"] == pytest.approx(len(nz) / N)
        assert r["mean_all"] == pytest.approx(col.sum() / N)
        if len(nz) == 0:
            value_cols = ["mean_nonzero", "std_nonzero", "min", "max", "p50", "p99_5"]
            assert all(r[c] is None for c in value_cols)
            continue
        assert r["mean_nonzero"] == pytest.approx(nz.mean())
        assert r["std_nonzero"] == pytest.approx(nz.std())
        assert (r["min"], r["max"]) == (nz.min(), nz.max())
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99_5", 0.995)):
            assert r[name] == pytest.approx(np.quantile(nz, q), rel=1e-12), (f, name)


def test_feature_histograms(csc):
    t = analysis.feature_histograms(csc, n_bins=4)
    assert set(t.column("feature_id").to_pylist()) == {0, 2, 3, 4}  # f1 is empty: no rows
    for f in (0, 2, 3, 4):
        nz = A[:, f][A[:, f] > 0].astype(np.float64)
        counts, edges = np.histogram(nz, bins=4)
        rows = rows_of(t, feature_id=f)
        assert [r["bin"] for r in rows] == [0, 1, 2, 3]
        assert [r["count"] for r in rows] == counts.tolist()
        np.testing.assert_allclose([r["lo"] for r in rows], edges[:-1])
        np.testing.assert_allclose([r["hi"] for r in rows], edges[1:])


class DenseStore:
    """Duck-typed store over a dense matrix, with entries deliberately NOT sorted."""

    def __init__(self, m):
        self.m, (self.n_samples, self.n_features) = m, m.shape

    def feature(self, f, limit=None):
        ids = np.flatnonzero(self.m[:, f])
        return ids[:limit], self.m[ids[:limit], f]

    def nnz_per_feature(self):
        return (self.m != 0).sum(axis=0)


def test_histograms_match_numpy_on_random_values():
    """Many values per feature exercise numpy's edge-rounding corrections."""
    rng = np.random.default_rng(0)
    m = (rng.random((400, 6)) < 0.5) * np.round(rng.gamma(2.0, 1.0, (400, 6)), 2)
    t = analysis.feature_histograms(DenseStore(m), n_bins=7)
    for f in range(6):
        counts, _ = np.histogram(m[:, f][m[:, f] > 0], bins=7)
        assert [r["count"] for r in rows_of(t, feature_id=f)] == counts.tolist()
    stats = analysis.feature_stats(DenseStore(m), 400).to_pylist()
    for f in range(6):
        nz = m[:, f][m[:, f] > 0]
        assert stats[f]["p90"] == pytest.approx(np.quantile(nz, 0.9))
        assert stats[f]["max"] == nz.max()


def test_token_idf(meta):
    t = analysis.token_idf(meta)
    assert t.num_rows == len(VOCAB)
    df = Counter(tok for toks in TOKENS for tok in set(toks))
    for r in t.to_pylist():
        assert r["token"] == VOCAB.id_to_token[r["token_id"]]
        assert r["df"] == df.get(r["token"], 0)
        assert r["idf"] == pytest.approx(math.log(N + 1) - math.log(r["df"] + 1))


def test_feature_tokens(csc, meta):
    idf = analysis.token_idf(meta)
    t = analysis.feature_tokens(csc, meta, idf, top_n=4, k_enhancers=3, k_suppressors=2)
    assert 1 not in t.column("feature_id").to_pylist()  # never fires
    assert PAD not in t.column("token").to_pylist()
    # feature 0, by hand: top 4 = samples 0, 2, 9 (3.0 tied) then 4 (2.0)
    top = top_samples(0, 4)
    assert top == [0, 2, 9, 4]
    df = Counter(tok for toks in TOKENS for tok in toks)
    count = Counter(tok for i in top for tok in TOKENS[i])

    def enr(tok):
        c = count.get(tok, 0)
        return math.log2((c + 0.5) / 5) - math.log2((df[tok] + 0.5) / (N + 1))

    enh = sorted((t for t in count if enr(t) > 0), key=lambda t: (-enr(t), VOCAB.encode([t])))
    rows = rows_of(t, feature_id=0, kind="enhancer")
    assert len(enh) >= 3 and [r["token"] for r in rows] == enh[:3]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    idf_of = {r["token"]: r["idf"] for r in idf.to_pylist()}
    for r in rows:
        tok = r["token"]
        assert (r["count_top"], r["n_top"]) == (count[tok], 4)
        assert r["rate_top"] == pytest.approx(count[tok] / 4)
        assert r["base_rate"] == pytest.approx(df[tok] / N)
        assert r["enrichment"] == pytest.approx(enr(tok))
        assert r["tfidf"] == pytest.approx(count[tok] / 4 * idf_of[tok])
    sup = sorted((t for t in df if enr(t) < 0), key=lambda t: (enr(t), VOCAB.encode([t])))
    assert [r["token"] for r in rows_of(t, feature_id=0, kind="suppressor")] == sup[:2]
    # feature 3 fires only on sample 3, whose only input is <NULL>: an informative enhancer
    assert [r["token"] for r in rows_of(t, feature_id=3, kind="enhancer")] == [NULL]


def test_feature_weapons(csc, meta):
    t = analysis.feature_weapons(csc, meta, top_n=5, k=10)
    top = top_samples(2, 5)  # samples 11, 8, 4, 6, 2
    weapons = Counter(WEAPON_IDS[WEAPONS[i]] for i in top)
    rows = rows_of(t, feature_id=2, kind="weapon")
    assert {r["key"]: r["count_top"] for r in rows} == {str(w): c for w, c in weapons.items()}
    assert [r["count_top"] for r in rows] == sorted(weapons.values(), reverse=True)
    names = {"0": "Sploosh-o-matic", "10": "Splattershot Jr.", "8000": "Splatana Stamper"}
    for r in rows:
        assert r["name"] == names.get(r["key"], "unknown")
        base = sum(WEAPON_IDS[w] == int(r["key"]) for w in WEAPONS)
        assert r["base_rate"] == pytest.approx(base / N)
        assert r["rate_top"] == pytest.approx(r["count_top"] / 5)
        assert r["enrichment"] == pytest.approx(
            math.log2((r["count_top"] + 0.5) / 6) - math.log2((base + 0.5) / 13)
        )
    cls = {0: "shooter", 10: "shooter", 8000: "splatana", 99990: "unknown"}
    classes = Counter(cls[WEAPON_IDS[WEAPONS[i]]] for i in top)
    got = {r["key"]: r["count_top"] for r in rows_of(t, feature_id=2, kind="class")}
    assert got == dict(classes)
    subs = {r["key"] for r in rows_of(t, feature_id=2, kind="sub")}
    assert subs <= {"Curling Bomb", "Splat Bomb", "Burst Bomb", "unknown"}
    assert 1 not in t.column("feature_id").to_pylist()


def test_feature_influence(tmp_path):
    rng = np.random.default_rng(1)
    w_out = rng.normal(size=(len(VOCAB), 8)).astype(np.float32)
    w_dec = rng.normal(size=(8, F)).astype(np.float32)
    w_out[VOCAB.pad_id] = 100.0  # would top every list if not excluded
    w_out[VOCAB.null_id] = -100.0
    matrix, t = analysis.feature_influence(w_out, w_dec, VOCAB, k=3)
    np.testing.assert_allclose(matrix, w_out @ w_dec, rtol=1e-5)
    assert not {PAD, NULL} & set(t.column("token").to_pylist())
    keep = [i for i in range(len(VOCAB)) if VOCAB.id_to_token[i] not in (PAD, NULL)]
    for f in range(F):
        col = {i: float(matrix[i, f]) for i in keep}
        pos = sorted((i for i in keep if col[i] > 0), key=lambda i: -col[i])[:3]
        neg = sorted((i for i in keep if col[i] < 0), key=lambda i: col[i])[:3]
        assert [r["token_id"] for r in rows_of(t, feature_id=f, sign="+")] == pos
        assert [r["token_id"] for r in rows_of(t, feature_id=f, sign="-")] == neg
        assert [r["value"] for r in rows_of(t, feature_id=f, sign="+")] == pytest.approx(
            [col[i] for i in pos]
        )
    fids = t.column("feature_id").to_pylist()
    assert fids == sorted(fids)
    analysis.write_influence_zarr(matrix, tmp_path / "influence.zarr")
    np.testing.assert_array_equal(analysis.read_influence_zarr(tmp_path / "influence.zarr"), matrix)


def test_feature_neighbors(csc, monkeypatch):
    monkeypatch.setattr("splat_core.analysis.neighbors.TILE", 2)  # several tiles
    rng = np.random.default_rng(2)
    d = rng.normal(size=(8, F))
    d /= np.linalg.norm(d, axis=0)
    t = analysis.feature_neighbors(csc, d, N, k=2)
    fids = t.column("feature_id").to_pylist()
    assert fids == sorted(fids)
    for f in range(F):
        cos = {g: float(d[:, f] @ d[:, g]) for g in range(F) if g != f}
        want = sorted(cos, key=lambda g: -cos[g])[:2]
        rows = rows_of(t, feature_id=f, kind="decoder")
        assert [r["neighbor_id"] for r in rows] == want
        assert [r["value"] for r in rows] == pytest.approx([cos[g] for g in want], rel=1e-5)
        assert all(r["n_both"] is None for r in rows)
    fires = [{i for i in range(N) if A[i, f] > 0} for f in range(F)]
    for f in range(F):
        jac = {
            g: len(fires[f] & fires[g]) / len(fires[f] | fires[g])
            for g in range(F)
            if g != f and fires[f] & fires[g]
        }
        want = sorted(jac, key=lambda g: (-jac[g], g))[:2]
        rows = rows_of(t, feature_id=f, kind="coactivation")
        assert [r["neighbor_id"] for r in rows] == want
        for r in rows:
            g = r["neighbor_id"]
            assert r["value"] == pytest.approx(jac[g])
            assert r["n_both"] == len(fires[f] & fires[g])
    assert not rows_of(t, feature_id=1, kind="coactivation")


def test_top_k_per_row_ties():
    v = np.array([[1.0, 3.0, 3.0, 2.0, 3.0], [0.0, -1.0, 5.0, 5.0, 5.0]])
    r, c, rank = blocks.top_k_per_row(v, 2)
    assert r.tolist() == [0, 0, 1, 1] and c.tolist() == [1, 2, 2, 3]
    assert rank.tolist() == [1, 2, 1, 2]
