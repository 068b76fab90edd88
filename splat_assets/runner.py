"""Materializing the whole graph in order, in-process, on a Dagster instance.

Dagster runs one partition per run for partitioned assets, so the graph goes in stages:
unpartitioned assets, each shard, the SAE, each shard again, the feature store. Each stage is
a real Dagster run (visible in the UI, with its checks).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import dagster as dg

ORDER = (
    ("vocab", False), ("builds", False), ("base_model", False),
    ("samples", True), ("pooled", True),
    ("sae", False),
    ("activations", True),
    ("feature_store", False),
    ("feature_stats", False), ("feature_histograms", False), ("token_idf", False),
    ("feature_tokens", False), ("feature_weapons", False), ("feature_influence", False),
    ("feature_neighbors", False),
)  # fmt: skip
ASSET_NAMES = [name for name, _ in ORDER]


def stages(select: Sequence[str] | None) -> list[tuple[list[str], bool]]:
    """Consecutive runs of assets with the same partitioning, in graph order."""
    chosen = set(select or ASSET_NAMES)
    unknown = chosen - set(ASSET_NAMES)
    if unknown:
        raise ValueError(f"unknown assets {sorted(unknown)}; choose from {', '.join(ASSET_NAMES)}")
    out: list[tuple[list[str], bool]] = []
    for name, partitioned in ORDER:
        if name not in chosen:
            continue
        if out and out[-1][1] == partitioned:
            out[-1][0].append(name)
        else:
            out.append(([name], partitioned))
    return out


def materialize_graph(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    select: Sequence[str] | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, float]:
    """Run every stage; returns seconds spent per asset (partitions summed)."""
    graph = defs.resolve_asset_graph()
    assets = list(defs.assets or [])
    checks = list(defs.asset_checks or [])
    resources = defs.resources or {}
    keys = graph.get(dg.AssetKey("samples")).partitions_def.get_partition_keys()
    seconds: dict[str, float] = {}
    for names, partitioned in stages(select):
        selection = dg.AssetSelection.assets(*names) | dg.AssetSelection.checks_for_assets(*names)
        for key in keys if partitioned else [None]:
            label = f"{'+'.join(names)}" + (f" [{key}]" if key else "")
            progress(f"materializing {label}")
            start = time.perf_counter()
            result = dg.materialize(
                [*assets, *checks], selection=selection, partition_key=key, instance=instance,
                resources=resources, raise_on_error=True, run_config=QUIET,
            )  # fmt: skip
            took = time.perf_counter() - start
            for name, step_seconds in _step_seconds(result).items():
                if name in names:  # asset steps; check steps are named <asset>_<check>
                    seconds[name] = seconds.get(name, 0.0) + step_seconds
            failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
            if failed:
                raise RuntimeError(
                    f"{label}: checks failed: {', '.join(e.check_name for e in failed)}"
                )
            progress(f"  done {label} in {took:.1f}s")
    return seconds


def _step_seconds(result) -> dict[str, float]:
    """Seconds of each step of a run (asset steps are named after the asset)."""
    out = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_SUCCESS":
            out[event.step_key] = event.event_specific_data.duration_ms / 1000
    return out


QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
