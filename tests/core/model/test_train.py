"""Training, augmentation and held-out metrics, checked against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from splat_core.builds.subsets import Batch, fixed_subsets, removal_cdf, sample_subsets
from splat_core.builds.synth import SynthConfig, generate_builds
from splat_core.builds.table import BuildTable
from splat_core.domain.vocab import Vocab, WeaponVocab
from splat_core.model.evaluate import (
    baseline_scores,
    completion_metrics,
    completion_recall,
    weapon_frequency,
)
from splat_core.model.train import TrainConfig, lr_factor, split_builds, train_model


@pytest.fixture(scope="module")
def table():
    return generate_builds(SynthConfig(n_builds=1_500, seed=1))


def test_removal_counts_follow_the_skewed_law(table):
    rows = np.flatnonzero(table.lengths == 13)
    rows = np.resize(rows, 40_000)
    batch = sample_subsets(table, rows, np.random.default_rng(0), skew=1.2)
    removed = 13 - batch.inputs.sum(axis=1)
    observed = np.bincount(removed, minlength=13)[1:13] / len(rows)
    expected = np.arange(1, 13) ** 1.2 / (np.arange(1, 13) ** 1.2).sum()
    np.testing.assert_allclose(observed, expected, atol=0.01)
    assert np.allclose(removal_cdf(1.2)[13, :12], np.cumsum(expected))


def test_subsets_are_subsets_of_their_build(table):
    rows = np.arange(len(table))
    batch = sample_subsets(table, rows, np.random.default_rng(1), null_frac=0.1)
    assert not (batch.inputs & ~batch.targets).any()
    assert np.array_equal(batch.targets, table.multi_hot()[rows])
    null = table.vocab.null_id
    only_null = (batch.tokens[:, 0] == null) & (batch.tokens[:, 1] == table.vocab.pad_id)
    assert 0.05 < only_null.mean() < 0.15
    assert (batch.inputs.sum(axis=1)[~only_null] >= 1).all()


def test_fixed_subsets_depend_only_on_build_id_and_instance(table):
    ids = np.arange(100, 100 + len(table))
    _, _, whole = fixed_subsets(table, ids, 3, seed=5, include_full=True)
    part = np.arange(40, 60)
    _, inst, shard = fixed_subsets(table.subset(part), ids[part], 3, seed=5, include_full=True)
    assert np.array_equal(shard.tokens, whole.tokens[40 * 4 : 60 * 4])
    full = shard.tokens[inst == 3]
    assert np.array_equal(full[:, :12][full[:, :12] != 139].size > 0, True)
    assert np.array_equal(shard.inputs[inst == 3], shard.targets[inst == 3])


def _tiny_batch() -> Batch:
    # 2 instances over a 5-token vocabulary (ids 0..4; 3 is <NULL>, 4 is <PAD>).
    targets = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 0, 0]], dtype=bool)
    inputs = np.array([[1, 0, 0, 0, 0], [0, 0, 1, 0, 0]], dtype=bool)
    return Batch(np.zeros((2, 2), np.int64), np.array([[0], [1]]), targets, inputs)


def test_completion_recall_by_hand():
    scores = np.array([[0.9, 0.8, 0.1, 0.7, 0.0], [0.2, 0.6, 0.9, 0.0, 0.0]])
    b = _tiny_batch()
    content = np.array([0, 1, 2])
    # Row 0: removed {1, 2}; candidates 1 (0.8), 2 (0.1) -> top-2 holds both: 2 hits.
    # Row 1: removed {0}; candidates 0 (0.2), 1 (0.6) -> top-1 is token 1: 0 hits.
    s, y, g = scores[:, content], b.targets[:, content], b.inputs[:, content]
    assert completion_recall(s, y, g) == pytest.approx(2 / 3)
    m = completion_metrics(scores, b, content)
    # Predictions >= 0.5: row 0 {0, 1}, row 1 {1, 2}; truth row 0 {0,1,2}, row 1 {0,2}.
    tp, pred, truth = 3, 4, 5
    assert m["micro_precision"] == pytest.approx(tp / pred)
    assert m["micro_recall"] == pytest.approx(tp / truth)
    p, r = tp / pred, tp / truth
    assert m["micro_f1"] == pytest.approx(2 * p * r / (p + r))


def test_weapon_frequency_by_hand():
    vocab = Vocab({"comeback": 0, "swim_speed_up_3": 1, "<NULL>": 2, "<PAD>": 3})
    wv = WeaponVocab.from_weapon_ids([0, 1])
    t = BuildTable.from_lists([[0, 1], [1], [0], [1]], [0, 0, 0, 1], vocab, wv)
    freq = weapon_frequency(t, smoothing=1.0)
    overall = np.array([2, 3, 0, 0]) / 4
    np.testing.assert_allclose(freq[0], (np.array([2, 2, 0, 0]) + overall) / 4)
    np.testing.assert_allclose(freq[1], (np.array([0, 1, 0, 0]) + overall) / 2)
    b = Batch(np.zeros((1, 1), np.int64), np.array([[1]]), np.ones((1, 4), bool),
              np.array([[1, 0, 0, 0]], bool))  # fmt: skip
    assert baseline_scores(freq, b, copy_input=True)[0, 0] == 1.0
    assert baseline_scores(freq, b, copy_input=False)[0, 0] == freq[1, 0]


def test_split_is_a_seeded_partition():
    s = split_builds(1000, 0.1, 0.2, seed=0)
    both = np.concatenate([s.train, s.val, s.test])
    assert sorted(both) == list(range(1000))
    assert (len(s.val), len(s.test)) == (100, 200)
    assert np.array_equal(split_builds(1000, 0.1, 0.2, seed=0).test, s.test)


def test_lr_schedule_warms_up_then_decays():
    f = [lr_factor(s, 100, 10) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[9:], f[10:], strict=False))
    assert f[-1] == pytest.approx(0.1, abs=0.01)


def test_training_is_reproducible_and_learns(table):
    config = TrainConfig(hidden_dim=32, num_inducing_points=4, epochs=4, batch_size=64,
                         instances_per_epoch=1, lr=3e-3, threads=1)  # fmt: skip
    a = train_model(table, config, progress=lambda _m: None)
    b = train_model(table, config, progress=lambda _m: None)
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k
    assert a.metrics["test"] == b.metrics["test"]
    history = a.metrics["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"] < 0.69  # 0.69: untrained BCE
    assert history[-1]["train_loss"] < 0.3
    assert set(a.metrics) >= {"test", "baseline_weapon_frequency", "history", "train_config"}
