"""Which shards need recomputing, from materialization times (None = never)."""

from __future__ import annotations

# What each shard asset is computed from, besides the previous shard asset.
SHARD_INPUTS = {"samples": ("builds",), "pooled": ("base_model",), "activations": ("sae",)}
SHARD_ORDER = ("samples", "pooled", "activations")


def stale_partitions(
    times: dict[str, dict[str, float | None]], upstream: dict[str, float | None]
) -> list[str]:
    """Partitions where any shard asset is missing, or older than an input it was made from
    (an upstream asset or the shard asset before it)."""
    stale = []
    keys = sorted(next(iter(times.values()))) if times else []
    for key in keys:
        previous = None
        for asset in SHARD_ORDER:
            t = times.get(asset, {}).get(key)
            inputs = [upstream.get(u) for u in SHARD_INPUTS[asset]] + [previous]
            if t is None or any(i is not None and i > t for i in inputs):
                stale.append(key)
                break
            previous = t
    return stale
