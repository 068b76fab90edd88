"""Writing analysis tables (Parquet, published atomically)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from splat_core.storage import atomic_file


def write_parquet(table: pa.Table, path: str | Path) -> None:
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp)
