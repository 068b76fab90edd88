"""Choosing where steps run by configuration, so that asset code never names an executor.

`SPLAT_EXECUTOR`: `inprocess`, `multiprocess`, `dask` or `k8s` (unset: Dagster's default, and
the multiprocess executor for `shards_job`). `dask` connects to an existing `dask.distributed`
scheduler at `SPLAT_DASK_ADDRESS` (e.g. `tcp://10.0.0.5:8786`); `k8s` runs each step in its
own Kubernetes Job (dagster-k8s, configured like the K8sRunLauncher). Both need a persistent
instance (a DAGSTER_HOME, not an ephemeral one) and a SPLAT_HOME that every worker can read
and write, since the IO managers publish there. See docs/scaling.md.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Sequence

import dagster as dg

from splat_assets.assets import shard_partitions
from splat_assets.resources import default_settings
from splat_assets.runner import QUIET, stages

EXECUTORS = ("inprocess", "multiprocess", "dask", "k8s")


def executor_from_env(default: dg.ExecutorDefinition | None = None) -> dg.ExecutorDefinition | None:
    """The executor named by SPLAT_EXECUTOR, or `default` when it is unset."""
    name = os.environ.get("SPLAT_EXECUTOR", "").strip().lower()
    if not name:
        return default
    if name == "inprocess":
        return dg.in_process_executor
    if name == "multiprocess":
        return dg.multiprocess_executor
    if name == "dask":
        return dask_executor()
    if name == "k8s":
        return _optional("dagster_k8s", "k8s_job_executor", name)
    raise ValueError(f"SPLAT_EXECUTOR={name!r}: choose one of {', '.join(EXECUTORS)}")


def dask_executor() -> dg.ExecutorDefinition:
    """dagster-dask's executor against the scheduler at SPLAT_DASK_ADDRESS, read when a run
    starts (not at load time: the workers rebuild these definitions and never need it)."""
    executor = _optional("dagster_dask", "dask_executor", "dask")
    config = {"cluster": {"existing": {"address": {"env": "SPLAT_DASK_ADDRESS"}}}}
    return executor.configured(config, name="splat_dask")


def _optional(module: str, attribute: str, name: str) -> dg.ExecutorDefinition:
    """An executor from an integration library that only distributed deployments install."""
    try:
        return getattr(importlib.import_module(module), attribute)
    except ImportError as error:
        package = module.replace("_", "-")
        raise ImportError(f"SPLAT_EXECUTOR={name} needs `pip install {package}`") from error


def all_assets_job() -> dg.JobDefinition:
    """Every asset of the definitions built from the environment, on the configured executor.

    A module-level function, so that `dg.reconstructable` can rebuild it on a worker."""
    from splat_assets.definitions import build_definitions

    job = dg.define_asset_job("all_assets", selection=dg.AssetSelection.all(),
                              executor_def=executor_from_env())  # fmt: skip
    defs = dg.Definitions.merge(build_definitions(), dg.Definitions(jobs=[job]))
    return defs.resolve_job_def("all_assets")


def execute_graph(
    instance: dg.DagsterInstance,
    select: Sequence[str] | None = None,
    progress: Callable[[str], None] = print,
) -> list[str]:
    """Materialize the graph in stages (as runner.materialize_graph does) through the executor
    of SPLAT_EXECUTOR, each stage a run of the reconstructable job; returns the run ids."""
    job = dg.reconstructable(all_assets_job)
    keys = shard_partitions(default_settings().config().samples.n_shards).get_partition_keys()
    run_ids = []
    for names, partitioned in stages(select):
        for key in keys if partitioned else [None]:
            label = "+".join(names) + (f" [{key}]" if key else "")
            progress(f"materializing {label}")
            start = time.perf_counter()
            tags = {"dagster/partition": key} if key else None
            selection = [dg.AssetKey(name) for name in names]
            with dg.execute_job(job, instance, run_config=QUIET, tags=tags,
                                asset_selection=selection) as result:  # fmt: skip
                run_ids.append(result.run_id)
                checks = result.get_asset_check_evaluations()
            if not result.success:
                raise RuntimeError(f"{label}: run {result.run_id} failed")
            failed = [check.check_name for check in checks if not check.passed]
            if failed:
                raise RuntimeError(f"{label}: checks failed: {', '.join(failed)}")
            progress(f"  done {label} in {time.perf_counter() - start:.1f}s")
    return run_ids
