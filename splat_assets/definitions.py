"""The Dagster code location: the asset graph, IO managers, checks, jobs and the schedule.

The number of shards is static per deployment: it comes from the profile (SPLAT_PROFILE,
SPLAT_OVERRIDES) when the definitions are loaded; the executor from SPLAT_EXECUTOR
(splat_assets/executors.py).
"""

from __future__ import annotations

import dagster as dg

from splat_assets.analysis import build_analysis_assets
from splat_assets.assets import build_assets
from splat_assets.checks import build_checks
from splat_assets.executors import executor_from_env
from splat_assets.io_managers import io_managers
from splat_assets.partitions import graph_partitions, shard_partitions
from splat_assets.resources import DuckDBResource, SplatSettings, default_settings
from splat_assets.schedules import build_automation_sensor, build_shard_schedule
from splat_core.store import variants
from splat_core.store.contract import ASSETS, SHARD_ASSETS, SPECS


def build_definitions(settings: SplatSettings | None = None) -> dg.Definitions:
    settings = settings or default_settings()
    n_shards = settings.config().samples.n_shards
    parts = graph_partitions(n_shards, list(variants.defined(settings.home_path())))
    shards_job = dg.define_asset_job(
        "shards_job",
        selection=dg.AssetSelection.assets(*(a for a in SHARD_ASSETS if not SPECS[a].per_sae)),
        executor_def=executor_from_env(default=dg.multiprocess_executor),
    )
    return dg.Definitions(
        assets=build_assets(parts) + build_analysis_assets(parts),
        asset_checks=build_checks(parts),
        jobs=[shards_job, *(stage_job(name) for name in STAGE_JOBS)],
        schedules=[build_shard_schedule(shards_job, shard_keys(settings), settings)],
        sensors=[build_automation_sensor()],
        executor=executor_from_env(),
        resources={
            "settings": settings,
            "duckdb": DuckDBResource(home=settings.home),
            **io_managers(settings.home),
        },
    )


# A Dagster job holds assets of one partitioning (and unpartitioned ones), so the graph is
# three jobs: the shared assets up to the pooled vectors (unpartitioned or by shard), a
# variant's SAE and its analysis (by SAE variant), a variant's activations (variant x
# shard). The UI's "Materialize all..." on the shared part launches through "Pipeline"
# (capitals sort before Dagster's implicit "__ASSET_JOB"); over the whole graph it is an
# asset backfill. `splat materialize` runs the stages in order (runner.py).
MATERIALIZE_ALL = "Pipeline"
STAGE_JOBS = {  # job -> (per SAE, by shard) of its assets
    MATERIALIZE_ALL: (False, None),
    "Pipeline_sae": (True, False),
    "Pipeline_sae_shards": (True, True),
}


def job_for(per_sae: bool, partitioned: bool) -> str:
    """The job that runs a stage of assets so partitioned."""
    if not per_sae:
        return MATERIALIZE_ALL
    return "Pipeline_sae_shards" if partitioned else "Pipeline_sae"


def stage_job(name: str) -> dg.UnresolvedAssetJobDefinition:
    """The assets of one partitioning and their checks. A backfill of all partitions of the
    shared part ("Materialize all...", choosing All) is one run: the shard assets' backfill
    policy is a single run, so each shard stage is one step computing all its shards, and
    the run's steps share one process (as `splat materialize`) unless SPLAT_EXECUTOR says
    otherwise."""
    per_sae, partitioned = STAGE_JOBS[name]
    chosen = [a.name for a in ASSETS if a.per_sae == per_sae
              and (partitioned is None or a.partitioned == partitioned)]  # fmt: skip
    executor = executor_from_env(default=dg.in_process_executor)
    return dg.define_asset_job(name, selection=dg.AssetSelection.assets(*chosen),
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
    """The shared assets, on the configured executor."""
    return build_definitions().resolve_job_def(MATERIALIZE_ALL)


def sae_job() -> dg.JobDefinition:
    """A variant's SAE and analysis, on the configured executor."""
    return build_definitions().resolve_job_def("Pipeline_sae")


def sae_shards_job() -> dg.JobDefinition:
    """A variant's activations, on the configured executor."""
    return build_definitions().resolve_job_def("Pipeline_sae_shards")
