"""Every sample's input tokens packed into one fixed-width slot, so that the token lists of
many random samples are gathered with one vectorised `take` (the ragged layout needs index
arithmetic per token, several times slower for a feature with 10^5 samples)."""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa


class PackedTokens:
    """Slot i holds sample i's token ids, then padding (the dtype's maximum)."""

    def __init__(self, offsets: np.ndarray, token_ids: np.ndarray, vocab_size: int):
        lengths = np.diff(offsets)
        self.dtype = np.dtype(np.uint8 if vocab_size < 255 else np.uint16)
        self.pad = np.iinfo(self.dtype).max
        # a slot is a whole number of 8-byte words, so a gather moves machine words
        slot_bytes = max(8, -(-int(lengths.max(initial=0)) * self.dtype.itemsize // 8) * 8)
        width = slot_bytes // self.dtype.itemsize
        grid = np.full((len(lengths), width), self.pad, self.dtype)
        grid[np.arange(width)[None, :] < lengths[:, None]] = token_ids
        self.width = width
        self.lengths = lengths.astype(np.int32)
        self.slots = grid.view(np.dtype((np.void, width * self.dtype.itemsize))).ravel()

    def lists(self, sample_ids: np.ndarray) -> pa.ChunkedArray:
        """The token lists of these samples, in this order. A long request is cut into one
        piece per core, gathered in parallel (numpy releases the GIL for these loops)."""
        ids = np.asarray(sample_ids)
        pieces = max(1, min(_WORKERS, len(ids) // PARALLEL_FROM))
        if pieces == 1:
            return pa.chunked_array([self._lists(ids)])
        parts = np.array_split(ids, pieces)
        return pa.chunked_array(list(_pool().map(self._lists, parts)))

    def _lists(self, ids: np.ndarray) -> pa.ListArray:
        grid = np.take(self.slots, ids).view(self.dtype)
        offsets = np.zeros(len(ids) + 1, np.int32)
        np.cumsum(np.take(self.lengths, ids), out=offsets[1:])
        values = pa.array(grid[grid != self.pad], type=pa.from_numpy_dtype(self.dtype))
        return pa.ListArray.from_arrays(pa.array(offsets), values)


PARALLEL_FROM = 50_000  # samples per piece; below this a thread costs more than it saves
_WORKERS = os.cpu_count() or 1


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(_WORKERS, thread_name_prefix="splat-tokens")
