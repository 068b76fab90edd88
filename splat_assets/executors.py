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

import dagster as dg

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
