"""Keeping shards fresh: a schedule backfills missing or stale shards (by lineage: their
inputs or settings changed since they were computed); the assets after them follow by
declarative automation (eager conditions on sae, activations, feature_store, analysis)."""

from __future__ import annotations

import dagster as dg

from splat_assets.resources import SplatSettings
from splat_core.pipeline.freshness import stale_partitions
from splat_core.store import catalog


def build_shard_schedule(
    job: dg.UnresolvedAssetJobDefinition, partition_keys: list[str], settings: SplatSettings,
    cron: str = "0 * * * *",
) -> dg.ScheduleDefinition:  # fmt: skip
    @dg.schedule(job=job, cron_schedule=cron, name="backfill_stale_shards",
                 default_status=dg.DefaultScheduleStatus.RUNNING)  # fmt: skip
    def backfill_stale_shards(context: dg.ScheduleEvaluationContext):
        """One run per shard whose samples/pooled/activations are missing, or were computed
        from builds, a model, an SAE or settings that have changed since."""
        cat = catalog.read_catalog(settings.home_path())
        tick = (
            int(context.scheduled_execution_time.timestamp())
            if context.scheduled_execution_time
            else 0
        )
        for key in stale_partitions(cat, partition_keys, settings.config()):
            yield dg.RunRequest(run_key=f"shard-{key}-{tick}", partition_key=key)

    return backfill_stale_shards


def build_automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """Evaluates the eager conditions (specs.py) of the assets after the shards; on by
    default, as the schedule: a home served from Dagster keeps itself current. Runs it
    launches take the home's writer lock like any other (a CLI run meanwhile waits or is
    refused, never interleaved)."""
    return dg.AutomationConditionSensorDefinition(
        "follow_upstream", target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=60,
    )  # fmt: skip
