"""Keeping shards fresh: a schedule backfills missing or stale shards; the assets after them
follow by declarative automation (eager conditions on sae, activations, feature_store)."""

from __future__ import annotations

import dagster as dg

from splat_core.pipeline.freshness import UPSTREAM, stale_partitions
from splat_core.store.contract import SHARD_ASSETS


def _latest(instance: dg.DagsterInstance, asset: str, partition: str | None = None):
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(asset),
            asset_partitions=[partition] if partition is not None else None,
        ),
        limit=1,
    ).records
    return records[0].timestamp if records else None


def build_shard_schedule(job: dg.UnresolvedAssetJobDefinition, partition_keys: list[str],
                         cron: str = "0 * * * *") -> dg.ScheduleDefinition:  # fmt: skip
    @dg.schedule(job=job, cron_schedule=cron, name="backfill_stale_shards")
    def backfill_stale_shards(context: dg.ScheduleEvaluationContext):
        """One run per shard whose samples/pooled/activations are missing or older than the
        builds, the model or the SAE they were computed from."""
        upstream = {a: _latest(context.instance, a) for a in UPSTREAM}
        times = {
            asset: {k: _latest(context.instance, asset, k) for k in partition_keys}
            for asset in SHARD_ASSETS
        }
        tick = (
            int(context.scheduled_execution_time.timestamp())
            if context.scheduled_execution_time
            else 0
        )
        for key in stale_partitions(times, upstream):
            yield dg.RunRequest(run_key=f"shard-{key}-{tick}", partition_key=key)

    return backfill_stale_shards
