"""The seed's activation list: rows, sampling and limits against the dense activations."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from splat_core.query import UnknownFeatureError, wire
from splat_core.query.token_lists import PackedTokens


@pytest.mark.parametrize(
    ("limit", "frac", "seed"), [(None, None, 0), (7, None, 0), (None, 0.5, 3), (4, 0.5, 3)]
)
def test_activation_list_rows_match_dense_and_metadata(tiny_reader, dense, limit, frac, seed):
    acts, meta, _ = dense
    f = int(tiny_reader.feature_counts().argmax())
    table = tiny_reader.activation_list(f, limit=limit, sample_frac=frac, seed=seed)
    col = acts[:, f]
    order = np.lexsort((np.arange(len(col)), -col))[: int((col > 0).sum())]
    if frac is not None:  # a seeded subset of positions, kept in descending order
        rng = np.random.default_rng(seed)
        pos = np.sort(rng.choice(len(order), size=int(round(frac * len(order))), replace=False))
        order = order[pos]
    order = order[:limit] if limit is not None else order
    vocab = tiny_reader.vocabularies[0]
    assert table.column("sample_id").to_pylist() == order.tolist()
    np.testing.assert_array_equal(table.column("activation").to_numpy(), col[order])
    assert table.column("weapon_id").to_pylist() == [meta[s][0] for s in order.tolist()]
    tokens = table.column("ability_input_tokens").to_pylist()
    assert [vocab.decode(t) for t in tokens] == [meta[s][1] for s in order.tolist()]
    again = tiny_reader.activation_list(f, limit=limit, sample_frac=frac, seed=seed)
    assert again.equals(table)
    bare_table = tiny_reader.activation_list(f, limit=limit, sample_frac=frac, seed=seed,
                                        include_abilities=False)  # fmt: skip
    assert bare_table.column_names == ["sample_id", "activation", "weapon_id"]
    streamed = pa.ipc.open_stream(wire.ipc_bytes(table, "stream")).read_all()
    assert streamed.equals(table)


@pytest.mark.parametrize(("vocab_size", "longest"), [(140, 15), (140, 23), (300, 9)])
def test_packed_token_lists_equal_the_ragged_lists(vocab_size, longest):
    rng = np.random.default_rng(vocab_size + longest)
    lengths = rng.integers(0, longest + 1, size=500)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    tokens = rng.integers(0, vocab_size, size=int(offsets[-1]))
    packed = PackedTokens(offsets, tokens, vocab_size)
    ids = rng.integers(0, 500, size=300)
    got = packed.lists(ids).to_pylist()
    assert got == [tokens[offsets[i] : offsets[i + 1]].tolist() for i in ids]
    assert packed.lists(np.zeros(0, np.int64)).to_pylist() == []


def test_activation_list_rejects_bad_parameters(tiny_reader):
    with pytest.raises(ValueError):
        tiny_reader.activation_list(0, limit=-1)
    with pytest.raises(ValueError):
        tiny_reader.activation_list(0, sample_frac=0.0)
    with pytest.raises(ValueError):
        tiny_reader.activation_list(0, sample_frac=1.5)
    with pytest.raises(UnknownFeatureError):
        tiny_reader.activation_list(tiny_reader.n_features)
