"""The feature map: every feature's decoder direction placed in 2-D, similar directions near.

UMAP (umap-learn) on the unit directions with the cosine metric and a fixed random_state
(which also makes it single-threaded: the same seed gives the same map). It falls back to
PCA when umap-learn is not installed or when there are too few directions for the asked
neighbourhood (fewer than 2 * n_neighbors); `meta` says which ran and why. Zero directions
have no direction to place: they get no row (meta counts them)."""

from __future__ import annotations

import importlib.util
import warnings
from typing import Literal

import numpy as np
import pyarrow as pa

Method = Literal["umap", "pca"]


def feature_map(
    decoder_directions,
    method: Method = "umap",
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
) -> tuple[pa.Table, dict]:
    """(table, meta): columns feature_id (int32, sorted), x, y (float64), one row per feature
    with a nonzero direction; `decoder_directions` is [d, F]."""
    if method not in ("umap", "pca"):
        raise ValueError(f"method must be 'umap' or 'pca', got {method!r}")
    if n_neighbors < 2:
        raise ValueError(f"n_neighbors must be >= 2, got {n_neighbors}")
    if not 0.0 <= min_dist <= 1.0:
        raise ValueError(f"min_dist must be within [0, 1], got {min_dist}")
    d = np.asarray(decoder_directions, dtype=np.float64)
    norms = np.linalg.norm(d, axis=0)
    ids = np.flatnonzero(norms > 0)
    unit = (d[:, ids] / norms[ids]).T  # [n, d]: one row per mapped feature
    ran, reason = method, None
    if method == "umap" and importlib.util.find_spec("umap") is None:
        ran, reason = "pca", "umap-learn is not installed"
    elif method == "umap" and len(ids) < 2 * n_neighbors:
        ran, reason = "pca", f"{len(ids)} directions: UMAP needs at least 2 * n_neighbors"
    meta = {
        "method": ran, "requested": method, "fallback_reason": reason,
        "n_features": int(d.shape[1]), "n_mapped": int(len(ids)),
        "n_zero_directions": int(d.shape[1] - len(ids)), "seed": int(seed),
    }  # fmt: skip
    if ran == "umap":
        xy, meta["umap"] = umap_embedding(unit, seed, n_neighbors, min_dist)
    else:
        xy = pca_embedding(unit)
    table = pa.table(
        {
            "feature_id": pa.array(ids, pa.int32()),
            "x": pa.array(xy[:, 0], pa.float64()),
            "y": pa.array(xy[:, 1], pa.float64()),
        }
    )
    return table, meta


def pca_embedding(unit: np.ndarray) -> np.ndarray:
    """[n, 2]: the centred rows on their first two principal axes (SVD), each axis signed so
    that its largest-magnitude loading is positive (the first such, on a tie): the same
    directions give the same map. Missing axes (n or d below 2) are zeros."""
    out = np.zeros((len(unit), 2))
    if len(unit) == 0:
        return out
    centred = unit - unit.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]
    largest = axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)]
    axes = axes * np.where(largest < 0, -1.0, 1.0)[:, None]
    out[:, : len(axes)] = centred @ axes.T
    return out


def umap_embedding(unit: np.ndarray, seed: int, n_neighbors: int, min_dist: float):
    """([n, 2] float64, details): UMAP with the cosine metric, seeded. Its warnings (no
    TensorFlow, the seed forcing one thread, a spectral start that fell back to a random
    one) are kept in `details`, not printed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import umap

        model = umap.UMAP(n_components=2, n_neighbors=n_neighbors, min_dist=min_dist,
                          metric="cosine", random_state=seed)  # fmt: skip
        xy = np.asarray(model.fit_transform(unit), dtype=np.float64)
    details = {
        "version": getattr(umap, "__version__", None),
        "n_neighbors": int(n_neighbors),
        "min_dist": float(min_dist),
        "metric": "cosine",
        "warnings": sorted({str(w.message) for w in caught}),
    }
    return xy, details
