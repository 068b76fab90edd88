"""Spill files (raw numpy bytes, one file per column; no pickle): append-only `Spill`s, and
`Run`s, one read block's entries grouped by bucket, written once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np


class Spill:
    """Rows of fixed-dtype columns appended to `<stem>.<column>` files and read back in
    ranges. Files are opened per append, so thousands of spills never exhaust descriptors."""

    def __init__(self, stem: Path, dtypes: dict[str, np.dtype]):
        self.dtypes = {k: np.dtype(v) for k, v in dtypes.items()}
        self.paths = {k: Path(f"{stem}.{k}") for k in self.dtypes}
        self.size = 0

    def __len__(self) -> int:
        return self.size

    @property
    def nbytes(self) -> int:
        return self.size * sum(dt.itemsize for dt in self.dtypes.values())

    def append(self, **cols: np.ndarray) -> None:
        n = len(next(iter(cols.values())))
        if n == 0:
            return
        for k, dt in self.dtypes.items():
            with open(self.paths[k], "ab") as fh:
                np.ascontiguousarray(cols[k], dtype=dt).tofile(fh)
        self.size += n

    def read(self, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        stop = self.size if stop is None else min(stop, self.size)
        count = max(stop - start, 0)
        return {
            k: np.fromfile(self.paths[k], dtype=dt, count=count, offset=start * dt.itemsize)
            if count
            else np.empty(0, dt)
            for k, dt in self.dtypes.items()
        }

    def iter(self, block: int) -> Iterator[dict[str, np.ndarray]]:
        for start in range(0, self.size, block):
            yield self.read(start, start + block)

    def delete(self) -> None:
        for p in self.paths.values():
            p.unlink(missing_ok=True)
        self.size = 0


class Run:
    """One block's (feature, key) entries, grouped by bucket: bucket b is the range
    offsets[b]:offsets[b + 1] of each column file."""

    def __init__(self, stem: Path, features: np.ndarray, keys: np.ndarray, offsets: np.ndarray):
        self.paths = {"f": Path(f"{stem}.f"), "k": Path(f"{stem}.k")}
        self.dtypes = {"f": features.dtype, "k": keys.dtype}
        self.offsets = offsets
        features.tofile(self.paths["f"])
        keys.tofile(self.paths["k"])

    def size(self, b: int) -> int:
        return int(self.offsets[b + 1] - self.offsets[b])

    def read_into(self, b: int, column: str, out: np.ndarray) -> None:
        """Bucket b's entries of `column` into `out` (of length size(b))."""
        self.read_range(b, column, 0, out)

    def read_range(self, b: int, column: str, start: int, out: np.ndarray) -> None:
        """Bucket b's entries start:start + len(out) of `column` into `out`."""
        if len(out) == 0:
            return
        with open(self.paths[column], "rb") as fh:
            fh.seek((int(self.offsets[b]) + start) * self.dtypes[column].itemsize)
            fh.readinto(memoryview(out).cast("B"))

    def delete(self) -> None:
        for p in self.paths.values():
            p.unlink(missing_ok=True)
