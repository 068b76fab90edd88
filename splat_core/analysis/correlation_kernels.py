"""Compiled inner loops of feature_correlations (numba, nogil, so threads run them in parallel).

A feature's row of A^T A (A: [N, F] activations, sample-major CSR with values) is summed into
a dense float64 array in the order of that feature's own entries, so it does not depend on
threads or blocks. Pearson is then computed for every other live feature, co-firing or not,
and kept in a top-k buffer sorted by value descending: columns arrive in ascending order and
only strictly larger values enter, so ties go to the smaller column.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(nogil=True, cache=True)
def scatter_weighted(ids, vals, starts, f0, cursor, a_indices, a_data):
    """Write (feature f0 + j, its value) at cursor[s] (then advance it) for every entry of
    feature f0 + j: A^T -> A with values, rows filled in feature order, so sorted."""
    for j in range(len(starts) - 1):
        for p in range(starts[j], starts[j + 1]):
            s = ids[p]
            a_indices[cursor[s]] = f0 + j
            a_data[cursor[s]] = vals[p]
            cursor[s] += 1


@nb.njit(nogil=True, cache=True)
def feature_sums(vals, starts, f0, sums, squares):
    """sums[f0 + j], squares[f0 + j] = the sum and the sum of squares (float64) of feature
    f0 + j's values, in the store's order."""
    for j in range(len(starts) - 1):
        s, q = 0.0, 0.0
        for p in range(starts[j], starts[j + 1]):
            v = np.float64(vals[p])
            s += v
            q += v * v
        sums[f0 + j], squares[f0 + j] = s, q


@nb.njit(nogil=True, cache=True)
def _insert(vals, cols, both, k, v, c, e):
    """Insert (v, c, e) into a row's buffer; called only when v beats vals[k - 1]."""
    i = k - 1
    while i > 0 and vals[i - 1] < v:  # equal values stay ahead: they have smaller columns
        vals[i], cols[i], both[i] = vals[i - 1], cols[i - 1], both[i - 1]
        i -= 1
    vals[i], cols[i], both[i] = v, c, e


@nb.njit(nogil=True, cache=True)
def pearson_top_k(ids, vals, starts, f0, a_indptr, a_indices, a_data, n_samples, sums, sds,
                  k, dots, counts, out_vals, out_cols, out_both):  # fmt: skip
    """For feature f = f0 + j (entries ids/vals[starts[j]:starts[j + 1]]): the sums of
    products and co-firing counts with every feature (`dots`, `counts`: zero on entry and
    exit), then the k largest Pearson correlations over ALL samples with every live feature
    g != f (sds[g] > 0), into out_*[j]:
        r = (N * dot - S_f * S_g) / (sd_f * sd_g),  sd = sqrt(N * Q - S^2),
    clipped to [-1, 1]. A dead f (sds[f] == 0) gets no rows."""
    n_cols = len(dots)
    big_n = np.float64(n_samples)
    for j in range(len(starts) - 1):
        f = f0 + j
        for p in range(starts[j], starts[j + 1]):
            s = ids[p]
            v = np.float64(vals[p])
            for q in range(a_indptr[s], a_indptr[s + 1]):
                g = a_indices[q]
                dots[g] += v * np.float64(a_data[q])
                counts[g] += 1
        if sds[f] > 0:
            rv, rc, rb = out_vals[j], out_cols[j], out_both[j]
            worst = rv[k - 1]
            sf, sdf = sums[f], sds[f]
            for g in range(n_cols):
                if sds[g] > 0 and g != f:
                    r = (big_n * dots[g] - sf * sums[g]) / (sdf * sds[g])
                    r = min(1.0, max(-1.0, r))
                    if r > worst:
                        _insert(rv, rc, rb, k, r, g, counts[g])
                        worst = rv[k - 1]
        for g in range(n_cols):
            dots[g] = 0.0
            counts[g] = 0
