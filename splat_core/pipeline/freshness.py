"""What needs recomputing, from lineage (store/lineage.py), not from timestamps: an asset
(partition) is stale when it is missing, was computed from inputs that have changed since
(by content fingerprint), with other settings than the current ones, or by other code than
its step's current code version (pipeline/code_versions.py)."""

from __future__ import annotations

from collections.abc import Sequence

from splat_core.pipeline.code_versions import asset_code_version
from splat_core.store import lineage
from splat_core.store.contract import ASSET_NAMES, SHARD_ASSETS, SPECS, shard_keys


def why_stale_asset(
    catalog: dict, asset: str, partition: str | None, config=None, code: bool = True
) -> str | None:
    """Why the asset (partition) must be recomputed; None if it is up to date. `config` (a
    SplatConfig) also compares its settings; `code` its step's code version."""
    current = lineage.entries(catalog)
    key = lineage.key_of(asset, partition)
    entry = current.get(key)
    if entry is None:
        return f"{key} is not materialized"
    problems = lineage.stale_inputs(entry, current)
    if problems:
        return f"{key}: {problems[0]}"
    if config is not None and entry.get("config") != lineage.config_fingerprint(asset, config):
        return f"{key} was computed with other settings"
    # a version not published by a step (a test's, the seed-scale bench's) has no code version
    if code and entry.get("code") is not None and entry["code"] != asset_code_version(asset):
        return f"{key} was computed by other code (its step changed)"
    return None


def why_stale(catalog: dict, partition: str, config=None) -> str | None:
    """Why shard `partition` must be recomputed (None if every shard asset is fresh)."""
    for asset in SHARD_ASSETS:
        reason = why_stale_asset(catalog, asset, partition, config)
        if reason is not None:
            return reason
    return None


def stale_partitions(catalog: dict, partitions: Sequence[str], config=None) -> list[str]:
    return [p for p in partitions if why_stale(catalog, p, config) is not None]


def stale_assets(catalog: dict, config, select: Sequence[str] | None = None) -> dict[str, str]:
    """{asset or 'asset/partition': why} for every (selected) asset that is missing or
    stale now, in graph order; an asset whose input is stale is stale too (it will be
    recomputed from a new input). `config` (a SplatConfig) also compares settings and gives
    the shards; without it, the shards are the catalog's."""
    out: dict[str, str] = {}
    for asset in ASSET_NAMES:
        for key in _keys(catalog, asset, config):
            stale_input = next((k for k in lineage.input_keys(asset, key, catalog) if k in out),
                               None)  # fmt: skip
            reason = why_stale_asset(catalog, asset, key, config)
            if reason is None and stale_input is not None:
                reason = f"{lineage.key_of(asset, key)}: its input {stale_input} is stale"
            if reason is not None:
                out[lineage.key_of(asset, key)] = reason
    return {k: v for k, v in out.items() if select is None or k.split("/")[0] in select}


def _keys(catalog: dict, asset: str, config) -> list[str | None]:
    if not SPECS[asset].partitioned:
        return [None]
    if config is None:
        return sorted(catalog.get(asset, {}).get("partitions", {})) or ["000"]
    return shard_keys(config.samples.n_shards)
