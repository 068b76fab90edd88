"""The search's inner loop: how many rows each condition shares with a row set, counted on
bitmaps (64 rows a word; a fit split of 200,000 rows is 3,125 words a condition)."""

from __future__ import annotations

import numba as nb
import numpy as np

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


def overlap(bits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[conditions] int64: popcount(bits[c] & mask) for every condition c. Only the mask's
    nonzero words are read: a rare feature's positives touch few of them."""
    words = np.flatnonzero(mask)
    return _overlap_at(bits, words, mask[words])


@nb.njit(nogil=True, cache=True)
def _overlap_at(bits: np.ndarray, words: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.zeros(bits.shape[0], np.int64)
    for c in range(bits.shape[0]):
        total = np.uint64(0)
        for j in range(len(words)):
            x = bits[c, words[j]] & values[j]
            x = x - ((x >> np.uint64(1)) & _M1)  # SWAR popcount: numba has no intrinsic
            x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
            x = (x + (x >> np.uint64(4))) & _M4
            total += (x * _H01) >> np.uint64(56)
        out[c] = total
    return out


def pack(mask: np.ndarray) -> np.ndarray:
    """bool [..., rows] -> uint64 [..., words] (rows past the end are 0)."""
    packed = np.packbits(mask, axis=-1, bitorder="little")
    pad = (-packed.shape[-1]) % 8
    if pad:
        packed = np.concatenate([packed, np.zeros((*packed.shape[:-1], pad), np.uint8)], -1)
    return np.ascontiguousarray(packed).view(np.uint64)


def popcount(words: np.ndarray) -> int:
    return int(np.bitwise_count(words).sum())
