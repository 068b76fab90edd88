"""Grouped examples, containing builds and non-activating examples on the tiny home, each
checked against a direct computation from the samples' and builds' tokens."""

from __future__ import annotations

import numpy as np
import pytest

from splat_core.investigate import examples as ex


def busiest(r) -> int:
    """The feature with the most nonzero entries."""
    return int(np.argmax(r.feature_counts))


def key(r, s: int) -> tuple:
    return int(r.samples.weapon[s]), frozenset(r.samples.tokens(s))


def test_grouped_examples_merge_identical_inputs(tiny_reader):
    r = tiny_reader
    f, k = busiest(r), 5
    groups = ex.grouped_examples(r, f, k)
    ids, values = r.activations(f)
    act = dict(zip(ids.tolist(), values.tolist(), strict=True))
    assert 0 < len(groups) <= k
    assert len({(g.weapon.index, frozenset(g.tokens)) for g in groups}) == len(groups)
    # the groups are the first distinct inputs in descending order
    firsts = list(dict.fromkeys(key(r, s) for s in ids.tolist()))[:k]
    assert [(g.weapon.index, frozenset(g.tokens)) for g in groups] == firsts
    for g in groups:
        assert g.count == len(g.sample_ids) >= 1
        assert {key(r, s) for s in g.sample_ids} == {(g.weapon.index, frozenset(g.tokens))}
        assert g.max_activation == pytest.approx(act[g.sample_ids[0]])
        assert g.mean_activation == pytest.approx(np.mean([act[s] for s in g.sample_ids]))
        assert g.rank == int(np.flatnonzero(ids == g.sample_ids[0])[0]) + 1
    assert ex.grouped_examples(r, f, 0) == []


def test_grouped_quantile_examples_keep_every_pick(tiny_reader):
    r = tiny_reader
    f = busiest(r)
    picks = r.quantile_examples(f, 4, 5, seed=1)
    groups = ex.grouped_quantile_examples(r, f, 4, 5, seed=1)
    assert sum(g.count for g in groups) == len(picks)
    assert sorted(s for g in groups for s in g.sample_ids) == sorted(e.sample_id for e in picks)
    for g in groups:
        assert {key(r, s) for s in g.sample_ids} == {(g.weapon.index, frozenset(g.tokens))}
        assert g.bin is not None


def test_containing_builds_by_set_inclusion(tiny_reader):
    r = tiny_reader
    t, idx = r.builds, r.samples
    s = int(r.activations(busiest(r), limit=1)[0][0])
    out = ex.containing_builds(r, s, limit=1000)
    assert out.build.build_id == int(idx.build_id[s])
    partial = set(idx.tokens(s)) - {"<NULL>", "<PAD>"}
    assert partial <= set(out.build.tokens)
    expect = [
        b
        for b in range(len(t))
        if b != out.build.build_id
        and t.weapon[b] == idx.weapon[s]
        and partial <= set(idx.token_names[t.token_ids[t.offsets[b] : t.offsets[b + 1]]])
    ]
    assert [b.build_id for b in out.others] == expect[:1000]
    assert out.n_others == len(expect)
    assert len(ex.containing_builds(r, s, limit=0).others) == 0


def test_non_activating(tiny_reader):
    r = tiny_reader
    f = busiest(r)
    out = ex.non_activating(r, f, k=10, seed=3, n_tokens=3)
    fired = set(r.activations(f)[0].tolist())
    top = [row["token"] for row in sorted(r.tokens(f), key=lambda x: x["rank"])
           if row["kind"] == "enhancer" and not row["token"].startswith("<")][:3]  # fmt: skip
    assert out.top_tokens == top
    assert 0 < len(out.random) <= 10 and 0 < len(out.hard) <= 10
    for n in out.random + out.hard:
        assert n.sample_id not in fired
        feats = {x["feature_id"] for x in r.sample_features(n.sample_id, k=10_000)}
        assert f not in feats  # activation 0
        assert n.shared_tokens == [t for t in r.samples.tokens(n.sample_id) if t in top]
        assert n.shared == len(n.shared_tokens)
    assert all(n.shared >= 1 for n in out.hard)
    # ranked by how many top tokens they share, and none quiet sample shares more
    shared = [n.shared for n in out.hard]
    assert shared == sorted(shared, reverse=True)
    quiet_best = max(
        len(set(r.samples.tokens(s)) & set(top))
        for s in range(r.samples.n_samples)
        if s not in fired
    )
    assert shared[0] == quiet_best
    assert ex.non_activating(r, f, k=10, seed=3) == out  # seeded
