"""The shard steps (samples, pooled, activations) over several shards in one go: what a
single-run backfill or one `splat materialize` run of a stage computes.

Shards are independent, so with more than one they can run in a pool of worker processes
(SPLAT_SHARD_WORKERS; default one per CORES_PER_WORKER cores) once they are big enough to pay
for a worker's start-up (MIN_POOL_ROWS rows a shard); otherwise one after another here. The
model and SAE passes already use every core through torch's threads: on 2 cores a pool of 2
was slower than one shard after another (default profile, samples+pooled+activations: 62.6 s
against 49.3 s), so a pool only starts on machines with cores to spare. A
worker opens its inputs from the home itself (the current, non-stale versions, as the IO
managers would hand them), writes into the staging directory it was given and answers
with the step's metadata and check outcome; tasks and answers cross as JSON text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import NamedTuple

from splat_core.pipeline import steps
from splat_core.pipeline.checks import CheckOutcome, StepResult
from splat_core.pipeline.config import SplatConfig, home_config
from splat_core.store import artifacts, catalog, contract
from splat_core.store.contract import DEFAULT_SAE

WORKERS_ENV = "SPLAT_SHARD_WORKERS"
MIN_POOL_ROWS = 20_000  # samples rows a shard: below this a worker's start-up costs more
CORES_PER_WORKER = 4  # torch's threads of one worker still scale this far

# asset -> its step on one shard, given the shard's inputs by asset name
SHARD_STEPS: dict[str, Callable[[Path, Mapping, str, SplatConfig], StepResult]] = {
    "samples": lambda out, i, key, cfg: steps.samples_step(out, i["builds"], int(key), cfg),
    "pooled": lambda out, i, key, cfg: steps.pooled_step(out, i["base_model"], i["samples"], cfg),
    "activations": lambda out, i, key, cfg: steps.activations_step(out, i["sae"], i["pooled"], cfg),
}  # fmt: skip


class Settings(NamedTuple):
    """What a worker needs to rebuild the step's config and find its inputs."""

    home: str
    profile: str
    overrides: list[str]
    sae: str = DEFAULT_SAE
    """The SAE variant (store/variants.py) whose shards these are."""


def workers_for(n_shards: int, rows_per_shard: int) -> int:
    """Worker processes for a run of `n_shards` shards: 1 (no pool) for a single shard or
    small ones; else SPLAT_SHARD_WORKERS or one per CORES_PER_WORKER cores, at most one a
    shard."""
    if n_shards < 2 or rows_per_shard < MIN_POOL_ROWS:
        return 1
    raw = os.environ.get(WORKERS_ENV, "").strip()
    try:
        wanted = int(raw) if raw else (os.cpu_count() or 1) // CORES_PER_WORKER
    except ValueError:
        wanted = 0
    if raw and wanted < 1:
        raise ValueError(f"{WORKERS_ENV}={raw!r}: give a number of worker processes (1 or more)")
    return max(1, min(wanted, n_shards))


def rows_per_shard(home, config: SplatConfig) -> int:
    """Sample rows a shard holds, from the published builds (0 if none yet)."""
    builds = catalog.read_catalog(home).get("builds", {}).get("metadata", {}).get("rows", 0)
    s = config.samples
    return builds * (s.instances + int(s.include_full)) // s.n_shards


def run_shards(
    asset: str,
    outs: Mapping[str, Path],
    inputs: Callable[[str], Mapping],
    config: SplatConfig,
    settings: Settings,
    workers: int = 1,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, StepResult]:
    """The step of `asset` on every shard of `outs` ({shard: staging dir}), in shard order:
    here with `inputs(shard)` ({asset: opened input}) when `workers` is 1, else in a pool."""
    keys = sorted(outs)
    if workers <= 1:
        results = {}
        for key in keys:
            results[key] = SHARD_STEPS[asset](outs[key], inputs(key), key, config)
            progress(f"{asset} [{key}] done ({len(results)}/{len(keys)})")
        return results
    tasks = [json.dumps({"asset": asset, "key": k, "out": str(outs[k]), **settings._asdict()})
             for k in keys]  # fmt: skip
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                             initializer=_init_worker, initargs=(threads,)) as pool:  # fmt: skip
        results = {}
        for key, answer in zip(keys, pool.map(run_task, tasks), strict=True):
            results[key] = _result(json.loads(answer))
            progress(f"{asset} [{key}] done ({len(results)}/{len(keys)}, {workers} workers)")
    return results


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)  # the workers share the cores


def run_task(task: str) -> str:
    """One shard in a worker: the task and the answer are JSON text."""
    t = json.loads(task)
    asset, key, home, sae = t["asset"], t["key"], t["home"], t["sae"]
    config = home_config(home, t["profile"], t["overrides"], sae)
    cat = catalog.read_catalog(home)
    opened = {}
    for dep in contract.spec(asset).deps:
        partition = key if contract.spec(dep).partitioned else None
        opened[dep] = artifacts.open_input(home, contract.stored_name(dep, sae), partition, cat)
    result = SHARD_STEPS[asset](Path(t["out"]), opened, key, config)
    check = result.check
    return json.dumps({"metadata": result.metadata, "passed": check.passed,
                       "check": check.metadata}, default=_plain)  # fmt: skip


def _plain(value):
    """numpy scalars and arrays in metadata as JSON numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON: {value!r}")


def _result(answer: dict) -> StepResult:
    return StepResult(answer["metadata"], CheckOutcome(answer["passed"], answer["check"]))
