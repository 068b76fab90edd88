"""RowTails: the reference's JSON rows written from per-sample tails, against json.dumps of
the same rows built in Python."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from splat_core.query.json_rows import RowTails


def direct(ids, acts, weapons, tokens) -> list[dict]:
    rows = []
    for s, a in zip(ids.tolist(), acts, strict=True):
        row = {"activation": float(a), "weapon_id": int(weapons[s])}
        if tokens is not None:
            row["ability_input_tokens"] = tokens[s]
        rows.append(row)
    return rows


@pytest.mark.parametrize("with_tokens", [True, False])
def test_rows_match_a_direct_computation(with_tokens):
    rng = np.random.default_rng(3)
    n = 500
    weapons = rng.integers(0, 130, n)
    tokens = [rng.integers(0, 160, rng.integers(0, 12)).tolist() for _ in range(n)]
    lists = pa.array(tokens, type=pa.list_(pa.uint8())) if with_tokens else None
    tails = RowTails(weapons, lists)
    assert len(tails) == n
    ids = rng.permutation(n)[:300]  # any order, as a feature's list is by activation
    # float32 values over the whole range: tiny, subnormal, huge, exact integers
    acts = np.concatenate([
        rng.lognormal(0, 3, 290).astype(np.float32),
        np.array([1e-45, 1.17e-38, 3.4e38, 1.0, 0.1, 1e-5, 1e16, 123456789, 0.0, 2.5],
                 np.float32),
    ])  # fmt: skip
    body = tails.rows(ids, acts)
    want = direct(ids, acts, weapons, tokens if with_tokens else None)
    assert json.loads(body) == want


def test_no_rows_is_an_empty_array():
    tails = RowTails(np.array([1, 2]), pa.array([[1], []], type=pa.list_(pa.uint8())))
    assert tails.rows(np.array([], np.int64), np.array([], np.float32)) == b"[]"


def test_one_sample_many_times():
    tails = RowTails(np.array([5]), pa.array([[9, 8]], type=pa.list_(pa.uint8())))
    got = json.loads(tails.rows(np.zeros(3, np.int64), np.array([3, 2, 1], np.float32)))
    assert got == [{"activation": v, "weapon_id": 5, "ability_input_tokens": [9, 8]}
                   for v in (3.0, 2.0, 1.0)]  # fmt: skip
