"""Dagster's side of the asset contract (splat_core.store.contract): the asset decorator that
takes an asset's group, IO manager, description, partitioning, automation and check specs
from its spec, and the one way results and check outcomes become Dagster events."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg

from splat_assets.io_managers import Staged
from splat_assets.resources import SplatSettings, coordinated, writer
from splat_core.pipeline.checks import CheckOutcome, StepResult, check_intact
from splat_core.pipeline.code_versions import asset_code_version
from splat_core.pipeline.config import SplatConfig
from splat_core.store import catalog, contract, integrity

# Everything downstream of the shards follows their updates by declarative automation (the
# shard schedule backfills the shards themselves).
EAGER = dg.AutomationCondition.eager()
FOLLOWS_UPSTREAM = ("sae", "analysis")  # asset groups


def shard_partitions(n_shards: int) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(contract.shard_keys(n_shards))


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
            code_version=asset_code_version(name),
        )(fn)

    return decorate


def check_specs(spec: contract.AssetSpec) -> list[dg.AssetCheckSpec]:
    """The checks its body yields: a partitioned asset's all (per shard); otherwise its data
    check only (the integrity check is a separate asset check, in checks.py)."""
    checks = spec.checks if spec.partitioned else spec.checks[:1]
    return [dg.AssetCheckSpec(c.name, asset=spec.name, description=c.description, blocking=True)
            for c in checks]  # fmt: skip


def dagster_metadata(meta: dict) -> dict:
    """Scalars and text stay as they are; a list of flat rows (a training curve, per-epoch
    metrics) becomes a table the asset page shows; other dicts and lists JSON values."""
    return {k: _table(v) if _is_rows(v) else dg.MetadataValue.json(v)
            if isinstance(v, dict | list) else v for k, v in meta.items()}  # fmt: skip


def _is_rows(value) -> bool:
    """A non-empty list of dicts with the same keys and scalar values."""
    if not (isinstance(value, list) and value and isinstance(value[0], dict)):
        return False
    keys, scalar = value[0].keys(), (bool, int, float, str)
    return all(isinstance(r, dict) and r.keys() == keys
               and all(isinstance(x, scalar) for x in r.values()) for r in value)  # fmt: skip


def _table(rows: list[dict]) -> dg.TableMetadataValue:
    kinds = {bool: "bool", int: "int", float: "float", str: "string"}
    columns = [dg.TableColumn(k, kinds[type(v)]) for k, v in rows[0].items()]
    records = [dg.TableRecord(r) for r in rows]
    return dg.MetadataValue.table(records, schema=dg.TableSchema(columns=columns))


def published(context, out: Path, metadata: dict, config: SplatConfig) -> dg.Output:
    """The staged directory for the IO manager to publish, with its metadata, the config it
    was computed with (fingerprinted into its lineage) and the writer holding the home."""
    staged = Staged(out, metadata, config, writer(context), not coordinated(context))
    # the data version is the content fingerprint the published version will have: an
    # identical recompute leaves its dependents in sync, in the UI as in lineage
    version = dg.DataVersion(integrity.content_fingerprint(out))
    with warnings.catch_warnings():  # "beta" in 1.13 (pinned), and what its UI reads
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.Output(staged, metadata=dagster_metadata(metadata), data_version=version)


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
