"""The reference project's label files: `consolidated_{model}.json` and its CSV export.

A consolidated file is a JSON object keyed by the feature id as a string; each value holds
feature_id, model_type, dashboard_name, dashboard_category, dashboard_notes, research_label,
research_state_path, hypothesis_confidence, display_name (the best name), source and
last_updated (ISO), plus importance_percentile, interpretability_confidence and
stability_score. A label maps to it as name -> display_name and dashboard_name, category ->
dashboard_category, notes -> dashboard_notes, confidence -> interpretability_confidence,
updated_at -> last_updated, the other fields one to one.
"""

from __future__ import annotations

import csv
from pathlib import Path

from splat_core.atomic import atomic_file
from splat_core.labels.model import (
    LabelError,
    check_feature_id,
    check_timestamp,
    validate,
)

CSV_COLUMNS = ("feature_id", "display_name", "category", "confidence", "source", "notes")
ONE_TO_ONE = ("importance_percentile", "stability_score", "research_label",
              "research_state_path", "hypothesis_confidence", "source")  # fmt: skip


class ConsolidatedMixin:
    """Export and import methods of LabelStore (which provides `all`, `_tx`, `_write`)."""

    def export_consolidated(self, model_type: str = "splat") -> dict[str, dict]:
        """Every label in the consolidated layout, keyed by str(feature_id)."""
        out = {}
        for x in self.all():
            out[str(x.feature_id)] = {
                "feature_id": x.feature_id,
                "model_type": model_type,
                "dashboard_name": x.name,
                "dashboard_category": x.category,
                "dashboard_notes": x.notes,
                "research_label": x.research_label,
                "research_state_path": x.research_state_path,
                "hypothesis_confidence": x.hypothesis_confidence,
                "display_name": x.name,
                "source": x.source,
                "last_updated": x.updated_at,
                "importance_percentile": x.importance_percentile,
                "interpretability_confidence": x.confidence,
                "stability_score": x.stability_score,
            }
        return out

    def import_consolidated(
        self, obj: dict, source_default: str = "import", *, n_features: int | None = None
    ) -> int:
        """Write every entry of a consolidated object (new labels, or updates of existing
        ones), all or nothing in one transaction; returns the number written. Everything is
        validated first: a bad entry raises LabelError naming its key, and nothing is
        written. `n_features`, when given, bounds the feature ids."""
        if not isinstance(obj, dict):
            raise LabelError(f"a consolidated file is a JSON object, got {type(obj).__name__}")
        entries = []
        for key, value in obj.items():
            try:
                entries.append(_entry(key, value, source_default, n_features))
            except LabelError as e:
                raise LabelError(f"entry {key!r}: {e}") from None
        entries.sort(key=lambda e: e[0])
        with self._tx() as conn:
            for f, fields, updated_at in entries:
                self._write(conn, f, fields, None, updated_at=updated_at)
        return len(entries)

    def export_csv(self, path: str | Path) -> int:
        """The reference's CSV export (columns CSV_COLUMNS, by feature id), written
        atomically; `confidence` is the interpretability confidence. Returns the row count."""
        labels = self.all()
        with atomic_file(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(CSV_COLUMNS)
            for x in labels:
                confidence = "" if x.confidence is None else x.confidence
                writer.writerow([x.feature_id, x.name, x.category, confidence, x.source, x.notes])
        return len(labels)


def _entry(key, value, source_default: str, n_features: int | None) -> tuple[int, dict, str]:
    """(feature id, validated label fields, updated_at or None) of one consolidated entry."""
    try:
        f = int(key) if isinstance(key, str) and key.strip().isdigit() else None
    except ValueError:
        f = None
    if f is None:
        raise LabelError(f"key must be a feature id (a non-negative integer), got {key!r}")
    f = check_feature_id(f, n_features)
    if not isinstance(value, dict):
        raise LabelError(f"value must be an object, got {type(value).__name__}")
    if value.get("feature_id") is not None:
        inner = value["feature_id"]
        if isinstance(inner, bool) or not isinstance(inner, int) or inner != f:
            raise LabelError(f"feature_id {inner!r} does not match the key")
    name = next(
        (v for v in (value.get(k) for k in ("display_name", "research_label", "dashboard_name"))
         if isinstance(v, str) and v.strip()),
        None,
    )  # fmt: skip
    if name is None:
        raise LabelError("no name: display_name, research_label and dashboard_name are empty")
    fields = {k: value.get(k) for k in ONE_TO_ONE}
    fields.update(
        name=name,
        category=value.get("dashboard_category") or "none",
        notes=value.get("dashboard_notes") or "",
        confidence=value.get("interpretability_confidence"),
    )
    if fields["source"] in (None, ""):
        fields["source"] = source_default
    updated = value.get("last_updated")
    updated = None if updated in (None, "") else check_timestamp("last_updated", updated)
    return f, validate(fields), updated
