"""feature_neighbors against brute-force dense numpy on small random stores: ties (duplicate
features, equal cosines), empty features, k past the candidates, any block size or thread
count, the uint16 and int32 layouts of A, and duck-typed stores."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from splat_core.analysis import blocks, neighbors
from splat_core.analysis import neighbor_kernels as kern
from splat_core.sparse import build_csc, open_csc, write_csr


def random_activations(seed: int, n: int, f: int, density: float) -> np.ndarray:
    """[n, f] positive activations with empty features (0, 5) and duplicates (2 = 1, 7 = 3)."""
    rng = np.random.default_rng(seed)
    x = np.where(rng.random((n, f)) < density, rng.random((n, f)) + 0.1, 0.0)
    x[:, 0] = 0
    x[:, 5 % f] = 0
    x[:, 2 % f] = x[:, 1 % f] * 2
    x[:, 7 % f] = x[:, 3 % f]
    return x


def random_directions(seed: int, d: int, f: int) -> np.ndarray:
    """[d, f]: four entries of +-1 per column (unit entries +-0.5, so every cosine is exact
    in float32 whatever the summation order, and many tie), one zero column, duplicates."""
    rng = np.random.default_rng(seed)
    out = np.zeros((d, f), np.float32)
    for c in range(f):
        rows = rng.choice(d, 4, replace=False)
        out[rows, c] = rng.choice([-1.0, 1.0], 4)
    out[:, 4 % f] = 0
    out[:, 6 % f] = out[:, 1 % f]
    return out


def store(tmp_path, x: np.ndarray):
    shards, cut = [], len(x) // 2
    for start, stop in ((0, cut), (cut, len(x))):
        m = sp.csr_matrix(x[start:stop])
        path = tmp_path / f"csr{start}"
        shards.append(write_csr(path, m.indptr, m.indices, m.data, m.shape, start))
    build_csc(shards, tmp_path / "csc", n_features=x.shape[1], n_samples=len(x))
    return open_csc(tmp_path / "csc")


def ranked(scores: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """Candidate columns by score descending, ties to the smaller column, first k."""
    cols = np.flatnonzero(candidates)
    return cols[np.lexsort((cols, -scores[cols]))][:k]


def brute_force(x: np.ndarray, directions: np.ndarray, k: int) -> dict:
    """(kind, feature) -> [(neighbor, value, n_both)] from dense products."""
    unit = directions / np.where((n := np.linalg.norm(directions, axis=0)) > 0, n, 1)
    cos = unit.T @ unit
    fires = (x > 0).astype(np.int64)
    both = fires.T @ fires
    nnz = fires.sum(axis=0)
    jac = both / np.maximum(nnz[:, None] + nnz[None, :] - both, 1)
    out = {}
    for f in range(x.shape[1]):
        others = np.arange(x.shape[1]) != f
        out["decoder", f] = [(g, float(cos[f, g]), None) for g in ranked(cos[f], others, k)]
        hits = ranked(jac[f], others & (both[f] > 0), k)
        out["coactivation", f] = [(g, jac[f, g], both[f, g]) for g in hits]
    return out


def as_dict(table) -> dict:
    t = table.to_pydict()
    out = {}
    for i, f in enumerate(t["feature_id"]):
        rows = out.setdefault((t["kind"][i], f), [])
        assert t["rank"][i] == len(rows) + 1
        rows.append((t["neighbor_id"][i], t["value"][i], t["n_both"][i]))
    return out


def check(table, want: dict) -> None:
    got = as_dict(table)
    assert {key: rows for key, rows in got.items() if rows} == {
        key: rows for key, rows in want.items() if rows
    }  # exact values: the same float arithmetic as the dense computation
    ids = table.column("feature_id").to_numpy()
    assert (np.diff(ids) >= 0).all()


@pytest.mark.parametrize(
    ("seed", "n", "f", "density", "k", "tile"),
    [
        (0, 40, 12, 0.3, 3, 4),  # several cosine tiles, a partial last one
        (1, 200, 30, 0.05, 5, 4),
        (2, 15, 9, 0.6, 1, 4),
        (3, 60, 8, 0.2, 20, 4),  # k past the candidates
        (4, 300, 150, 0.05, 4, 100),  # tiles wider than a transposed strip (64)
    ],
)
def test_matches_brute_force(tmp_path, monkeypatch, seed, n, f, density, k, tile):
    x, d = random_activations(seed, n, f, density), random_directions(seed, 16, f)
    monkeypatch.setattr(neighbors, "TILE", tile)
    table = neighbors.feature_neighbors(store(tmp_path, x), d, n, k=k)
    check(table, brute_force(x, d, k))


def test_blocks_threads_and_layouts_agree(tmp_path, monkeypatch):
    x, d = random_activations(4, 120, 25, 0.15), random_directions(4, 16, 25)
    csc = store(tmp_path, x)
    want = neighbors.feature_neighbors(csc, d, 120, k=4)
    check(want, brute_force(x, d, 4))
    monkeypatch.setattr(neighbors, "BLOCK_ENTRIES", 7)
    monkeypatch.setattr(neighbors, "BLOCK_FEATURES", 3)
    monkeypatch.setattr(neighbors, "THREADS", 3)
    monkeypatch.setattr(neighbors, "TILE", 7)
    monkeypatch.setattr(neighbors, "UINT16_FEATURES", 0)  # int32 feature ids in A
    assert neighbors.feature_neighbors(csc, d, 120, k=4).equals(want)


class DenseStore:
    """Duck-typed feature store (no ranged reads): the per-feature fallback."""

    def __init__(self, x: np.ndarray):
        self.x = x
        self.n_samples, self.n_features = x.shape

    def nnz_per_feature(self) -> np.ndarray:
        return (self.x > 0).sum(axis=0)

    def feature(self, f: int):
        ids = np.flatnonzero(self.x[:, f])
        return ids, self.x[ids, f]


def test_duck_typed_store():
    x, d = random_activations(5, 50, 10, 0.3), random_directions(5, 16, 10)
    check(neighbors.feature_neighbors(DenseStore(x), d, 50, k=3), brute_force(x, d, 3))


def test_sample_id_out_of_range():
    x = random_activations(6, 20, 6, 0.5)
    bad = DenseStore(x)
    bad.n_samples = 10
    with pytest.raises(ValueError, match="out of range"):
        neighbors.coactivation_neighbors(bad, 10, 2)


def test_nothing_to_rank():
    x, d = random_activations(7, 20, 6, 0.5), random_directions(7, 16, 6)
    assert neighbors.feature_neighbors(DenseStore(x), d, 20, k=0).num_rows == 0
    assert neighbors.feature_neighbors(DenseStore(x[:, :1]), d[:, :1], 20, k=3).num_rows == 0


def test_tile_top_k_is_top_k_per_row():
    """The compiled top-k, fed column tiles in order, keeps top_k_per_row's answer (value
    desc, ties to the smaller column), self excluded."""
    rng = np.random.default_rng(8)
    v = rng.integers(-3, 4, size=(9, 40)).astype(np.float32)  # many ties
    for f0, k, width in ((0, 5, 40), (20, 1, 7), (31, 40, 16)):
        vals, cols = neighbors._buffers(f0 + 9, k, np.float32)
        for c0 in range(0, 40, width):
            kern.tile_top_k(v[:, c0 : c0 + width], f0, c0, k, vals, cols)
        valid = np.ones_like(v, bool)
        valid[np.arange(9), f0 + np.arange(9)] = False
        r, c, rank = blocks.top_k_per_row(v, k, valid)
        keep = cols[f0:] >= 0
        assert np.nonzero(keep)[0].tolist() == r.tolist()
        assert cols[f0:][keep].tolist() == c.tolist()
        assert (np.nonzero(keep)[1] + 1).tolist() == rank.tolist()
        assert vals[f0:][keep].tolist() == v[r, c].tolist()


def test_tile_top_k_skips_nan():
    v = np.array([[np.nan, 1.0, np.nan, 0.5]], np.float32)
    vals, cols = neighbors._buffers(4, 3, np.float32)
    kern.tile_top_k(v, 3, 0, 3, vals, cols)
    assert cols[3].tolist() == [1, -1, -1]
