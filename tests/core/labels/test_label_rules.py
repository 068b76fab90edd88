"""A label's rule (parsed, canonical, errors with their column) and its score (JSON, kept
beside the rule, replaced without a write), the Arrow columns, and the schema migration from
a version 1 file."""

from __future__ import annotations

import json
import sqlite3

import pytest

from splat_core.explain.rules import parse
from splat_core.labels import LabelError, LabelStore, label_table
from splat_core.labels.store import SCHEMA_VERSION

SCORE = {"rule": "x", "f1": 0.5, "auroc": None, "confidence": "medium", "data_version": "abc"}
# The version 1 schema, as splat wrote it before rules (store.py's SCHEMA less the new columns).
V1_COLUMNS = """
    name TEXT NOT NULL, category TEXT NOT NULL, notes TEXT NOT NULL, confidence REAL,
    source TEXT NOT NULL, importance_percentile REAL, stability_score REAL,
    research_label TEXT, research_state_path TEXT, hypothesis_confidence REAL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, version INTEGER NOT NULL"""
V1 = f"""
CREATE TABLE labels (feature_id INTEGER PRIMARY KEY, {V1_COLUMNS});
CREATE TABLE label_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, feature_id INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('set', 'delete')), {V1_COLUMNS},
    written_at TEXT NOT NULL, UNIQUE (feature_id, version));
CREATE TABLE label_queue (
    feature_id INTEGER PRIMARY KEY, priority REAL NOT NULL, reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'skipped')),
    skip_reason TEXT NOT NULL DEFAULT '', added_at TEXT NOT NULL, updated_at TEXT NOT NULL);
INSERT INTO labels VALUES (7, 'old', 'tactical', 'n', 0.5, 'cli', NULL, NULL, NULL, NULL,
    NULL, '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00', 1);
INSERT INTO label_history (feature_id, action, name, category, notes, confidence, source,
    created_at, updated_at, version, written_at) VALUES (7, 'set', 'old', 'tactical', 'n',
    0.5, 'cli', '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00', 1,
    '2024-01-01T00:00:00+00:00');
PRAGMA user_version = 1;
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('weapon = "Nope"', r"^rule:11: unknown weapon 'Nope'"),
        ("swim_speed_up >= 12 &", r"^rule:22: the rule ends too early"),
        ("swim_speed_up 12", r"^rule:15: expected '>= AP'"),
        ("swimm_speed_up >= 12", r"^rule:1: unknown ability or kit 'swimm_speed_up'"),
    ],
)
def test_a_bad_rule_is_a_label_error_with_the_column(store, text, message):
    with pytest.raises(LabelError, match=message):
        store.set(1, name="x", rule=text)
    assert store.count() == 0


def test_rules_are_stored_canonical_and_a_blank_rule_is_none(store):
    text = "class = splatling|class=dualies & no quick_respawn"
    label = store.set(1, name="x", rule=text)
    assert label.rule == str(parse(text)) and store.get(1).rule == label.rule
    assert store.set(1, name="x", rule="  ").rule is None
    with pytest.raises(LabelError, match="rule must be a string"):
        store.set(1, name="x", rule=3)


def test_rule_score_round_trip_history_and_arrow(store):
    label = store.set(2, name="x", rule="ninja_squid", rule_score=SCORE)
    assert label.rule_score == SCORE and store.get(2) == label
    assert store.history(2)[0]["rule_score"] == SCORE
    table = label_table(store.all())
    assert table.schema.field("rule").type == "string"
    assert json.loads(table.column("rule_score")[0].as_py()) == SCORE
    assert label_table([]).schema.names[-5:-3] == ["rule", "rule_score"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rule_score": SCORE}, "rule_score needs a rule"),
        ({"rule": "ninja_squid", "rule_score": [1]}, "rule_score must be an object"),
        ({"rule": "ninja_squid", "rule_score": {"f1": float("nan")}}, "finite"),
        ({"rule": "ninja_squid", "rule_score": {"x": "y" * 5000}}, "at most"),
    ],
)
def test_bad_rule_scores_are_refused(store, kwargs, message):
    with pytest.raises(LabelError, match=message):
        store.set(1, name="x", **kwargs)


def test_save_rule_score_is_not_a_write_and_only_for_the_same_rule(store):
    label = store.set(3, name="x", rule="ninja_squid")
    new = {**SCORE, "rule": "ninja_squid"}
    assert store.save_rule_score(3, "ninja_squid", new)
    after = store.get(3)
    assert after.rule_score == new
    assert (after.version, after.updated_at) == (label.version, label.updated_at)
    assert len(store.history(3)) == 1
    assert not store.save_rule_score(3, "comeback", new)  # the rule changed meanwhile
    assert not store.save_rule_score(4, "ninja_squid", new)  # no label
    assert store.get(3).rule_score == new


def _v1_file(path):
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.executescript(V1)
    conn.close()


def _columns(path, table) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
    finally:
        conn.close()


def test_a_version_1_file_is_migrated(tmp_path):
    store = LabelStore(tmp_path / "labels" / "labels.sqlite")
    _v1_file(store.path)
    old = store.get(7)
    assert (old.name, old.category, old.rule, old.rule_score) == ("old", "tactical", None, None)
    for table in ("labels", "label_history"):
        assert {"rule", "rule_score"} <= _columns(store.path, table)
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    # an older splat marks the file back to 1 (its schema script): it migrates again
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    new = LabelStore(store.path).set(7, name="new", rule="comeback", expected_version=1)
    assert (new.version, new.rule) == (2, "comeback")
    assert [h["rule"] for h in LabelStore(store.path).history(7)] == [None, "comeback"]


def test_a_newer_schema_is_refused(tmp_path):
    store = LabelStore(tmp_path / "labels.sqlite")
    store.set(1, name="x")
    conn = sqlite3.connect(store.path)
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    with pytest.raises(LabelError, match="schema version 3, newer"):
        LabelStore(store.path).get(1)
