"""Labels and explanations together: a label's rule scored on the generation served, a label
made from an explanation ("accept"), and the labelling queue by how well features are
explained.

A stored `rule_score` is score_rule's row plus the `data_version` it was computed on; it is
stale when that is not the reader's (a new generation is served) or its `rule` is not the
label's. Rescoring replaces only the score (`LabelStore.save_rule_score`: no new version).

Queue classes, from each feature's rank-1 row of feature_explanations (its held-out F1 and
confidence):

    well     confidence high or medium; highest F1 first (priority F1): names to confirm
    poorly   confidence low; lowest F1 first (priority 1 - F1): the search found least there
    none     confidence none, or no row at all (the feature fires, but on too few samples
             to search); lowest F1 first (priority 1 - F1, a missing row counts as F1 0)
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sqlite3

import numpy as np

from splat_core.explain.search import Scores
from splat_core.explain.table import best_rows
from splat_core.investigate.explanations import score_rule
from splat_core.labels import Label, LabelError, LabelStore
from splat_core.labels.model import MAX_NAME, MAX_TEXT, check_rule
from splat_core.query.reader import Reader

EXPLAINED = ("well", "poorly", "none")
CLASS_OF = {"high": "well", "medium": "well", "low": "poorly", "none": "none"}
# The keys of a score row (score_rule's, and the table's columns of the same name).
SCORE_KEYS = ("feature_id", "rule", "sentence", "target", *Scores._fields, "confidence")
ACCEPTED = "accepted from feature_explanations"


def can_score(reader: Reader) -> bool:
    """Whether the reader's generation has the explanations a rule is scored with."""
    return "feature_explanations" in reader.versions


def rule_score(reader: Reader, f: int, rule: str) -> dict:
    """score_rule's row plus `data_version`, JSON-ready (non-finite numbers as None)."""
    row = score_rule(reader, f, rule)
    return {**{k: _plain(v) for k, v in row.items()}, "data_version": reader.data_version}


def is_fresh(rule: str | None, score: dict | None, reader: Reader) -> bool:
    """Whether `score` is `rule`'s on the reader's generation."""
    return (
        score is not None
        and score.get("rule") == rule
        and score.get("data_version") == reader.data_version
    )


def score_label_rules(
    store: LabelStore, reader: Reader, feature_ids=None, *, force: bool = False
) -> int:
    """Rescore the rules of the labels of `feature_ids` (default: every label) whose score
    is stale (every one with `force`); returns how many were rescored. Labels of features
    the generation does not have are left alone; so is everything where the generation has
    no feature_explanations (0)."""
    if not can_score(reader):
        return 0
    labels = store.all() if feature_ids is None else [store.get(f) for f in feature_ids]
    n = 0
    for x in labels:
        if _needs_score(x, reader, force):
            n += store.save_rule_score(x.feature_id, x.rule,
                                       rule_score(reader, x.feature_id, x.rule))  # fmt: skip
    return n


def current_label(store: LabelStore, reader: Reader | None, f: int) -> Label | None:
    """The feature's label, its rule's score recomputed first if stale (a read: where the
    store cannot be written, read-only or busy, the new score is shown but not saved)."""
    label = store.get(f)
    if reader is None or not can_score(reader) or not _needs_score(label, reader):
        return label
    score = rule_score(reader, label.feature_id, label.rule)
    with contextlib.suppress(sqlite3.OperationalError):
        store.save_rule_score(label.feature_id, label.rule, score)
    return dataclasses.replace(label, rule_score=score)


def score_fields(reader: Reader | None, f: int, fields: dict) -> dict:
    """A label write's fields with its rule in canonical text and the rule's score on the
    reader's generation: the given score where it is fresh, computed otherwise. No rule: no
    score; no reader or no feature_explanations: none yet (a later read scores it). A bad
    rule is a LabelError (`rule:<column>: ...`)."""
    rule = check_rule(fields.get("rule"))
    score = fields.get("rule_score")
    if rule is None or reader is None or not can_score(reader):
        score = None
    elif not is_fresh(rule, score, reader):
        score = rule_score(reader, f, rule)
    return {**fields, "rule": rule, "rule_score": score}


