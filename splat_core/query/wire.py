"""The reference activation server's wire format, exactly (shared/reference: its server
writes polars `DataFrame.write_ipc` bytes and row-dict JSON), and splat's richer forms.

Reference form, the default:
- columns `activation` Float32, `weapon_id` Int64, `ability_input_tokens` List(Int64), in
  that order (the last one only with abilities);
- Arrow as the IPC **file** format (`ARROW1` at both ends: what `polars.read_ipc` and
  `pyarrow.ipc.open_file` read), although the media type says "stream", as the reference's;
- `limit=0` and `sample_frac=0.0` are "not given" (the reference tests them for truth).
Splat form, on request: `sample_id` first and the compact dtypes the store keeps (uint32
ids, int16 weapons, uint8 tokens: a third of the bytes), and an IPC stream if asked for.
"""

from __future__ import annotations

import orjson
import pyarrow as pa

from splat_core.query.json_rows import RowTails

REFERENCE_SCHEMA = pa.schema([
    ("activation", pa.float32()),
    ("weapon_id", pa.int64()),
    ("ability_input_tokens", pa.list_(pa.int64())),
])  # fmt: skip
FORMATS = ("file", "stream")  # Arrow IPC forms
SHAPES = ("reference", "splat")  # column sets


def reference_params(limit: int | None, sample_frac: float | None) -> tuple:
    """The reference's reading of `limit` and `sample_frac`: 0 and 0.0 mean "all rows"."""
    return (limit or None), (sample_frac or None)


def shaped(table: pa.Table, shape: str) -> pa.Table:
    """The activation list (activation_list.py's columns) in the reference's columns and dtypes,
    or as the store keeps it ("splat")."""
    if shape == "splat":
        return table
    if shape != "reference":
        raise ValueError(f"unknown shape {shape!r}: one of {', '.join(SHAPES)}")
    names = [n for n in REFERENCE_SCHEMA.names if n in table.column_names]
    schema = pa.schema([REFERENCE_SCHEMA.field(n) for n in names])
    return pa.table([table.column(n).cast(schema.field(n).type) for n in names], schema=schema)


def empty_list(include_abilities: bool) -> pa.Table:
    """No rows, with the activation list's columns and dtypes (activation_list.py): the
    reference's answer for an unknown feature id."""
    fields = [
        ("sample_id", pa.uint32()),
        ("activation", pa.float32()),
        ("weapon_id", pa.int16()),
        ("ability_input_tokens", pa.list_(pa.uint8())),
    ]
    return pa.schema(fields if include_abilities else fields[:3]).empty_table()


def ipc_bytes(table: pa.Table, form: str = "file") -> memoryview:
    """The table as Arrow IPC ("file": footer and magic at both ends; "stream"), a view of
    Arrow's own buffer: a 10 MB answer is not copied again."""
    if form not in FORMATS:
        raise ValueError(f"unknown Arrow IPC form {form!r}: one of {', '.join(FORMATS)}")
    sink = pa.BufferOutputStream()
    opener = pa.ipc.new_file if form == "file" else pa.ipc.new_stream
    with opener(sink, table.schema) as writer:
        writer.write_table(table)
    return memoryview(sink.getvalue())


def ipc_rows(body: memoryview | bytes) -> int:
    """Rows of an IPC answer of either form (zero-copy: only the metadata is read)."""
    buf = pa.py_buffer(body)
    if bytes(buf[:6]) == b"ARROW1":
        reader = pa.ipc.open_file(buf)
        return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
    return pa.ipc.open_stream(buf).read_all().num_rows


def json_list(
    feature_id: int,
    table: pa.Table,
    shape: str,
    include_abilities: bool,
    tails: RowTails | None,
    load_time_ms: float,
) -> bytes:
    """The reference's JSON answer: {feature_id, n_rows, columns, data: [row dicts],
    load_time_ms}. `table` is the activation list as read (activation_list.py's columns; its
    tokens are needed only for shape "splat"). The reference's rows are written from the
    samples' `tails` (json_rows.py); splat's (sample_id first) column-wise by polars."""
    columns = [*REFERENCE_SCHEMA.names[: 3 if include_abilities else 2]]
    if shape == "reference":
        rows = tails.rows(
            table.column("sample_id").to_numpy(), table.column("activation").to_numpy()
        )
    else:
        rows = _written_rows(shaped(table, shape))
        columns = table.column_names
    head = orjson.dumps({"feature_id": feature_id, "n_rows": table.num_rows, "columns": columns})
    tail = orjson.dumps(round(load_time_ms, 3))
    return b"".join((head[:-1], b',"data":', rows, b',"load_time_ms":', tail, b"}"))


def _written_rows(table: pa.Table) -> bytes:
    """Any table's rows as a JSON array of row dicts, written column-wise by polars (Rust)."""
    import polars as pl  # only JSON answers need it: `splat --help` stays light

    if not table.num_rows:
        return b"[]"
    # float64 text, as the reference's: see RowTails.rows
    frame = pl.from_arrow(table).with_columns(pl.col("activation").cast(pl.Float64))
    return frame.write_json().encode()
