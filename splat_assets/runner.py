"""Materializing the whole graph in order, on a Dagster instance: one stage loop, launched
in-process (`materialize_graph`) or through the executor of SPLAT_EXECUTOR
(`execute_graph`).

A run has one partition range for all its partitioned assets, so the graph goes in stages:
consecutive assets of the contract's order with the same partitioning; a partitioned stage
is one run over its shards with something to do (a range, as a single-run backfill: the
shards are computed in a pool by the step, splat_core/pipeline/shards.py). Each stage is a
real Dagster run (visible in the UI, with its checks).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import dagster as dg
from dagster._core.storage.tags import (  # the tags Dagster's own UI sets
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from splat_assets.definitions import (
    MATERIALIZE_ALL,
    all_assets_job,
    job_for,
    sae_job,
    sae_shards_job,
    shard_keys,
)
from splat_assets.partitions import location, multi_key
from splat_assets.resources import WRITER_TAG, default_settings
from splat_core.pipeline.config import variant_configs
from splat_core.pipeline.freshness import why_stale_asset
from splat_core.store import catalog, publishing
from splat_core.store.contract import ASSET_NAMES, DEFAULT_SAE, SPECS, check_names

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

# A stage's run: (asset names, partition keys (none: unpartitioned), run tags, the stage's
# partitioning) -> a context manager giving the run's result
Launch = Callable[[list[str], list[str], dict, tuple], contextlib.AbstractContextManager]


class GraphRun(NamedTuple):
    seconds: dict[str, float]
    """Seconds spent per asset (its partitions summed), in graph order."""
    run_ids: list[str]
    """The Dagster run of each stage, in order."""
    up_to_date: list[str]
    """Assets (partitions as 'name [key]') skipped as up to date."""


Kind = tuple[bool, bool]  # (per SAE variant, by shard): a stage's partitioning


def stages(select: Sequence[str] | None) -> list[tuple[list[str], Kind]]:
    """Consecutive runs of assets with the same partitioning, in graph order."""
    chosen = set(select or ASSET_NAMES)
    check_names(chosen)
    out: list[tuple[list[str], Kind]] = []
    for name in ASSET_NAMES:
        if name not in chosen:
            continue
        kind = (SPECS[name].per_sae, SPECS[name].partitioned)
        if out and out[-1][1] == kind:
            out[-1][0].append(name)
        else:
            out.append(([name], kind))
    return out


def run_stages(
    launch: Launch,
    home: str,
    partition_keys: Sequence[str],
    select: Sequence[str] | None = None,
    progress: Callable[[Step], None] = print,
    wait_s: float = 0.0,
    configs: Mapping | None = None,
    force: bool = False,
    shared=None,
) -> GraphRun:
    """Every stage in order, as one writer of the home (a second writer is refused,
    WriterBusy, or waited for up to `wait_s`); a failed run or a failed check stops the
    graph there. Readers keep the previous generation until the graph is consistent.

    A per-SAE stage runs for each SAE variant of `configs` ({variant: SplatConfig}, the
    default's first; without it the default variant, not compared by settings); the shared
    assets are planned with `shared` (the profile's config). Only what
    is missing or stale runs (pipeline/freshness.py), unless `force`; each stage is planned
    after the one before published, so an upstream recompute with identical content leaves
    its dependents skipped."""
    with publishing.writing(home, wait_s) as owner:
        plan = Plan(home, configs or {DEFAULT_SAE: None}, force, shared)
        return _run_stages(launch, {WRITER_TAG: owner}, partition_keys, select, progress, plan)


class Plan:
    """Which assets of a stage to run for a partition: the stale ones and what depends on
    them within the stage (planned before the stage, so they cannot know yet)."""

    def __init__(self, home: str, configs: Mapping, force: bool, shared=None):
        self.home, self.configs, self.force = home, dict(configs), force
        self.shared = shared if shared is not None else self.configs.get(DEFAULT_SAE)
        self.up_to_date: list[str] = []

    def todo(self, names: list[str], key: str | None) -> list[str]:
        """`key`: a Dagster partition key of the stage's assets (None: unpartitioned)."""
        if self.force:
            return names
        cat = catalog.read_catalog(self.home)
        chosen: set[str] = set()
        for name in names:  # graph order: a dependency comes first
            deps = set(SPECS[name].deps) & chosen
            where = location(name, key)
            config = self.configs[where.sae] if SPECS[name].per_sae else self.shared
            if deps or why_stale_asset(cat, where.stored, where.shard, config) is not None:
                chosen.add(name)
        return [n for n in names if n in chosen]

    def runs(
        self, stage: list[str], kind: Kind, shards: Sequence[str]
    ) -> list[tuple[list[str], list]]:
        """A stage's runs: (assets, partitions). An unpartitioned stage is one run (no
        partitions); a variant's stage one run per variant; a shard stage one run per
        consecutive range of shards with something to do (of each variant, for
        activations), running the assets any of them needs (shards are computed together,
        in one run's step); the rest is noted up to date."""
        per_sae, by_shard = kind
        if not per_sae and not by_shard:
            names = self.todo(stage, None)
            self.up_to_date += [n for n in stage if n not in names]
            return [(names, [])] if names else []
        runs = []
        for keys in _partition_groups(kind, list(self.configs), shards):
            todo = {key: self.todo(stage, key) for key in keys}
            names = [n for n in stage if any(n in todo[k] for k in keys)]
            found = [(names, list(r)) for r in _ranges(keys, lambda k, t=todo: bool(t[k]))]
            running = {k for _, r in found for k in r}
            self.up_to_date += [f"{n} [{k}]" for k in keys for n in stage
                                if k not in running or n not in names]  # fmt: skip
            runs += found
        return runs


def _partition_groups(kind: Kind, saes: list[str], shards: Sequence[str]) -> list[list[str]]:
    """A partitioned stage's Dagster partition keys, one group per run source: a variant's
    shards ("<sae>|<shard>"), each variant alone, or the shards."""
    per_sae, by_shard = kind
    if per_sae and by_shard:
        return [[multi_key(sae, shard) for shard in shards] for sae in saes]
    return [[sae] for sae in saes] if per_sae else [list(shards)]


def _ranges(keys: Sequence[str], wanted: Callable[[str], bool]) -> list[list[str]]:
    """Consecutive runs of the wanted keys, in order."""
    out: list[list[str]] = []
    previous = False
    for key in keys:
        if wanted(key):
            if previous:
                out[-1].append(key)
            else:
                out.append([key])
        previous = wanted(key)
    return out


def partition_tags(keys: Sequence[str]) -> dict[str, str]:
    """A run's tags for its partitions: one partition, or a range (a single-run backfill's;
    always for a variant's shards: a range names a multi-dimensional partition alone)."""
    if len(keys) <= 1 and not (keys and "|" in keys[0]):
        return {"dagster/partition": keys[0]} if keys else {}
    return {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}


class Step(NamedTuple):
    """A progress event: a run of a stage started or finished. Printed, it is a plain
    line; a terminal display (splat_cli/progress.py) draws a bar per stage from it."""

    stage: str  # the stage's assets, "samples+pooled"
    label: str  # this run: its assets and partition
    done: int  # runs of the stage finished so far
    total: int  # runs of the stage planned
    seconds: float  # since the stage started
    finished: bool  # this run finished (else it starts)

    def __str__(self) -> str:
        if not self.finished:
            return f"materializing {self.label}"
        return f"  done {self.label} ({self.done}/{self.total}, {self.seconds:.1f}s into the stage)"


def _run_stages(launch, tags, partition_keys, select, progress, plan) -> GraphRun:
    seconds: dict[str, float] = {}
    run_ids: list[str] = []
    for stage, kind in stages(select):
        # a stage's runs do not change each other's staleness: plan them all at its start
        runs = plan.runs(stage, kind, partition_keys)
        stage_start = time.perf_counter()
        for done, (names, keys) in enumerate(runs):
            label = "+".join(names) + _keys_label(keys)
            event = Step("+".join(stage), label, done, len(runs), 0.0, False)
            progress(event)
            with launch(names, keys, tags, kind) as result:
                run_ids.append(result.run_id)
                for name, step_seconds in _step_seconds(result).items():
                    if name in names:  # asset steps; check steps are named <asset>_<check>
                        seconds[name] = seconds.get(name, 0.0) + step_seconds
                failed = [e.check_name for e in result.get_asset_check_evaluations()
                          if not e.passed]  # fmt: skip
            if not result.success:
                raise RuntimeError(f"{label}: run {result.run_id} failed")
            if failed:
                raise RuntimeError(f"{label}: checks failed: {', '.join(failed)}")
            elapsed = time.perf_counter() - stage_start
            progress(event._replace(done=done + 1, seconds=elapsed, finished=True))
    return GraphRun(seconds, run_ids, plan.up_to_date)


def _keys_label(keys: list[str]) -> str:
    if not keys:
        return ""
    return f" [{keys[0]}]" if len(keys) == 1 else f" [{keys[0]}..{keys[-1]}]"


def materialize_graph(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    select: Sequence[str] | None = None,
    progress: Callable[[Step], None] = print,
    wait_s: float = 0.0,
    force: bool = False,
    saes: Sequence[str] | None = None,
) -> GraphRun:
    """Every stage in this process, on `defs`: what is missing or stale, or all if `force`;
    the per-SAE stages for the SAE variants `saes` (default: every variant of the home)."""
    assets, checks = list(defs.assets or []), list(defs.asset_checks or [])
    keys = defs.resolve_asset_graph().get(dg.AssetKey("samples")).partitions_def
    resources = defs.resources or {}

    def launch(names: list[str], keys: list[str], tags: dict, _kind: Kind):
        selection = dg.AssetSelection.assets(*names) | dg.AssetSelection.checks_for_assets(*names)
        return contextlib.nullcontext(dg.materialize(
            [*assets, *checks], selection=selection, instance=instance, resources=resources,
            raise_on_error=True, run_config=QUIET, tags={**tags, **partition_tags(keys)},
        ))  # fmt: skip

    settings = resources["settings"]
    configs = variant_configs(settings.home_path(), settings.profile, settings.overrides, saes)
    loaded = defs.resolve_asset_graph().get(dg.AssetKey("sae")).partitions_def
    late = [n for n in configs if n not in loaded.get_partition_keys()]
    if late:  # its partitions are read when the definitions load
        raise ValueError(f"SAE variants {late} were defined after these Dagster definitions "
                         "loaded: reload them (build_definitions, or the UI's Reload)")  # fmt: skip
    return run_stages(launch, settings.home, keys.get_partition_keys(), select, progress, wait_s,
                      configs, force, settings.config())  # fmt: skip


def execute_graph(
    instance: dg.DagsterInstance,
    select: Sequence[str] | None = None,
    progress: Callable[[Step], None] = print,
    force: bool = False,
    saes: Sequence[str] | None = None,
) -> list[str]:
    """Every stage as a run of its reconstructable job (definitions.STAGE_JOBS), on the
    executor of SPLAT_EXECUTOR (e.g. a Dask cluster); returns the run ids."""
    jobs = {MATERIALIZE_ALL: all_assets_job, "Pipeline_sae": sae_job,
            "Pipeline_sae_shards": sae_shards_job}  # fmt: skip

    def launch(names: list[str], keys: list[str], tags: dict, kind: Kind):
        tags = {**tags, **partition_tags(keys)}
        job = dg.reconstructable(jobs[job_for(*kind)])
        return dg.execute_job(job, instance, run_config=QUIET, tags=tags,
                              asset_selection=[dg.AssetKey(n) for n in names])  # fmt: skip

    settings = default_settings()
    configs = variant_configs(settings.home_path(), settings.profile, settings.overrides, saes)
    return run_stages(launch, settings.home, shard_keys(), select, progress,
                      configs=configs, force=force, shared=settings.config()).run_ids  # fmt: skip


def _step_seconds(result) -> dict[str, float]:
    """Seconds of each step of a run (asset steps are named after the asset)."""
    out = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_SUCCESS":
            out[event.step_key] = event.event_specific_data.duration_ms / 1000
    return out
