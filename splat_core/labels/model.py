"""A feature label, its categories, and the validation every write goes through."""

from __future__ import annotations

import json
import math
import operator
import types
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import get_type_hints

import pyarrow as pa

from splat_core.explain.rules import RuleError, parse

CATEGORIES = ("none", "mechanical", "tactical", "strategic", "auxiliary")
MAX_NAME = 200
MAX_NOTES = 10_000
MAX_SOURCE = 100
MAX_TEXT = 4_096  # research_label, research_state_path, queue reasons, a rule, its score's JSON
MAX_FEATURE_ID = 2**63 - 1  # SQLite INTEGER
# Keyword fields of LabelStore.set() beyond name, category, notes, confidence and source.
OPTIONAL_FIELDS = (
    "importance_percentile",
    "stability_score",
    "research_label",
    "research_state_path",
    "hypothesis_confidence",
    "rule",
    "rule_score",
)
CONTENT_FIELDS = ("name", "category", "notes", "confidence", "source", *OPTIONAL_FIELDS)
LABEL_FIELDS = ("feature_id", *CONTENT_FIELDS, "created_at", "updated_at", "version")


class LabelError(ValueError):
    """An invalid label value (or queue request); the message names the field and value."""


class LabelConflict(Exception):  # noqa: N818 (the name the API and callers use)
    """A write whose `expected_version` is not the label's current version."""

    def __init__(self, message: str, current: Label | None):
        super().__init__(message)
        self.current = current


@dataclass(frozen=True)
class Label:
    feature_id: int
    name: str
    category: str
    notes: str
    confidence: float | None  # the labeller's interpretability confidence, 0..1
    source: str  # api | cli | ui | dashboard | research | import | free text
    importance_percentile: float | None  # 0..100
    stability_score: float | None
    research_label: str | None
    research_state_path: str | None
    hypothesis_confidence: float | None  # 0..1
    # What the labeller says the feature detects, in the explanation language
    # (splat_core.explain.rules), as its canonical text; None: no rule.
    rule: str | None
    # The rule's held-out scores (investigate.explanations.score_rule's row plus the
    # `data_version` of the generation they were computed on), or None: not scored yet.
    rule_score: dict | None
    created_at: str  # ISO-8601 UTC
    updated_at: str
    version: int  # 1 on creation, +1 on each write

    def to_dict(self) -> dict:
        return asdict(self)


_ARROW_TYPES = {int: pa.int64(), str: pa.string(), float: pa.float64(), dict: pa.string()}


def label_schema() -> pa.Schema:
    """One Arrow column per `Label` field, typed from its annotation (`X | None`: nullable),
    so the SQL view of the labels follows the dataclass. A dict field is its JSON text."""
    hints = get_type_hints(Label)
    out = []
    for f in fields(Label):
        hint = hints[f.name]
        args = [a for a in getattr(hint, "__args__", ()) if a is not type(None)]
        base = args[0] if isinstance(hint, types.UnionType) else hint
        out.append(pa.field(f.name, _ARROW_TYPES[base], nullable=base is not hint))
    return pa.schema(out)


def label_table(labels: Iterable[Label]) -> pa.Table:
    """Labels as an Arrow table of `label_schema()` (empty but typed when there are none)."""
    rows = [{**x.to_dict(), "rule_score": to_json(x.rule_score)} for x in labels]
    return pa.Table.from_pylist(rows, schema=label_schema())


def to_json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, allow_nan=False)


def from_json(text: str | None) -> dict | None:
    return None if text is None else json.loads(text)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def check_feature_id(value, n_features: int | None = None) -> int:
    if isinstance(value, bool):
        raise LabelError(f"feature_id must be an integer, got {value!r}")
    try:
        f = operator.index(value)
    except TypeError:
        raise LabelError(f"feature_id must be an integer, got {value!r}") from None
    upper = MAX_FEATURE_ID if n_features is None else n_features - 1
    if not 0 <= f <= upper:
        where = f"[0, {n_features})" if n_features is not None else ">= 0"
        raise LabelError(f"feature_id must be {where}, got {f}")
    return f


