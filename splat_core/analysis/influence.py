"""Output-side influence of each feature: W_out · d_f, the change in every token's logit per
unit of activation (output bias and decoder bias excluded, as in the reference)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import zarr

from splat_core.analysis.blocks import top_k_per_row
from splat_core.atomic import atomic_dir
from splat_core.domain.vocab import SPECIAL, Vocab

INFLUENCE_CHUNK_FEATURES = 1024


def influence_matrix(output_weight, decoder_directions) -> np.ndarray:
    """float32 [V, F] = W_out [V, d] @ W_dec [d, F]."""
    w = np.asarray(output_weight, dtype=np.float32)
    d = np.asarray(decoder_directions, dtype=np.float32)
    if w.shape[1] != d.shape[0]:
        raise ValueError(f"output weight {w.shape} and decoder {d.shape} disagree on d")
    return w @ d


class Influence(NamedTuple):
    matrix: np.ndarray
    """float32 [V, F]: the logit change of each output token per unit of each feature."""
    table: pa.Table
    """feature_id, sign ("+" | "-"), rank, token_id, token, value: the k most positive
    (value > 0) and k most negative (value < 0) tokens per feature."""


def feature_influence(output_weight, decoder_directions, vocab: Vocab, k: int = 20) -> Influence:
    """The influence matrix and each feature's top tokens (`<PAD>` and `<NULL>` excluded;
    ties go to the smaller token id)."""
    matrix = influence_matrix(output_weight, decoder_directions)
    n_vocab = matrix.shape[0]
    if n_vocab != len(vocab):
        raise ValueError(f"output layer has {n_vocab} rows but the vocab {len(vocab)} tokens")
    allowed = np.ones(n_vocab, bool)
    allowed[[vocab.token_to_id[t] for t in SPECIAL if t in vocab.token_to_id]] = False
    by_feature = matrix.T  # [F, V]: one row per feature for the per-row top-k
    parts = []
    for sign, values in (("+", by_feature), ("-", -by_feature)):
        f, t, rank = top_k_per_row(values, k, allowed[None, :] & (values > 0))
        parts.append((f, np.full(len(f), sign), rank, t, by_feature[f, t]))
    f, sign, rank, t, val = (np.concatenate(x) for x in zip(*parts, strict=True))
    order = np.lexsort((rank, sign == "-", f))  # feature, "+" before "-", rank
    f, sign, rank, t, val = f[order], sign[order], rank[order], t[order], val[order]
    names = [vocab.id_to_token[int(i)] for i in t]
    table = pa.table(
        {
            "feature_id": pa.array(f, pa.int32()),
            "sign": pa.array(sign.astype(str), pa.string()),
            "rank": pa.array(rank, pa.int32()),
            "token_id": pa.array(t, pa.int32()),
            "token": pa.array(names, pa.string()),
            "value": pa.array(val.astype(np.float64), pa.float64()),
        }
    )
    return Influence(matrix, table)


def write_influence_zarr(matrix: np.ndarray, path: str | Path) -> None:
    """Zarr v3 array [V, F] float32, chunks (V, 1024): a feature's column is one chunk read.
    Published atomically."""
    matrix = np.asarray(matrix, dtype=np.float32)
    n_vocab, _ = matrix.shape
    with atomic_dir(path) as tmp:
        arr = zarr.create_array(
            store=str(tmp), shape=matrix.shape, dtype=np.float32, zarr_format=3,
            chunks=(max(n_vocab, 1), INFLUENCE_CHUNK_FEATURES), fill_value=0.0,
        )  # fmt: skip
        arr[:] = matrix
        arr.attrs.update({"rows": "token_id", "columns": "feature_id"})


def read_influence_zarr(path: str | Path) -> np.ndarray:
    return np.asarray(zarr.open_array(str(path), mode="r", zarr_format=3)[:])
