"""Dagster metadata from plain dicts."""

from __future__ import annotations

import dagster as dg


def dagster_metadata(meta: dict) -> dict:
    """Scalars and text stay as they are; dicts and lists become JSON metadata values."""
    return {
        k: dg.MetadataValue.json(v) if isinstance(v, dict | list) else v for k, v in meta.items()
    }
