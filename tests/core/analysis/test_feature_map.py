"""feature_map: PCA against a direct SVD (signs fixed), the fallbacks and their reasons, zero
directions, and UMAP reproducible with cosine neighbourhoods kept (trustworthiness)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from splat_core.analysis import feature_map as fm


def clustered(seed: int, d: int, f: int, n_clusters: int = 4) -> np.ndarray:
    """[d, f] directions around n_clusters random centres (scaled: only the direction counts),
    with zero columns 3 and 10."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, d))
    rows = centres[np.arange(f) % n_clusters] + 0.2 * rng.normal(size=(f, d))
    out = (rows * rng.uniform(0.5, 3.0, size=(f, 1))).T
    out[:, [3, 10]] = 0
    return out


def test_pca_is_the_svd_of_the_centred_unit_directions():
    d = clustered(0, 12, 40)
    table, meta = fm.feature_map(d, method="pca")
    live = np.flatnonzero(np.linalg.norm(d, axis=0) > 0)
    assert table.column("feature_id").to_pylist() == live.tolist()
    assert meta["method"] == "pca" and meta["fallback_reason"] is None
    assert (meta["n_mapped"], meta["n_zero_directions"]) == (38, 2)
    unit = (d[:, live] / np.linalg.norm(d[:, live], axis=0)).T
    centred = unit - unit.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    want = u[:, :2] * s[:2]  # = centred @ vt[:2].T, up to each axis' sign
    for c, col in enumerate(("x", "y")):
        sign = np.sign(vt[c][np.argmax(np.abs(vt[c]))])  # largest loading made positive
        got = table.column(col).to_numpy()
        np.testing.assert_allclose(got, sign * want[:, c], atol=1e-10)
    again, _ = fm.feature_map(d * np.linspace(0.5, 4, 40), method="pca")  # only directions count
    assert np.allclose(again.column("x").to_numpy(), table.column("x").to_numpy())


def test_degenerate_inputs():
    empty, meta = fm.feature_map(np.zeros((5, 4)), method="umap")
    assert empty.num_rows == 0 and meta["method"] == "pca" and meta["n_zero_directions"] == 4
    one, _ = fm.feature_map(np.ones((5, 1)), method="pca")
    assert one.to_pydict() == {"feature_id": [0], "x": [0.0], "y": [0.0]}
    line, _ = fm.feature_map(np.array([[1.0, 2.0, -1.0]]), method="pca")  # d = 1: y is 0
    assert line.column("y").to_pylist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="method"):
        fm.feature_map(np.ones((3, 3)), method="tsne")
    with pytest.raises(ValueError, match="n_neighbors"):
        fm.feature_map(np.ones((3, 3)), n_neighbors=1)


def test_falls_back_when_too_few_or_umap_missing(monkeypatch):
    d = clustered(1, 8, 25)
    table, meta = fm.feature_map(d, method="umap", n_neighbors=15)
    assert meta["method"] == "pca" and "2 * n_neighbors" in meta["fallback_reason"]
    assert table.equals(fm.feature_map(d, method="pca")[0])
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "umap" else real(n, *a)
    )
    table, meta = fm.feature_map(clustered(1, 8, 80), method="umap", n_neighbors=5)
    assert meta["method"] == "pca" and meta["fallback_reason"] == "umap-learn is not installed"


def test_umap_is_reproducible_and_keeps_cosine_neighbourhoods():
    from sklearn.manifold import trustworthiness

    d = clustered(2, 16, 90)
    a, meta = fm.feature_map(d, method="umap", seed=3, n_neighbors=8, min_dist=0.1)
    b, _ = fm.feature_map(d, method="umap", seed=3, n_neighbors=8, min_dist=0.1)
    assert a.equals(b) and meta["method"] == "umap" and meta["umap"]["metric"] == "cosine"
    assert a.column("feature_id").to_pylist() == [f for f in range(90) if f not in (3, 10)]
    live = a.column("feature_id").to_numpy()
    unit = (d[:, live] / np.linalg.norm(d[:, live], axis=0)).T
    xy = np.column_stack([a.column("x").to_numpy(), a.column("y").to_numpy()])
    assert trustworthiness(unit, xy, n_neighbors=5, metric="cosine") > 0.9
    # each feature's nearest point on the map is usually of its own cluster (4 clusters)
    dist = ((xy[:, None] - xy[None]) ** 2).sum(-1) + np.diag(np.full(len(xy), np.inf))
    assert ((live[dist.argmin(axis=1)] % 4) == (live % 4)).mean() > 0.9
