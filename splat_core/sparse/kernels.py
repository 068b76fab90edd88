"""Compiled inner loops of the transpose (numba, nogil, so threads run them in parallel).

An entry travels as one uint64 sort key, `desc(value) << 32 | sample`: ascending key order is
value descending, then sample ascending, exactly the feature store's order, and the key
decodes back to both fields. numpy's sorts cost 35-100 ns per element here; a counting
scatter by feature plus a radix sort of each feature's keys costs a few ns.
"""

from __future__ import annotations

import numba as nb
import numpy as np

SMALL = 48  # segments up to this length: insertion sort beats the radix passes
_LOW = np.uint64(0xFFFFFFFF)


@nb.njit(nogil=True, cache=False)
def pack_block(ids, values, indptr, p, first_sample, bucket_of, n_buckets, out_f, out_k):
    """Entries [p, p + len(ids)) of a shard -> out_f, out_k (feature ids, keys) grouped by
    bucket (stable: sample order kept); returns the bucket offsets[n_buckets + 1].

    indptr covers the rows holding those entries, the first of which is sample
    `first_sample`."""
    n = len(ids)
    offsets = np.zeros(n_buckets + 1, np.int64)
    for i in range(n):
        offsets[bucket_of[ids[i]] + 1] += 1
    for b in range(n_buckets):
        offsets[b + 1] += offsets[b]
    pos = offsets[:-1].copy()
    bits = values.view(np.uint32)
    r = 0
    for i in range(n):
        while indptr[r + 1] <= p + i:
            r += 1
        b = bucket_of[ids[i]]
        j = pos[b]
        pos[b] = j + 1
        out_f[j] = ids[i]
        hi = np.uint64(_desc_bits(bits[i])) << np.uint64(32)
        out_k[j] = hi | np.uint64(first_sample + r)
    return offsets


@nb.njit(nogil=True, cache=False)
def _desc_bits(bits):
    if bits == np.uint32(0x80000000):  # -0.0 sorts (and is stored) as +0.0
        bits = np.uint32(0)
    if bits >> np.uint32(31):
        return bits
    return ~bits & np.uint32(0x7FFFFFFF)


@nb.njit(nogil=True, cache=False)
def sort_bucket(features, keys, f0, bounds, out, tmp):
    """Entries of features [f0, f0 + len(bounds) - 1) in spill (sample) order -> their keys
    in store order, in `out`. bounds: each feature's start in the output, then the total;
    tmp: scratch of the same length."""
    n = len(keys)
    pos = bounds[:-1].copy()
    for i in range(n):
        j = features[i] - f0
        out[pos[j]] = keys[i]
        pos[j] += 1
    for j in range(len(bounds) - 1):
        sort_segment(out, tmp, bounds[j], bounds[j + 1])


@nb.njit(nogil=True, cache=False)
def sort_segment(keys, tmp, a, b):
    """Sort keys[a:b] ascending in place. Large segments: stable LSD radix on the value
    half (8-bit digits, constant digits skipped); ties keep their order, which is sample
    order, so the low half needs no pass."""
    n = b - a
    if n <= SMALL:
        for i in range(a + 1, b):
            k = keys[i]
            j = i - 1
            while j >= a and keys[j] > k:
                keys[j + 1] = keys[j]
                j -= 1
            keys[j + 1] = k
        return
    hist = np.zeros((4, 256), np.int64)
    for i in range(a, b):
        hi = keys[i] >> np.uint64(32)
        for d in range(4):
            hist[d, (hi >> np.uint64(8 * d)) & np.uint64(0xFF)] += 1
    src, dst = keys, tmp
    moved = 0
    for d in range(4):
        if hist[d].max() == n:  # every key has the same digit: the pass would not move
            continue
        moved += 1
        pos = np.empty(256, np.int64)
        total = a
        for c in range(256):
            pos[c] = total
            total += hist[d, c]
        shift = np.uint64(32 + 8 * d)
        for i in range(a, b):
            c = (src[i] >> shift) & np.uint64(0xFF)
            dst[pos[c]] = src[i]
            pos[c] += 1
        src, dst = dst, src
    if moved % 2:  # the sorted keys are in tmp
        keys[a:b] = tmp[a:b]


@nb.njit(nogil=True, cache=False)
def unpack(keys, samples, values):
    """Keys -> sample ids and float32 values, written into the given arrays."""
    bits = values.view(np.uint32)
    for i in range(len(keys)):
        k = keys[i]
        samples[i] = k & _LOW
        d = np.uint32(k >> np.uint64(32))
        bits[i] = d if d >> np.uint32(31) else ~d & np.uint32(0x7FFFFFFF)


@nb.njit(nogil=True, cache=False)
def digit_hist(keys, shift):
    """Histogram of the 16-bit digit at `shift` (the large-feature partition)."""
    hist = np.zeros(1 << 16, np.int64)
    for i in range(len(keys)):
        hist[(keys[i] >> np.uint64(shift)) & np.uint64(0xFFFF)] += 1
    return hist
