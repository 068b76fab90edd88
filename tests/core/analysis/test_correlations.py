"""feature_correlations against np.corrcoef and a dense oracle on small random stores: ties
(scaled duplicates), dead and constant features, pairs that never fire together, k past the
candidates, any block size or thread count, both layouts of A, store or duck-typed."""

from __future__ import annotations

import numpy as np
import pytest

from splat_core.analysis import correlations, neighbors
from tests.core.analysis.test_neighbors import DenseStore, ranked, store
from tests.helpers import random_csr


def activations(seed: int, n: int, f: int, density: float) -> np.ndarray:
    """random_csr's activations (values on a 0.25 grid: every sum below is exact in float64,
    whatever its order) with scaled duplicates: 3 = 2 x 2 and 5 = 4 (exact ties)."""
    x = random_csr(n, f, density, seed).toarray().astype(np.float64)
    x[:, 3], x[:, 5] = 2 * x[:, 2], x[:, 4]
    return x


def oracle(x: np.ndarray, k: int) -> dict:
    """feature -> [(neighbor, r, n_both)] from dense sums, in the kernel's arithmetic."""
    n = len(x)
    dots, both = x.T @ x, (x > 0).T.astype(np.int64) @ (x > 0)
    s, q = x.sum(axis=0), (x * x).sum(axis=0)
    var = n * q - s * s
    sd = np.where(var > correlations.CONSTANT * n * q, np.sqrt(np.maximum(var, 0)), 0.0)
    live = sd > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.clip((n * dots - s[:, None] * s[None, :]) / (sd[:, None] * sd[None, :]), -1, 1)
    out = {}
    for f in np.flatnonzero(live):
        others = live & (np.arange(x.shape[1]) != f)
        out[int(f)] = [(int(g), float(r[f, g]), int(both[f, g])) for g in ranked(r[f], others, k)]
    return {f: rows for f, rows in out.items() if rows}


def as_dict(table) -> dict:
    t = table.to_pydict()
    out = {}
    for i, f in enumerate(t["feature_id"]):
        rows = out.setdefault(f, [])
        assert t["rank"][i] == len(rows) + 1
        rows.append((t["neighbor_id"][i], t["pearson"][i], t["n_both"][i]))
    return out


def check(table, x: np.ndarray, k: int) -> None:
    assert table.schema.names == ["feature_id", "rank", "neighbor_id", "pearson", "n_both"]
    assert [str(t) for t in table.schema.types] == ["int32", "int32", "int32", "double", "int64"]
    assert as_dict(table) == oracle(x, k)  # exact: same sums, same float arithmetic
    ids = table.column("feature_id").to_numpy()
    assert (np.diff(ids) >= 0).all()
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.corrcoef(x.T)  # numpy's own Pearson (centred), NaN for dead features
    got = want[ids, table.column("neighbor_id").to_numpy()]
    np.testing.assert_allclose(table.column("pearson").to_numpy(), got, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("seed", "n", "f", "density", "k"),
    [(0, 200, 60, 0.1, 5), (1, 50, 45, 0.3, 1), (2, 120, 48, 0.05, 50), (3, 400, 80, 0.02, 3)],
)
def test_matches_corrcoef(tmp_path, seed, n, f, density, k):
    x = activations(seed, n, f, density)
    table = correlations.feature_correlations(store(tmp_path, x.astype(np.float32)), n, k)
    check(table, x, k)
    dead = np.flatnonzero(~x.any(axis=0))
    assert len(dead) and not set(dead) & set(table.column("feature_id").to_pylist())
    assert not set(dead) & set(table.column("neighbor_id").to_pylist())
    if k < f - len(dead) - 1:  # every live feature has its k rows
        assert table.num_rows == k * (f - len(dead))


def test_ties_go_to_the_smaller_id():
    x = activations(4, 150, 40, 0.1)
    t = as_dict(correlations.feature_correlations(DenseStore(x), 150, 40))
    for f, rows in t.items():
        if f not in (2, 3):  # r(f, 2) == r(f, 3) exactly: 3 is 2 scaled by 2
            pos = {g: i for i, (g, _, _) in enumerate(rows)}
            assert pos[2] < pos[3] and rows[pos[2]][1] == rows[pos[3]][1]


def test_a_pair_that_never_fires_together_can_be_the_best():
    """a fires on 0-9, b on 10-19, c on 20-99: a's correlations are all negative, the least
    negative with b (the smaller); a constant feature firing everywhere has no variance."""
    x = np.zeros((100, 4))
    x[:10, 0], x[10:20, 1], x[20:, 2], x[:, 3] = 1.0, 2.0, 1.5, 0.75
    t = as_dict(correlations.feature_correlations(DenseStore(x), 100, 3))
    assert set(t) == {0, 1, 2}  # 3 is constant: no rows, nobody's neighbour
    (g, r, both), (g2, r2, _) = t[0]
    assert (g, both, g2) == (1, 0, 2) and r == pytest.approx(-1 / 9) and r2 < r < 0
    assert r == pytest.approx(np.corrcoef(x[:, 0], x[:, 1])[0, 1], abs=1e-15)


def test_blocks_threads_and_layouts_agree(tmp_path, monkeypatch):
    x = activations(5, 160, 50, 0.12)
    csc = store(tmp_path, x.astype(np.float32))
    want = correlations.feature_correlations(csc, 160, 4)
    check(want, x, 4)
    monkeypatch.setattr(neighbors, "BLOCK_ENTRIES", 7)
    monkeypatch.setattr(neighbors, "BLOCK_FEATURES", 3)
    monkeypatch.setattr(correlations, "THREADS", 3)
    monkeypatch.setattr(neighbors, "UINT16_FEATURES", 0)  # int32 feature ids in A
    assert correlations.feature_correlations(csc, 160, 4).equals(want)
    assert correlations.feature_correlations(DenseStore(x), 160, 4).equals(want)


def test_nothing_to_rank_and_bad_ids():
    x = activations(6, 30, 45, 0.3)
    assert correlations.feature_correlations(DenseStore(x), 30, 0).num_rows == 0
    assert correlations.feature_correlations(DenseStore(x[:, :1]), 30, 3).num_rows == 0
    assert correlations.feature_correlations(DenseStore(np.zeros((5, 4))), 5, 3).num_rows == 0
    bad = DenseStore(x)
    with pytest.raises(ValueError, match="out of range"):
        correlations.feature_correlations(bad, 10, 2)