def check_number(field: str, value, lo: float | None = None, hi: float | None = None):
    """None, or a finite float within [lo, hi]."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LabelError(f"{field} must be a number or null, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise LabelError(f"{field} must be finite, got {value!r}")
    if lo is not None and hi is not None and not lo <= x <= hi:
        raise LabelError(f"{field} must be in [{lo:g}, {hi:g}], got {value!r}")
    return x


def check_text(field: str, value, limit: int, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise LabelError(f"{field} must be a string, got {value!r}")
    if len(value) > limit:
        raise LabelError(f"{field} must be at most {limit} characters, got {len(value)}")
    return value


def check_rule(value) -> str | None:
    """A rule's canonical text (`str(parse(value))`); None for None or blank text (no rule).
    A bad rule is a LabelError carrying the parser's `rule:<column>: ...` message."""
    if value is None:
        return None
    text = check_text("rule", value, MAX_TEXT)
    if not text.strip():
        return None
    try:
        return str(parse(text, "rule"))
    except RuleError as e:
        raise LabelError(str(e)) from None


def check_rule_score(value, rule: str | None) -> dict | None:
    """None, or a JSON object (at most MAX_TEXT characters as JSON) beside a rule."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise LabelError(f"rule_score must be an object or null, got {value!r}")
    if rule is None:
        raise LabelError("rule_score needs a rule: a label without a rule has no score")
    try:
        text = to_json(value)
    except (TypeError, ValueError) as e:
        raise LabelError(f"rule_score must be JSON with finite numbers: {e}") from None
    if len(text) > MAX_TEXT:
        raise LabelError(f"rule_score must be at most {MAX_TEXT} characters as JSON")
    return json.loads(text)  # a copy: the label never shares the caller's dict


def validate(fields: dict) -> dict:
    """The content fields of a label, checked and normalized (LabelError otherwise)."""
    unknown = sorted(set(fields) - set(CONTENT_FIELDS))
    if unknown:
        raise LabelError(f"unknown label field {unknown[0]!r}")
    name = fields.get("name")
    if not isinstance(name, str):
        raise LabelError(f"name must be a string, got {name!r}")
    name = name.strip()
    if not name:
        raise LabelError(f"name must not be empty, got {fields.get('name')!r}")
    if len(name) > MAX_NAME:
        raise LabelError(f"name must be at most {MAX_NAME} characters, got {len(name)}")
    category = fields.get("category", "none")
    if not isinstance(category, str) or category.strip().lower() not in CATEGORIES:
        raise LabelError(f"category must be one of {', '.join(CATEGORIES)}; got {category!r}")
    source = check_text("source", fields.get("source", "api"), MAX_SOURCE).strip()
    if not source:
        raise LabelError(f"source must not be empty, got {fields.get('source')!r}")
    get = fields.get
    rule = check_rule(get("rule"))
    return {
        "name": name,
        "category": category.strip().lower(),
        "notes": check_text("notes", get("notes", ""), MAX_NOTES),
        "confidence": check_number("confidence", get("confidence"), 0, 1),
        "source": source,
        "importance_percentile": check_number(
            "importance_percentile", get("importance_percentile"), 0, 100
        ),
        "stability_score": check_number("stability_score", get("stability_score")),
        "research_label": check_text(
            "research_label", get("research_label"), MAX_TEXT, optional=True
        ),
        "research_state_path": check_text(
            "research_state_path", get("research_state_path"), MAX_TEXT, optional=True
        ),
        "hypothesis_confidence": check_number(
            "hypothesis_confidence", get("hypothesis_confidence"), 0, 1
        ),
        "rule": rule,
        "rule_score": check_rule_score(get("rule_score"), rule),
    }


def check_expected(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LabelError(f"expected_version must be an integer >= 0, got {value!r}")
    return value


def check_timestamp(field: str, value) -> str:
    if not isinstance(value, str):
        raise LabelError(f"{field} must be an ISO-8601 string, got {value!r}")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise LabelError(f"{field} must be an ISO-8601 timestamp, got {value!r}") from None
    return value
