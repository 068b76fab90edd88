"""The reference server's wire format: its columns, dtypes, IPC file form and parameter
readings, against the activation list they are made from."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from splat_core.query import wire


@pytest.fixture(scope="module")
def feature(tiny_reader):
    return int(tiny_reader.feature_counts().argmax())


def test_the_reference_shape_has_its_columns_dtypes_and_values(tiny_reader, feature):
    table = tiny_reader.activation_list(feature, limit=50)
    ref = wire.shaped(table, "reference")
    assert ref.schema == wire.REFERENCE_SCHEMA
    np.testing.assert_array_equal(ref.column("activation").to_numpy(),
                                  table.column("activation").to_numpy())  # fmt: skip
    assert ref.column("weapon_id").to_pylist() == table.column("weapon_id").to_pylist()
    assert (ref.column("ability_input_tokens").to_pylist()
            == table.column("ability_input_tokens").to_pylist())  # fmt: skip
    bare = wire.shaped(tiny_reader.activation_list(feature, include_abilities=False), "reference")
    assert bare.column_names == ["activation", "weapon_id"]
    assert bare.schema.field("weapon_id").type == pa.int64()
    assert wire.shaped(table, "splat") is table
    with pytest.raises(ValueError, match="unknown shape 'wide'"):
        wire.shaped(table, "wide")


@pytest.mark.parametrize("form", wire.FORMATS)
def test_ipc_forms_read_back_with_their_readers(tiny_reader, feature, form):
    table = wire.shaped(tiny_reader.activation_list(feature), "reference")
    body = wire.ipc_bytes(table, form)
    raw = bytes(body)
    if form == "file":
        assert raw[:6] == b"ARROW1" and raw[-6:] == b"ARROW1"
        got = pa.ipc.open_file(pa.py_buffer(raw)).read_all()
    else:
        assert raw[:6] != b"ARROW1"
        got = pa.ipc.open_stream(raw).read_all()
    assert got.equals(table)
    assert wire.ipc_rows(body) == table.num_rows
    with pytest.raises(ValueError, match="unknown Arrow IPC form"):
        wire.ipc_bytes(table, "feather")


def test_zero_limit_and_fraction_mean_all_rows():
    assert wire.reference_params(0, 0.0) == (None, None)
    assert wire.reference_params(5, 0.25) == (5, 0.25)
    assert wire.reference_params(None, 1.0) == (None, 1.0)


def test_an_empty_list_has_the_activation_lists_schema(tiny_reader, feature):
    for abilities in (True, False):
        empty = wire.empty_list(abilities)
        full = tiny_reader.activation_list(feature, limit=1, include_abilities=abilities)
        assert empty.num_rows == 0 and empty.schema == full.schema


@pytest.mark.parametrize("abilities", [True, False])
@pytest.mark.parametrize("shape", wire.SHAPES)
def test_json_rows_are_the_lists_rows(tiny_reader, feature, shape, abilities):
    read_tokens = abilities and shape == "splat"  # the reference's come from the row tails
    table = tiny_reader.activation_list(feature, limit=30, include_abilities=read_tokens)
    tails = tiny_reader.row_tails(abilities) if shape == "reference" else None
    body = json.loads(wire.json_list(feature, table, shape, abilities, tails, 1.23456))
    assert list(body) == ["feature_id", "n_rows", "columns", "data", "load_time_ms"]
    names = ["activation", "weapon_id", "ability_input_tokens"][: 3 if abilities else 2]
    if shape == "splat":
        names = ["sample_id", *names]
    assert body["n_rows"] == 30 and body["columns"] == names
    assert body["load_time_ms"] == 1.235
    # against a direct computation from the samples' flat arrays
    idx = tiny_reader.samples
    ids, acts = tiny_reader.activations(feature, limit=30)
    for row, s, a in zip(body["data"], ids.tolist(), acts, strict=True):
        assert list(row) == names
        assert row["activation"] == float(a)  # the float32's exact value, as Python writes it
        assert row["weapon_id"] == int(idx.weapon[s])
        if abilities:
            a0, a1 = idx.offsets[s], idx.offsets[s + 1]
            assert row["ability_input_tokens"] == idx.token_ids[a0:a1].tolist()
        if shape == "splat":
            assert row["sample_id"] == s


def test_json_of_an_empty_list(tiny_reader):
    for shape in wire.SHAPES:
        tails = tiny_reader.row_tails(True)
        body = json.loads(wire.json_list(7, wire.empty_list(True), shape, True, tails, 0.0))
        assert body["n_rows"] == 0 and body["data"] == []
