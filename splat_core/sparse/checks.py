"""Invariant checks for CSR shards and the CSC feature store (asset checks call these).

Each returns a list of human-readable problems; empty means valid. All read the arrays in
blocks, so they run on stores far larger than memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from splat_core.sparse.csc import CSCStore, open_csc
from splat_core.sparse.csr import CSRStore, open_csr
from splat_core.sparse.layout import Vector, greedy_ranges

BLOCK = 1 << 20
DUPLICATE = "duplicate sample within a feature (feature)"
UNSORTED = "entries not in (value desc, sample asc) order within a feature (feature)"


class _Tally:
    """Counts each kind of problem and remembers where it first occurred."""

    def __init__(self):
        self.found: dict[str, list] = {}

    def add(self, what: str, mask: np.ndarray, where: np.ndarray | int) -> None:
        n = int(np.count_nonzero(mask))
        if not n:
            return
        first = where if np.isscalar(where) else where[np.flatnonzero(mask)[0]]
        entry = self.found.setdefault(what, [0, int(first)])
        entry[0] += n

    def note(self, text: str) -> None:
        self.found.setdefault(text, [0, None])

    def problems(self) -> list[str]:
        return [
            text if first is None else f"{text}: {n} case(s), first at {first}"
            for text, (n, first) in self.found.items()
        ]


def _scan(vec: Vector, block: int) -> Iterator[tuple[int, np.ndarray]]:
    for p in range(0, len(vec), block):
        yield p, vec.read(p, p + block)


def _check_common(t: _Tally, store, n_ptr: int, id_limit: int, id_name: str, block: int) -> bool:
    """dtypes, lengths, indptr monotonicity, id range and finiteness; True if the indptr
    can be trusted for per-row / per-feature checks."""
    nnz = len(store.indices)
    v_ptr = Vector(store.group["indptr"])  # as stored (a CSCStore holds a copy in memory)
    if v_ptr.dtype != np.int64:
        t.note(f"indptr dtype is {v_ptr.dtype}, expected int64")
    if np.dtype(store.data.dtype) != np.float32:
        t.note(f"data dtype is {store.data.dtype}, expected float32")
    if np.dtype(store.indices.dtype).kind != "u":
        t.note(f"indices dtype is {store.indices.dtype}, expected unsigned")
    if len(store.data) != nnz:
        t.note(f"indices has {nnz} entries but data has {len(store.data)}")
    if len(v_ptr) != n_ptr:
        t.note(f"indptr has {len(v_ptr)} entries, expected {n_ptr} (from the shape attr)")
    ok = len(v_ptr) == n_ptr and len(store.data) == nnz
    prev = None
    for p, ptr in _scan(v_ptr, block):
        if p == 0 and ptr[0] != 0:
            t.note(f"indptr starts at {ptr[0]}, expected 0")
            ok = False
        steps = np.diff(ptr if prev is None else np.concatenate([[prev], ptr]))
        bad = steps < 0
        t.add("indptr decreases", bad, np.arange(len(steps)) + p - (prev is not None) + 1)
        ok &= not bad.any()
        prev = ptr[-1]
    if prev is not None and prev != nnz:
        t.note(f"indptr ends at {prev}, expected nnz {nnz}")
        ok = False
    for p, ids in _scan(store.indices, block):
        t.add(f"{id_name} id >= {id_limit}", ids >= id_limit, np.arange(len(ids)) + p)
    for p, vals in _scan(store.data, block):
        t.add("non-finite data (NaN/inf)", ~np.isfinite(vals), np.arange(len(vals)) + p)
    return ok


def check_csr(store: CSRStore | str | Path, block: int = BLOCK) -> list[str]:
    """scipy's canonical CSR invariants plus the attrs of the shard layout."""
    try:
        store = open_csr(store)
    except Exception as exc:  # a missing or foreign store is a finding, not a crash
        return [f"cannot open CSR store: {exc}"]
    t = _Tally()
    if int(store.sample_start) < 0:
        t.note(f"sample_start is negative ({store.sample_start})")
    n_rows, n_features = store.shape
    if _check_common(t, store, n_rows + 1, n_features, "feature", block):
        last_row, last_id = -1, -1
        for rows, ids, _ in store.iter_blocks(block):
            ids = ids.astype(np.int64)
            r = np.concatenate([[last_row], rows])
            i = np.concatenate([[last_id], ids])
            bad = (r[1:] == r[:-1]) & (i[1:] <= i[:-1])
            t.add("feature ids not strictly increasing within a row (row)", bad, rows)
            last_row, last_id = int(rows[-1]), int(ids[-1])
    else:
        t.note("per-row order not checked: indptr is invalid")
    return t.problems()


