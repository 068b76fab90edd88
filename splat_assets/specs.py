"""Dagster's side of the asset contract (splat_core.store.contract): the asset decorator that
takes an asset's group, IO manager, description, partitioning, automation and check specs
from its spec, and the one way results and check outcomes become Dagster events."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg

from splat_assets.io_managers import Staged
from splat_assets.resources import SplatSettings, coordinated, writer
from splat_core.pipeline.checks import CheckOutcome, StepResult, check_intact
from splat_core.pipeline.config import SplatConfig
from splat_core.store import catalog, contract

# Everything downstream of the shards follows their updates by declarative automation (the
# shard schedule backfills the shards themselves).
EAGER = dg.AutomationCondition.eager()
FOLLOWS_UPSTREAM = ("sae", "analysis")  # asset groups


def shard_partitions(n_shards: int) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition([f"{i:03d}" for i in range(n_shards)])


def splat_asset(
    name: str,
    shards: dg.PartitionsDefinition | None = None,
    *,
    ins: dict[str, dg.AssetIn] | None = None,
    checked_in_body: bool | None = None,
) -> Callable:
    """`@dg.asset` with the contract's settings for asset `name`.

    Inputs are the function's parameters named after assets, or `ins`; any other contract
    dependency becomes a plain dep. Checks run in the body when the step checks what it
    wrote (the default for partitioned assets: per shard), so their specs are declared here;
    the other assets have separate asset checks (checks.py) that re-read published data."""
    spec = contract.spec(name)
    in_body = spec.partitioned if checked_in_body is None else checked_in_body

    def decorate(fn: Callable) -> dg.AssetsDefinition:
        inputs = set(ins or ()) | set(inspect.signature(fn).parameters)
        return dg.asset(
            name=name,
            group_name=spec.group,
            io_manager_key=spec.io_manager,
            description=spec.description,
            partitions_def=shards if spec.partitioned else None,
            automation_condition=EAGER if spec.group in FOLLOWS_UPSTREAM else None,
            ins=ins,
            deps=[d for d in spec.deps if d not in inputs] or None,
            check_specs=check_specs(spec) if in_body else None,
        )(fn)

    return decorate


def check_specs(spec: contract.AssetSpec) -> list[dg.AssetCheckSpec]:
    """The checks its body yields: a partitioned asset's all (per shard); otherwise its data
    check only (the integrity check is a separate asset check, in checks.py)."""
    checks = spec.checks if spec.partitioned else spec.checks[:1]
    return [dg.AssetCheckSpec(c.name, asset=spec.name, description=c.description, blocking=True)
            for c in checks]  # fmt: skip


def dagster_metadata(meta: dict) -> dict:
    """Scalars and text stay as they are; dicts and lists become JSON metadata values."""
    return {
        k: dg.MetadataValue.json(v) if isinstance(v, dict | list) else v for k, v in meta.items()
    }


def published(context, out: Path, metadata: dict, config: SplatConfig) -> dg.Output:
    """The staged directory for the IO manager to publish, with its metadata, the config it
    was computed with (fingerprinted into its lineage) and the writer holding the home."""
    staged = Staged(out, metadata, config, writer(context), not coordinated(context))
    return dg.Output(staged, metadata=dagster_metadata(metadata))


def check_result(outcome: CheckOutcome, name: str | None = None) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(check_name=name, passed=outcome.passed,
                               metadata=dagster_metadata(outcome.metadata))  # fmt: skip


def published_and_checked(
    context: dg.AssetExecutionContext, settings: SplatSettings, out: Path, result: StepResult,
    config: SplatConfig,
) -> Iterator:  # fmt: skip
    """A step that checked what it wrote: the output (published when it is yielded), its
    data check's result, and for a shard the integrity of the version just published."""
    name = context.asset_key.path[-1]
    spec = contract.spec(name)
    yield published(context, out, result.metadata, config)
    yield check_result(result.check, spec.checks[0].name)
    if spec.partitioned:
        where = catalog.current_path(settings.home_path(), name, context.partition_key)
        yield check_result(check_intact(where), spec.checks[1].name)