def accept_explanation(
    reader: Reader, store: LabelStore, f: int, rank: int = 1, source: str = "auto",
    expected_version: int | None = None,
) -> Label:  # fmt: skip
    """Write the feature's label from its feature_explanations row of `rank`: the rule's
    sentence as the name (shortened to the longest name), the rule, the row's held-out
    scores as rule_score, and a first line of notes naming where it came from (a label's
    other fields, and its notes after that line, are kept). `expected_version` as in
    LabelStore.set. LabelError where the feature has no row of that rank."""
    f = reader.check_feature(f)
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise LabelError(f"rank must be an integer >= 1, got {rank!r}")
    row = next((r for r in reader.explanations(f) if r["rank"] == rank), None)
    if row is None:
        raise LabelError(f"feature {f} has no explanation of rank {rank} in feature_explanations")
    rule = check_rule(row["rule"])
    score = {**{k: _plain(row[k]) for k in SCORE_KEYS}, "rule": rule,
             "data_version": reader.data_version}  # fmt: skip
    line = (f"{ACCEPTED} rank {rank}: {row['confidence']} confidence, held-out F1 "
            f"{row['f1']:.3f} ({row['target']}), data version {reader.data_version}")  # fmt: skip
    current = store.get(f)
    kept = {} if current is None else current.to_dict()
    for key in ("feature_id", "created_at", "updated_at", "version"):
        kept.pop(key, None)
    kept.update(name=_shorten(row["sentence"], MAX_NAME), rule=rule, rule_score=score,
                notes=_notes(line, kept.get("notes", "")), source=source)  # fmt: skip
    return store.set(f, expected_version=expected_version, **kept)


def explanation_queue(reader: Reader, explained: str) -> list[tuple[int, float, str]]:
    """(feature id, priority, reason) of the features of one class (EXPLAINED, see the
    module's docstring), in queue order (priority descending, then feature id)."""
    if explained not in EXPLAINED:
        raise LabelError(f"explained must be one of {', '.join(EXPLAINED)}; got {explained!r}")
    best = best_rows(reader.table("feature_explanations").table).to_pylist()
    out = []
    for r in best:
        if CLASS_OF[r["confidence"]] != explained:
            continue
        f1, null = r["f1"], r["null_f1"]
        priority = f1 if explained == "well" else 1.0 - f1
        why = {"well": "explained well", "poorly": "explained poorly",
               "none": "not explained"}[explained]  # fmt: skip
        reason = (f"{why}: {r['confidence']} confidence, held-out F1 {f1:.3f} (null "
                  f"{null:.3f}), {r['rule']}")  # fmt: skip
        out.append((r["feature_id"], priority, reason[:MAX_TEXT]))
    if explained == "none":
        counts = reader.feature_counts()
        have = np.zeros(len(counts), bool)
        have[[r["feature_id"] for r in best]] = True
        for f in np.flatnonzero(~have & (counts > 0)).tolist():
            out.append((f, 1.0, f"not explained: no rule searched, fires on {counts[f]} samples"))
    out.sort(key=lambda e: (-e[1], e[0]))
    return out


def queue_by_explanation(
    store: LabelStore, reader: Reader, explained: str, top_k: int = 50,
    include_labeled: bool = False,
) -> int:  # fmt: skip
    """Queue the first `top_k` features of an explanation class not yet queued (nor
    labelled unless `include_labeled`); returns the number added."""
    return store.queue_fill(explanation_queue(reader, explained), top_k, include_labeled)


def _needs_score(label: Label | None, reader: Reader, force: bool = False) -> bool:
    return (
        label is not None
        and label.rule is not None
        and label.feature_id < reader.n_features
        and (force or not is_fresh(label.rule, label.rule_score, reader))
    )


def _plain(value):
    """A JSON value: numpy scalars as Python ones, NaN and infinities as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _notes(line: str, old: str) -> str:
    """The acceptance line, then the notes the label had (less an earlier acceptance line)."""
    if old.startswith(ACCEPTED):
        old = old.partition("\n")[2]
    return f"{line}\n{old}" if old.strip() else line
