"""Feature-indexed analysis tables: one Parquet long-form table, rows grouped by a key column.

The table is read once; a lookup finds the key's row range by binary search over the sorted
key column, so it costs O(log rows + that key's rows), never a scan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


class KeyedTable:
    """A Parquet table sorted by `key` (sorted at load if it is not)."""

    def __init__(self, path: str | Path, key: str = "feature_id"):
        self.path = Path(path)
        table = pq.read_table(self.path)
        if key not in table.column_names:
            raise ValueError(f"{self.path}: no {key!r} column (has {table.column_names})")
        keys = table.column(key).to_numpy(zero_copy_only=False)
        if len(keys) > 1 and not np.all(keys[1:] >= keys[:-1]):
            table = table.sort_by([(key, "ascending")])  # Arrow's sort is stable
            keys = table.column(key).to_numpy(zero_copy_only=False)
        self.key, self.table, self.keys = key, table, np.asarray(keys, dtype=np.int64)

    @property
    def columns(self) -> list[str]:
        return self.table.column_names

    def __len__(self) -> int:
        return self.table.num_rows

    def span(self, value: int) -> tuple[int, int]:
        lo, hi = np.searchsorted(self.keys, [value, value + 1], side="left")
        return int(lo), int(hi)

    def arrow(self, value: int) -> pa.Table:
        lo, hi = self.span(value)
        return self.table.slice(lo, hi - lo)

    def rows(self, value: int) -> list[dict]:
        return self.arrow(value).to_pylist()

    def all_rows(self) -> list[dict]:
        return self.table.to_pylist()
