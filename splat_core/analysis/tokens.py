"""Token IDF over all samples and per-feature token enrichment / TF-IDF over top activations.

The reference scored raw counts over a top-N frame and sometimes computed IDF over that same
frame; here base rates always come from all samples and rates are normalised by n_top."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from splat_core.analysis.enrichment import enrichment, presence_counts
from splat_core.builds.sample_meta import SampleMeta
from splat_core.domain.vocab import PAD

MIN_SUPPRESSOR_BASE_RATE = 0.01  # a token must be common to be noticeably absent


def token_document_frequency(meta: SampleMeta) -> np.ndarray:
    """df[t]: number of samples whose input tokens contain t."""
    pos = np.repeat(np.arange(meta.n_samples), np.diff(meta.token_offsets))
    return presence_counts(pos, meta.token_ids, len(meta.vocab))


def token_idf(meta: SampleMeta) -> pa.Table:
    """Columns: token_id, token, df, idf = ln(N + 1) - ln(df + 1); every vocab token."""
    df = token_document_frequency(meta)
    ids = np.arange(len(meta.vocab), dtype=np.int32)
    idf = np.log(meta.n_samples + 1) - np.log(df + 1.0)
    tokens = [meta.vocab.id_to_token[int(i)] for i in ids]
    return pa.table(
        {"token_id": ids, "token": pa.array(tokens, pa.string()),
         "df": df.astype(np.int64), "idf": idf}
    )  # fmt: skip


def feature_tokens(
    csc,
    meta: SampleMeta,
    idf_table: pa.Table,
    top_n: int = 1000,
    k_enhancers: int = 20,
    k_suppressors: int = 10,
) -> pa.Table:
    """Per feature, tokens over- ("enhancer") and under-represented ("suppressor") among its
    top_n activations. Columns: feature_id, kind, rank, token_id, token, count_top, n_top,
    rate_top, base_rate, enrichment, tfidf (= rate_top * idf). `<PAD>` is never listed;
    `<NULL>` (the input of an empty build) is. Features that never fire give no rows."""
    n_vocab, n = len(meta.vocab), meta.n_samples
    df = np.zeros(n_vocab, np.int64)
    idf = np.zeros(n_vocab)
    tid = idf_table.column("token_id").to_numpy()
    df[tid] = idf_table.column("df").to_numpy()
    idf[tid] = idf_table.column("idf").to_numpy()
    base_rate = df / max(n, 1)
    allowed = np.ones(n_vocab, bool)
    allowed[meta.vocab.token_to_id[PAD]] = False
    names = np.array([meta.vocab.id_to_token[i] for i in range(n_vocab)], dtype=object)
    rows: list[tuple] = []
    for f in range(int(csc.n_features)):
        ids, _ = csc.feature(f, limit=top_n)
        n_top = len(ids)
        if n_top == 0:
            continue
        count = presence_counts(*meta.gather_tokens(ids), n_vocab)
        enr = enrichment(count, n_top, df, n)
        order = np.lexsort((np.arange(n_vocab), -enr))  # enrichment desc, ties by token id
        enh = order[(allowed & (enr > 0) & (count >= 1))[order]][:k_enhancers]
        order = np.lexsort((np.arange(n_vocab), enr))
        sup_ok = allowed & (enr < 0) & (base_rate >= MIN_SUPPRESSOR_BASE_RATE)
        sup = order[sup_ok[order]][:k_suppressors]
        for kind, picked in (("enhancer", enh), ("suppressor", sup)):
            if len(picked):
                rows.append((f, kind, picked, count[picked], n_top, enr[picked]))
    return _assemble(rows, names, base_rate, idf)


def _assemble(rows, names, base_rate, idf) -> pa.Table:
    if not rows:
        picked = np.empty(0, np.int64)
        fid = kinds = rank = count = n_top = enr = picked
    else:
        lens = [len(r[2]) for r in rows]
        fid = np.repeat([r[0] for r in rows], lens)
        kinds = np.repeat([r[1] for r in rows], lens)
        rank = np.concatenate([np.arange(1, m + 1) for m in lens])
        picked = np.concatenate([r[2] for r in rows])
        count = np.concatenate([r[3] for r in rows])
        n_top = np.repeat([r[4] for r in rows], lens)
        enr = np.concatenate([r[5] for r in rows])
    rate = count / np.maximum(n_top, 1)
    return pa.table(
        {
            "feature_id": pa.array(fid, pa.int32()),
            "kind": pa.array(kinds.astype(str) if len(kinds) else [], pa.string()),
            "rank": pa.array(rank, pa.int32()),
            "token_id": pa.array(picked, pa.int32()),
            "token": pa.array(names[picked].tolist(), pa.string()),
            "count_top": pa.array(count, pa.int64()),
            "n_top": pa.array(n_top, pa.int64()),
            "rate_top": pa.array(rate, pa.float64()),
            "base_rate": pa.array(base_rate[picked], pa.float64()),
            "enrichment": pa.array(enr, pa.float64()),
            "tfidf": pa.array(rate * idf[picked], pa.float64()),
        }
    )
