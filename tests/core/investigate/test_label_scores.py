"""Labels' rules scored on the served generation, labels accepted from explanations, and the
queue by explanation class, against score_rule and the feature_explanations table."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

from splat_core.explain.table import best_rows
from splat_core.investigate import label_scores as ls
from splat_core.investigate.explanations import score_rule
from splat_core.labels import LabelConflict, LabelError, LabelStore
from splat_core.labels.model import MAX_NAME


def _same(got: dict, want: dict) -> None:
    """Score rows equal key by key (a NaN or missing number is None in a stored score)."""
    for key, value in want.items():
        if isinstance(value, float) and math.isnan(value):
            value = None
        if isinstance(value, float):
            assert got[key] == pytest.approx(value), key
        else:
            assert got[key] == value, key


def test_stale_scores_are_recomputed_with_score_rule(home, reader):
    store = LabelStore.open(home)
    rule = reader.explanations(3)[1]["rule"]
    old = {"rule": rule, "f1": 0.0, "data_version": "an older generation"}
    store.set(3, name="stale", rule=rule, rule_score=old)
    other = store.set(4, name="another rule's score", rule="ninja_squid",
                      rule_score={**old, "data_version": reader.data_version})  # fmt: skip
    store.set(5, name="no rule")
    assert ls.score_label_rules(store, reader) == 2
    for f, r in ((3, rule), (4, "ninja_squid")):
        got = store.get(f).rule_score
        assert got["data_version"] == reader.data_version
        _same(got, score_rule(reader, f, r))
    after = store.get(4)
    assert (after.version, after.updated_at) == (other.version, other.updated_at)
    assert ls.score_label_rules(store, reader) == 0  # fresh now
    assert ls.score_label_rules(store, reader, [3], force=True) == 1
    store.save_rule_score(3, rule, old)
    label = ls.current_label(store, reader, 3)  # a read rescores a stale score
    assert label.rule_score == store.get(3).rule_score and label.rule_score["f1"] > 0


def test_score_fields_keeps_a_fresh_score_and_computes_a_missing_one(reader):
    fields = ls.score_fields(reader, 1, {"name": "x", "rule": "class=shooter | ninja_squid"})
    assert fields["rule"] == "ninja_squid | class = shooter"
    _same(fields["rule_score"], score_rule(reader, 1, fields["rule"]))
    fresh = {**fields["rule_score"], "f1": -1.0}
    assert ls.score_fields(reader, 1, {**fields, "rule_score": fresh})["rule_score"] == fresh
    assert ls.score_fields(None, 1, fields)["rule_score"] is None
    assert ls.score_fields(reader, 1, {"name": "x", "rule": ""})["rule"] is None
    with pytest.raises(LabelError, match=r"^rule:1: unknown ability"):
        ls.score_fields(reader, 1, {"rule": "wat"})


def test_accept_copies_the_rank_n_row(home, reader):
    store = LabelStore.open(home)
    f = 1
    row = reader.explanations(f)[1]
    store.set(f, name="mine", category="tactical", notes="hand notes", confidence=0.4)
    label = ls.accept_explanation(reader, store, f, rank=2)
    assert (label.name, label.rule, label.source) == (row["sentence"], row["rule"], "auto")
    _same(label.rule_score, {k: row[k] for k in ls.SCORE_KEYS})
    assert label.rule_score["data_version"] == reader.data_version
    assert (label.category, label.confidence, label.version) == ("tactical", 0.4, 2)
    assert label.notes.startswith("accepted from feature_explanations rank 2: ")
    assert label.notes.endswith("\nhand notes")
    again = ls.accept_explanation(reader, store, f, source="ui", expected_version=2)
    assert again.notes.split("\n") == [again.notes.split("\n")[0], "hand notes"]
    assert "rank 1" in again.notes and again.source == "ui"
    assert ls.score_label_rules(store, reader) == 0  # an accepted score is fresh
    with pytest.raises(LabelConflict):
        ls.accept_explanation(reader, store, f, expected_version=2)
    with pytest.raises(LabelError, match="no explanation of rank 9"):
        ls.accept_explanation(reader, store, f, rank=9)
    with pytest.raises(LabelError, match="rank must be"):
        ls.accept_explanation(reader, store, f, rank=0)
    assert len(ls._shorten("w" * 500, MAX_NAME)) == MAX_NAME


def test_queue_classes_follow_the_best_rows(home, reader):
    best = best_rows(reader.table("feature_explanations").table).to_pylist()
    well = sorted((r for r in best if r["confidence"] in ("high", "medium")),
                  key=lambda r: (-r["f1"], r["feature_id"]))  # fmt: skip
    poorly = sorted((r for r in best if r["confidence"] == "low"),
                    key=lambda r: (r["f1"], r["feature_id"]))  # fmt: skip
    assert well and poorly
    for explained, rows in (("well", well), ("poorly", poorly)):
        got = ls.explanation_queue(reader, explained)
        assert [e[0] for e in got] == [r["feature_id"] for r in rows]
        want = [r["f1"] if explained == "well" else 1 - r["f1"] for r in rows]
        assert [e[1] for e in got] == pytest.approx(want)
        assert got[0][2].startswith(f"explained {explained}: ")
    store = LabelStore.open(home)
    store.set(poorly[0]["feature_id"], name="labelled")
    assert ls.queue_by_explanation(store, reader, "poorly", top_k=2) == 2
    queued = [e["feature_id"] for e in store.queue_next(5)]
    assert queued == [r["feature_id"] for r in poorly[1:3]]
    with pytest.raises(LabelError, match="explained must be one of"):
        ls.explanation_queue(reader, "badly")


def test_the_none_class_holds_unsearched_and_unconvincing_features():
    rows = [  # feature 0: explained; 1: confidence none; 2: no row (fires); 3: never fires
        {"feature_id": 0, "rank": 1, "rule": "ninja_squid", "f1": 0.9, "null_f1": 0.1,
         "confidence": "high"},
        {"feature_id": 1, "rank": 1, "rule": "comeback", "f1": 0.15, "null_f1": 0.1,
         "confidence": "none"},
        {"feature_id": 1, "rank": 2, "rule": "ninja_squid", "f1": 0.3, "null_f1": 0.2,
         "confidence": "low"},
    ]  # fmt: skip
    table = SimpleNamespace(table=pa.Table.from_pylist(rows))
    reader = SimpleNamespace(table=lambda _name: table,
                             feature_counts=lambda: np.array([50, 40, 7, 0]))  # fmt: skip
    got = ls.explanation_queue(reader, "none")
    assert [(f, p) for f, p, _ in got] == [(2, 1.0), (1, pytest.approx(0.85))]
    assert got[0][2] == "not explained: no rule searched, fires on 7 samples"
    assert got[1][2].startswith("not explained: none confidence, held-out F1 0.150")
    assert ls.explanation_queue(reader, "poorly") == []