def check_csc(store: CSCStore | str | Path, block: int = BLOCK) -> list[str]:
    """Column-layout invariants: indptr, sample id range, no duplicate sample within a
    feature, per-feature order (value desc, then sample asc), finite data.

    Duplicates in a feature larger than `block` are found with a bitmap of n_samples bits.
    """
    try:
        store = open_csc(store)
    except Exception as exc:
        return [f"cannot open CSC store: {exc}"]
    t = _Tally()
    n_samples, n_features = store.shape
    if not _check_common(t, store, n_features + 1, n_samples, "sample", block):
        t.note("per-feature order not checked: indptr is invalid")
        return t.problems()
    counts = store.nnz_per_feature()
    seen = None
    for f0, f1 in greedy_ranges(counts, block):
        p, q = int(store.indptr[f0]), int(store.indptr[f1])
        if f1 - f0 > 1 or q - p <= block:
            s = store.indices.read(p, q).astype(np.int64)
            v = store.data.read(p, q)
            feats = np.repeat(np.arange(f0, f1), counts[f0:f1])
            _check_order(t, feats, s, v)
            # one (feature, sample) key per entry; a plain sort is much faster than lexsort
            key = np.sort(((feats - f0) << 32) | s) if n_samples <= 2**32 else None
            if key is not None:
                t.add(DUPLICATE, key[1:] == key[:-1], (key[1:] >> 32) + f0)
            else:
                perm = np.lexsort((s, feats))
                fs, ss = feats[perm], s[perm]
                t.add(DUPLICATE, (fs[1:] == fs[:-1]) & (ss[1:] == ss[:-1]), fs[1:])
            continue
        seen = np.zeros((n_samples + 7) // 8, np.uint8) if seen is None else seen
        _check_big_feature(t, store, f0, block, seen)
    return t.problems()


def _check_big_feature(t: _Tally, store: CSCStore, f: int, block: int, seen: np.ndarray) -> None:
    """Order and duplicates of one feature too large for a block: streamed, with a bitmap
    of the samples seen so far."""
    seen[:] = 0
    p, q = int(store.indptr[f]), int(store.indptr[f + 1])
    prev = None
    for a in range(p, q, block):
        s = store.indices.read(a, min(q, a + block)).astype(np.int64)
        v = store.data.read(a, min(q, a + block))
        if prev is not None:  # carry the last entry so order is checked across blocks
            s, v = np.concatenate([[prev[0]], s]), np.concatenate([[prev[1]], v])
        _check_order(t, np.full(len(s), f), s, v)
        new = s[1:] if prev is not None else s
        bits = (1 << (new & 7)).astype(np.uint8)
        t.add(DUPLICATE, (seen[new >> 3] & bits) != 0, f)
        new_sorted = np.sort(new)
        t.add(DUPLICATE, new_sorted[1:] == new_sorted[:-1], f)
        np.bitwise_or.at(seen, new >> 3, bits)
        prev = (s[-1], v[-1])


def _check_order(t: _Tally, feats: np.ndarray, s: np.ndarray, v: np.ndarray) -> None:
    same = feats[1:] == feats[:-1]
    ordered = (v[:-1] > v[1:]) | ((v[:-1] == v[1:]) & (s[:-1] < s[1:]))
    t.add(UNSORTED, same & ~ordered, feats[1:])


def check_nnz_conserved(
    shards: Sequence[CSRStore | str | Path], csc: CSCStore | str | Path, block: int = BLOCK
) -> list[str]:
    """Total nnz and per-feature counts of the CSR shards equal those of the CSC store."""
    csc = open_csc(csc)
    t = _Tally()
    counts = np.zeros(csc.n_features, np.int64)
    total = 0
    for shard in shards:
        shard = open_csr(shard)
        if shard.n_features != csc.n_features:
            t.note(f"{shard.path}: {shard.n_features} features, store has {csc.n_features}")
        if shard.sample_stop > csc.n_samples:
            t.note(f"{shard.path}: samples up to {shard.sample_stop} > store's {csc.n_samples}")
        for _, ids in _scan(shard.indices, block):
            c = np.bincount(ids, minlength=csc.n_features)
            if len(c) > csc.n_features:
                t.note(f"{shard.path}: feature ids beyond {csc.n_features - 1}")
            counts += c[: csc.n_features]
        total += shard.nnz
    if total != csc.nnz:
        t.note(f"total nnz differs: shards {total}, feature store {csc.nnz}")
    if len(csc.indptr) == csc.n_features + 1:
        diff = np.flatnonzero(counts != csc.nnz_per_feature())
        for f in diff[:5]:
            t.note(f"feature {f}: shards {counts[f]} nnz, store {csc.nnz_per_feature()[f]}")
        if len(diff) > 5:
            t.note(f"... {len(diff) - 5} more features with differing nnz")
    else:
        t.note("feature store indptr has the wrong length; per-feature counts not compared")
    return t.problems()
