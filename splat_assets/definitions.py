"""The Dagster code location: the asset graph, IO managers, checks, jobs and the schedule.

The number of shards is static per deployment: it comes from the profile (SPLAT_PROFILE,
SPLAT_OVERRIDES) when the definitions are loaded; the executor from SPLAT_EXECUTOR
(splat_assets/executors.py).
"""

from __future__ import annotations

import dagster as dg

from splat_assets.analysis import build_analysis_assets
from splat_assets.assets import build_assets, shard_partitions
from splat_assets.checks import ALL_CHECKS
from splat_assets.executors import executor_from_env
from splat_assets.io_managers import CheckpointIOManager, ParquetIOManager, ZarrIOManager
from splat_assets.resources import SplatSettings, default_settings
from splat_assets.schedules import SHARD_ASSETS, build_shard_schedule


def build_definitions(settings: SplatSettings | None = None) -> dg.Definitions:
    settings = settings or default_settings()
    n_shards = settings.config().samples.n_shards
    assets = build_assets(n_shards) + build_analysis_assets()
    shards_job = dg.define_asset_job(
        "shards_job",
        selection=dg.AssetSelection.assets(*SHARD_ASSETS),
        executor_def=executor_from_env(default=dg.multiprocess_executor),
    )
    keys = shard_partitions(n_shards).get_partition_keys()
    return dg.Definitions(
        assets=assets,
        asset_checks=ALL_CHECKS,
        jobs=[shards_job],
        schedules=[build_shard_schedule(shards_job, keys)],
        executor=executor_from_env(),
        resources={
            "settings": settings,
            "parquet_io": ParquetIOManager(home=settings.home),
            "zarr_io": ZarrIOManager(home=settings.home),
            "checkpoint_io": CheckpointIOManager(home=settings.home),
        },
    )


defs = build_definitions()


def shards_job() -> dg.JobDefinition:
    """The shard job of the definitions built from the environment (for reconstructable)."""
    return build_definitions().resolve_job_def("shards_job")
