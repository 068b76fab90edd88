"""The Dagster code location: the asset graph, IO managers, checks, jobs and the schedule.

The number of shards is static per deployment: it comes from the profile (SPLAT_PROFILE,
SPLAT_OVERRIDES) when the definitions are loaded; the executor from SPLAT_EXECUTOR
(splat_assets/executors.py).
"""

from __future__ import annotations

import dagster as dg

from splat_assets.analysis import build_analysis_assets
from splat_assets.assets import build_assets
from splat_assets.checks import ALL_CHECKS
from splat_assets.executors import executor_from_env
from splat_assets.io_managers import io_managers
from splat_assets.resources import DuckDBResource, SplatSettings, default_settings
from splat_assets.schedules import build_automation_sensor, build_shard_schedule
from splat_assets.specs import shard_partitions
from splat_core.store.contract import SHARD_ASSETS


def build_definitions(settings: SplatSettings | None = None) -> dg.Definitions:
    settings = settings or default_settings()
    n_shards = settings.config().samples.n_shards
    shards_job = dg.define_asset_job(
        "shards_job",
        selection=dg.AssetSelection.assets(*SHARD_ASSETS),
        executor_def=executor_from_env(default=dg.multiprocess_executor),
    )
    return dg.Definitions(
        assets=build_assets(n_shards) + build_analysis_assets(),
        asset_checks=ALL_CHECKS,
        jobs=[shards_job, materialize_all_job()],
        schedules=[build_shard_schedule(shards_job, shard_keys(settings), settings)],
        sensors=[build_automation_sensor()],
        executor=executor_from_env(),
        resources={
            "settings": settings,
            "duckdb": DuckDBResource(home=settings.home),
            **io_managers(settings.home),
        },
    )


# The UI's "Materialize all..." (and "Materialize unsynced") launches through the first job,
# by name, that holds every chosen asset; capitals sort before Dagster's implicit
# "__ASSET_JOB", so from the lineage page too the whole graph goes through this job.
MATERIALIZE_ALL = "Pipeline"


def materialize_all_job() -> dg.UnresolvedAssetJobDefinition:
    """Every asset and check. Its backfill of all partitions ("Materialize all...", choosing
    All) is one run: the shard assets' backfill policy is a single run, so each shard stage
    is one step computing all its shards, and the run's steps share one process (as
    `splat materialize`) unless SPLAT_EXECUTOR says otherwise."""
    executor = executor_from_env(default=dg.in_process_executor)
    return dg.define_asset_job(MATERIALIZE_ALL, selection=dg.AssetSelection.all(),
                               executor_def=executor)  # fmt: skip


def shard_keys(settings: SplatSettings | None = None) -> list[str]:
    n_shards = (settings or default_settings()).config().samples.n_shards
    return shard_partitions(n_shards).get_partition_keys()


defs = build_definitions()


# Module-level job factories, so that `dg.reconstructable` can rebuild them on a worker from
# the environment (SPLAT_HOME, SPLAT_PROFILE, SPLAT_OVERRIDES, SPLAT_EXECUTOR).


def shards_job() -> dg.JobDefinition:
    return build_definitions().resolve_job_def("shards_job")


def all_assets_job() -> dg.JobDefinition:
    """Every asset, on the configured executor."""
    return build_definitions().resolve_job_def(MATERIALIZE_ALL)
