"""The search and its held-out scores, on inputs made here: a planted rule is found, and
every score equals a direct computation on the held-out rows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import mannwhitneyu, spearmanr

from splat_core.domain.vocab import RUNGS, STANDARD
from splat_core.domain.weapons import weapon_table
from splat_core.explain.inputs import InputTable
from splat_core.explain.rules import parse
from splat_core.explain.search import ExplainConfig, Explainer, Split, confidence, f1_of
from splat_core.explain.table import SCHEMA, feature_explanations, summarize

N = 6_000
CONFIG = ExplainConfig(seed=3, min_positives=20)


def make_inputs(n: int = N, seed: int = 0) -> InputTable:
    rng = np.random.default_rng(seed)
    top = np.where(rng.random((n, len(STANDARD))) < 0.35,
                   rng.choice(RUNGS, size=(n, len(STANDARD))), 0).astype(np.uint8)  # fmt: skip
    mains = (rng.random((n, 12)) < 0.1) @ (1 << np.arange(12))
    weapons = weapon_table()
    keys = {"weapon": [str(w.weapon_id) for w in weapons],
            "class": [w.weapon_class for w in weapons], "sub": [w.sub for w in weapons],
            "special": [w.special for w in weapons]}  # fmt: skip
    return InputTable(
        top.T.copy(),
        mains.astype(np.uint16),
        rng.integers(0, len(weapons), n).astype(np.int32),
        keys,
    )


class FakeCSC:
    """What feature_explanations reads of a feature store: per feature (ids, values),
    highest first."""

    def __init__(self, features: list[tuple[np.ndarray, np.ndarray]], n_samples: int):
        self.features, self.n_features, self.n_samples = features, len(features), n_samples

    def feature(self, f: int):
        ids, values = self.features[f]
        order = np.argsort(-values, kind="stable")
        return ids[order], values[order]

    def nnz_per_feature(self):
        return np.array([len(i) for i, _ in self.features])


@pytest.fixture(scope="module")
def inputs():
    return make_inputs()


@pytest.fixture(scope="module")
def explainer(inputs):
    return Explainer(inputs, CONFIG)


PLANTED = "swim_speed_up >= 21 & class = roller | ninja_squid"


def planted_feature(inputs, seed: int = 1):
    """Fires exactly where PLANTED holds, more strongly the more Swim Speed Up."""
    ids = np.flatnonzero(inputs.evaluate(parse(PLANTED)))
    swim = inputs.top_ap[STANDARD.index("swim_speed_up"), ids].astype(np.float32)
    values = 0.5 + swim / 57 + np.random.default_rng(seed).random(len(ids)).astype(np.float32)
    return ids, values


def test_the_split_is_seeded_disjoint_and_bounded():
    a, b = Split.of(1000, ExplainConfig(seed=1)), Split.of(1000, ExplainConfig(seed=1))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.intersect1d(a.fit, a.score).size and len(a.fit) == len(a.score) == 500
    small = Split.of(1000, ExplainConfig(seed=1, fit_rows=100, score_rows=50))
    assert len(small.fit) == 100 and len(small.score) == 50
    assert not np.array_equal(Split.of(1000, ExplainConfig(seed=2)).fit, a.fit)


def test_a_planted_rule_is_found_and_scored_perfectly(inputs, explainer):
    ids, values = planted_feature(inputs)
    found = explainer.explain(7, ids, values)
    best = found[0]
    assert best.target == "fires" and parse(str(best.rule)).key == parse(PLANTED).key
    assert best.fit_f1 == 1.0 and best.scores.f1 == 1.0 and best.scores.confidence == "high"
    assert len(found) == CONFIG.keep and [e.fit_f1 for e in found] == sorted(
        [e.fit_f1 for e in found], reverse=True
    )


def test_held_out_scores_equal_a_direct_computation(inputs, explainer):
    ids, values = planted_feature(inputs)
    rule = parse("swim_speed_up >= 15 & class = roller | ninja_squid & no comeback")
    s = explainer.score(rule, ids, ids, values, feature=7)
    rows = explainer.split.score
    label = np.isin(rows, ids)
    holds = inputs.evaluate(rule, rows)
    tp = int((label & holds).sum())
    assert s.n_scored == len(rows) and s.n_positive == label.sum()
    assert s.precision == pytest.approx(tp / holds.sum(), abs=1e-6)
    assert s.recall == pytest.approx(tp / label.sum(), abs=1e-6)
    assert s.f1 == pytest.approx(2 * tp / (label.sum() + holds.sum()), abs=1e-6)
    assert s.coverage == pytest.approx(holds.mean(), abs=1e-6)
    # AUROC of the margin score (0 where the rule fails), ties half: Mann-Whitney's U
    score = np.where(holds, 1 + inputs.margin(rule, rows), 0)
    u = mannwhitneyu(score[label], score[~label]).statistic
    assert s.auroc == pytest.approx(u / (label.sum() * (~label).sum()), abs=1e-6)
    # Spearman of activation with the margin, where the rule holds
    act = dict(zip(ids.tolist(), values.tolist(), strict=True))
    inside = rows[holds]
    acts = [act.get(int(r), 0.0) for r in inside]
    expected = spearmanr(acts, inputs.margin(rule, inside)).statistic
    assert s.spearman == pytest.approx(expected, abs=1e-6)
    # the null: as many positives drawn at random among the held-out rows
    null = np.zeros(len(rows), bool)
    null[np.random.default_rng([CONFIG.seed, 7]).choice(len(rows), label.sum(), False)] = True
    ntp = int((null & holds).sum())
    assert s.null_f1 == pytest.approx(2 * ntp / (label.sum() + holds.sum()), abs=1e-6)
    assert s.null_f1 < s.f1 / 2


def test_noise_is_not_explained(inputs, explainer):
    rng = np.random.default_rng(5)
    ids = np.sort(rng.choice(N, 600, replace=False))
    found = explainer.explain(1, ids, rng.random(600).astype(np.float32) + 0.1)
    assert found and all(e.scores.confidence in ("none", "low") for e in found)
    assert found[0].scores.f1 < 0.3


def test_too_few_firing_samples_give_no_rule(inputs, explainer):
    ids = np.arange(0, 60, 2)  # ~15 of them in the fit half: fewer than min_positives
    assert explainer.explain(2, ids, np.ones(len(ids), np.float32)) == []


def test_the_strong_target_is_the_upper_part_of_the_activations(inputs, explainer):
    ids, values = planted_feature(inputs)
    strong = explainer.targets(ids, values)["strong"]
    assert set(strong) == set(ids[values >= np.quantile(values, CONFIG.strong_quantile)])


def test_confidence_classes():
    assert confidence(0.9, 0.05) == "high" and confidence(0.6, 0.05) == "medium"
    assert confidence(0.3, 0.05) == "low" and confidence(0.15, 0.05) == "none"
    assert confidence(0.9, 0.85) == "none"  # no better than its null
    assert f1_of(0, 0, 0) == 0.0


def test_the_table_is_deterministic_and_consistent(inputs):
    ids, values = planted_feature(inputs)
    rng = np.random.default_rng(9)
    noise = np.sort(rng.choice(N, 500, replace=False))
    csc = FakeCSC([(ids, values), (noise, rng.random(500).astype(np.float32)),
                   (np.arange(5), np.ones(5, np.float32))], N)  # fmt: skip
    table, meta = feature_explanations(csc, inputs, CONFIG)
    again, _ = feature_explanations(csc, inputs, CONFIG)
    assert table.equals(again) and table.schema.equals(SCHEMA, check_metadata=False)
    best = table.filter(np.asarray(table["rank"]) == 1).to_pylist()
    assert [r["feature_id"] for r in best] == [0, 1]  # feature 2 fires on too few samples
    assert best[0]["f1"] == 1.0 and parse(best[0]["rule"]).key == parse(PLANTED).key
    assert meta["confidence"]["unexplained"] == 1 and meta["n_explained"] == 2
    assert summarize(table, 3)["confidence"] == meta["confidence"]
    assert meta["null_search"]["n_features"] == 2  # features with >= 2 x min_positives
