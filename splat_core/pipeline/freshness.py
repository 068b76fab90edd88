"""What needs recomputing, from lineage (store/lineage.py), not from timestamps: an asset
(partition) is stale when it is missing, was computed from inputs that have changed since
(by content fingerprint), with other settings than the current ones, or by other code than
its step's current code version (pipeline/code_versions.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from splat_core.pipeline.code_versions import asset_code_version
from splat_core.store import lineage
from splat_core.store.contract import (
    ASSET_NAMES,
    DEFAULT_SAE,
    SHARD_ASSETS,
    SPECS,
    shard_keys,
    split_stored,
    stored_name,
)


def why_stale_asset(
    catalog: dict, asset: str, partition: str | None, config=None, code: bool = True
) -> str | None:
    """Why the asset (partition) must be recomputed; None if it is up to date. `asset` is a
    stored name (`sae@wide`: contract.stored_name); `config` (a SplatConfig, the variant's
    for a per-SAE asset) also compares its settings; `code` its step's code version."""
    current = lineage.entries(catalog)
    key = lineage.key_of(asset, partition)
    entry = current.get(key)
    if entry is None:
        return f"{key} is not materialized"
    problems = lineage.stale_inputs(entry, current)
    if problems:
        return f"{key}: {problems[0]}"
    added = set(lineage.input_keys(asset, partition, catalog)) - set(entry["inputs"])
    if added:  # e.g. a reader of every SAE variant, after a variant was added
        return f"{key}: new inputs {', '.join(sorted(added)[:3])}"
    if config is not None and entry.get("config") != lineage.config_fingerprint(asset, config):
        return f"{key} was computed with other settings"
    # a version not published by a step (a test's, the seed-scale bench's) has no code version
    if (
        code
        and entry.get("code") is not None
        and entry["code"] != asset_code_version(split_stored(asset)[0])
    ):
        return f"{key} was computed by other code (its step changed)"
    return None


def why_stale(catalog: dict, partition: str, config=None) -> str | None:
    """Why shard `partition` of the shared shard assets must be recomputed (None if they are
    fresh; the variants' activations follow their pooled vectors by automation)."""
    for asset in SHARD_ASSETS:
        if SPECS[asset].per_sae:
            continue
        reason = why_stale_asset(catalog, asset, partition, config)
        if reason is not None:
            return reason
    return None


def stale_partitions(catalog: dict, partitions: Sequence[str], config=None) -> list[str]:
    return [p for p in partitions if why_stale(catalog, p, config) is not None]


def stale_assets(
    catalog: dict, config, select: Sequence[str] | None = None,
    variants: Mapping[str, object] | None = None,
) -> dict[str, str]:  # fmt: skip
    """{stored asset or 'asset/partition': why} for every (selected) asset that is missing
    or stale now, in graph order; an asset whose input is stale is stale too (it will be
    recomputed from a new input). `config` (a SplatConfig) also compares settings and gives
    the shards; without it, the shards are the catalog's. The per-SAE assets are those of
    `variants` ({variant: its config}; default: the default variant with `config`)."""
    variants = variants or {DEFAULT_SAE: config}
    out: dict[str, str] = {}
    for asset in ASSET_NAMES:
        saes = variants if SPECS[asset].per_sae else {DEFAULT_SAE: config}
        for sae, cfg in saes.items():
            name = stored_name(asset, sae)
            for key in _keys(catalog, name, cfg):
                stale_input = next((k for k in lineage.input_keys(name, key, catalog)
                                    if k in out), None)  # fmt: skip
                reason = why_stale_asset(catalog, name, key, cfg)
                if reason is None and stale_input is not None:
                    reason = f"{lineage.key_of(name, key)}: its input {stale_input} is stale"
                if reason is not None:
                    out[lineage.key_of(name, key)] = reason
    return {k: v for k, v in out.items()
            if select is None or split_stored(k.split("/")[0])[0] in select}  # fmt: skip


def _keys(catalog: dict, asset: str, config) -> list[str | None]:
    if not SPECS[split_stored(asset)[0]].partitioned:
        return [None]
    if config is None:
        return sorted(catalog.get(asset, {}).get("partitions", {})) or ["000"]
    return shard_keys(config.samples.n_shards)
