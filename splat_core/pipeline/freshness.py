"""Which shards need recomputing, from lineage (store/lineage.py), not from timestamps: a
shard is stale when one of its shard assets is missing, was computed from inputs that have
changed since (by content fingerprint), or with other config than the current one."""

from __future__ import annotations

from collections.abc import Sequence

from splat_core.store import lineage
from splat_core.store.contract import SHARD_ASSETS


def why_stale(catalog: dict, partition: str, config=None) -> str | None:
    """Why shard `partition` must be recomputed (None if it is fresh); `config` (a
    SplatConfig) also compares each shard asset's config fingerprint."""
    current = lineage.entries(catalog)
    for asset in SHARD_ASSETS:
        key = lineage.key_of(asset, partition)
        entry = current.get(key)
        if entry is None:
            return f"{key} is not materialized"
        problems = lineage.stale_inputs(entry, current)
        if problems:
            return f"{key}: {problems[0]}"
        if config is not None and entry.get("config") != lineage.config_fingerprint(asset, config):
            return f"{key} was computed with other settings"
    return None


def stale_partitions(catalog: dict, partitions: Sequence[str], config=None) -> list[str]:
    return [p for p in partitions if why_stale(catalog, p, config) is not None]
