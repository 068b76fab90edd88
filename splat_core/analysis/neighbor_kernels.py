"""Compiled inner loops of feature_neighbors (numba, nogil, so threads run them in parallel).

Top-k is kept per row in a small buffer sorted by value descending (unused slots: column -1
and a floor value, -inf for cosines and 0 for Jaccard: nothing at or below it enters).
Columns reach a row in ascending order and only strictly better values are inserted, so ties
go to the smaller column: exactly `top_k_per_row`'s answer, without a dense block sorted.
NaN is never kept.

Random reads (a sample's row of A, a counter per sample) are prefetched a few iterations
ahead: on this hardware a cache and TLB miss per sample otherwise costs ~4x the work.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

STRIP = 64  # columns per strip (64 x 2048 float32: 512 KiB, the L2)
AHEAD = 8  # iterations a prefetch runs ahead (4-32 measured within 10% of each other)


@intrinsic
def _prefetch(typingctx, arr, idx):
    """Hint the cache line of arr[idx] into cache (llvm.prefetch; a no-op if out of range)."""

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(
            context, builder, signature.args[0], ary, [args[1]], wraparound=False
        )
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0"
        )
        read, locality, data = ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)
        builder.call(fn, [builder.bitcast(ptr, i8p), read, locality, data])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


@nb.njit(nogil=True, cache=False)
def _insert(vals, cols, extra, k, v, c, e):
    """Insert (v, c, e) into a row's buffer; called only when v beats vals[k - 1]."""
    i = k - 1
    while i > 0 and vals[i - 1] < v:  # equal values stay ahead: they have smaller columns
        vals[i], cols[i], extra[i] = vals[i - 1], cols[i - 1], extra[i - 1]
        i -= 1
    vals[i], cols[i], extra[i] = v, c, e


@nb.njit(nogil=True, cache=False)
def tile_top_k(tile, r0, c0, k, out_vals, out_cols):
    """Row i of `tile` holds feature r0 + i's similarity to features c0, c0 + 1, ...: merge
    them (itself excluded) into out_*[r0 + i], which hold its top k of earlier columns."""
    dummy = np.zeros(k, np.int64)
    for i in range(tile.shape[0]):
        f = r0 + i
        vals, cols = out_vals[f], out_cols[f]
        worst = vals[k - 1]
        for j in range(tile.shape[1]):
            v = tile[i, j]
            if v > worst and c0 + j != f:
                _insert(vals, cols, dummy, k, v, c0 + j, 0)
                worst = vals[k - 1]


@nb.njit(nogil=True, cache=False)
def tile_top_k_cols(tile, r0, c0, k, out_vals, out_cols):
    """tile_top_k of tile.T: column j is feature c0 + j's similarity to features r0 + i.
    Strips of STRIP columns are copied to a row-major buffer first (a whole-tile transposed
    copy costs ~10x the top-k)."""
    strip = np.empty((STRIP, tile.shape[0] + 16), tile.dtype)  # padded: 2^k apart, rows clash

    for j0 in range(0, tile.shape[1], STRIP):
        w = min(STRIP, tile.shape[1] - j0)
        for i in range(tile.shape[0]):
            for j in range(w):
                strip[j, i] = tile[i, j0 + j]
        tile_top_k(strip[:w, : tile.shape[0]], c0 + j0, r0, k, out_vals, out_cols)


@nb.njit(nogil=True, cache=False)
def count_samples(ids, counts):
    """counts[s] += occurrences of s in ids (features per sample)."""
    n = len(ids)
    for p in range(n):
        if p + AHEAD < n:
            _prefetch(counts, ids[p + AHEAD])
        counts[ids[p]] += 1


@nb.njit(nogil=True, cache=False)
def scatter_features(ids, starts, f0, cursor, a_indices):
    """Write feature f0 + j at cursor[s] (then advance it) for every sample s in
    ids[starts[j]:starts[j + 1]]: A^T -> A, rows filled in feature order, so sorted."""
    n = len(ids)
    for j in range(len(starts) - 1):
        for p in range(starts[j], starts[j + 1]):
            if p + AHEAD < n:
                _prefetch(a_indices, cursor[ids[p + AHEAD]])
            s = ids[p]
            a_indices[cursor[s]] = f0 + j
            cursor[s] += 1


@nb.njit(nogil=True, cache=False)
def coactivation_top_k(ids, starts, f0, a_indptr, a_indices, nnz, k, counts,
                       out_vals, out_cols, out_both):  # fmt: skip
    """For feature f0 + j (firing on samples ids[starts[j]:starts[j + 1]]): co-occurrence
    counts with every feature (a row of A^T A, in `counts`, zero on entry and exit), then the
    k largest Jaccard indices over features with both > 0, itself excluded, into out_*[j]."""
    n, n_cols = len(ids), len(counts)
    for j in range(len(starts) - 1):
        f = f0 + j
        for p in range(starts[j], starts[j + 1]):
            if p + 2 * AHEAD < n:
                _prefetch(a_indptr, ids[p + 2 * AHEAD])
            if p + AHEAD < n:
                a = a_indptr[ids[p + AHEAD]]
                for line in range(0, 192, 64):  # a row: 64 x uint16 spans 2-3 lines
                    _prefetch(a_indices, a + line // a_indices.itemsize)
            s = ids[p]
            for q in range(a_indptr[s], a_indptr[s + 1]):
                counts[a_indices[q]] += 1
        vals, cols, both = out_vals[j], out_cols[j], out_both[j]
        worst = vals[k - 1]  # 0 while the buffer has room: both == 0 never enters
        bar = 0.0
        for g in range(n_cols):  # no branch on c == 0: rows are often half zeros
            c = counts[g]
            counts[g] = 0
            union = np.float64(nnz[f] + nnz[g] - c)
            if c > bar * union:  # cheap multiply first; margin so that no v > worst is missed
                v = np.float64(c) / max(union, 1.0)  # the exact Jaccard, as a dense division
                if v > worst and g != f:
                    _insert(vals, cols, both, k, v, g, c)
                    worst = vals[k - 1]
                    bar = worst * (1.0 - 1e-9)
