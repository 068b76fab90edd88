"""Which shards need recomputing, from materialization times (None = never)."""

from __future__ import annotations

from splat_core.store.contract import SHARD_ASSETS, SPECS

# What each shard asset is computed from (asset contract): unpartitioned assets, and the
# same shard of partitioned ones.
SHARD_INPUTS = {a: SPECS[a].deps for a in SHARD_ASSETS}
UPSTREAM = tuple(dict.fromkeys(d for a in SHARD_ASSETS for d in SHARD_INPUTS[a]
                               if not SPECS[d].partitioned))  # fmt: skip


def stale_partitions(
    times: dict[str, dict[str, float | None]], upstream: dict[str, float | None]
) -> list[str]:
    """Partitions where any shard asset is missing, or older than an input it was made from
    (an upstream asset, or the same shard of a shard asset before it).

    `times`: {shard asset: {partition: time}}; `upstream`: {asset in UPSTREAM: time}."""
    stale = []
    keys = sorted(next(iter(times.values()))) if times else []
    for key in keys:
        for asset in SHARD_ASSETS:
            t = times.get(asset, {}).get(key)
            inputs = [
                times.get(d, {}).get(key) if SPECS[d].partitioned else upstream.get(d)
                for d in SHARD_INPUTS[asset]
            ]
            if t is None or any(i is not None and i > t for i in inputs):
                stale.append(key)
                break
    return stale
