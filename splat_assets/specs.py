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
from splat_assets.resources import SplatSettings, StepConfig, coordinated, writer
from splat_core.pipeline import shards
from splat_core.pipeline.checks import CheckOutcome, StepResult, check_intact, combine
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
    wrote (the default for partitioned assets: once a run, over its shards), so their specs
    are declared here; the other assets have separate asset checks (checks.py) that re-read
    published data."""
    spec = contract.spec(name)
    in_body = spec.partitioned if checked_in_body is None else checked_in_body

    def decorate(fn: Callable) -> dg.AssetsDefinition:
        inputs = set(ins or ()) | set(inspect.signature(fn).parameters)
        with warnings.catch_warnings():  # backfill_policy is "beta" in 1.13 (pinned)
            warnings.simplefilter("ignore", dg.BetaWarning)
            return _asset(fn, name, spec, shards, ins, inputs, in_body)

    return decorate


def _asset(fn, name, spec, shards, ins, inputs, in_body) -> dg.AssetsDefinition:
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
        # a backfill of many shards is one run, its step computing them all
        backfill_policy=dg.BackfillPolicy.single_run() if spec.partitioned else None,
    )(fn)


def check_specs(spec: contract.AssetSpec) -> list[dg.AssetCheckSpec]:
    """The checks its body yields: a partitioned asset's all (once a run, over its shards);
    otherwise its data check only (the integrity check is a separate asset check, in
    checks.py)."""
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
    return _output(staged, dagster_metadata(metadata), integrity.content_fingerprint(out))


def _output(value, metadata: dict, version: str) -> dg.Output:
    with warnings.catch_warnings():  # "beta" in 1.13 (pinned), and what its UI reads
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.Output(value, metadata=metadata, data_version=dg.DataVersion(version))


def check_result(outcome: CheckOutcome, name: str | None = None) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(check_name=name, passed=outcome.passed,
                               metadata=dagster_metadata(outcome.metadata))  # fmt: skip


def published_and_checked(
    context: dg.AssetExecutionContext, settings: SplatSettings, out: Path, result: StepResult,
    config: SplatConfig,
) -> Iterator:  # fmt: skip
    """An unpartitioned step that checked what it wrote: the output (published when it is
    yielded) and its data check's result."""
    yield published(context, out, result.metadata, config)
    yield check_result(result.check, contract.spec(context.asset_key.path[-1]).checks[0].name)


def shard_step(
    context: dg.AssetExecutionContext, settings: SplatSettings, run: StepConfig, inputs: dict
) -> Iterator:
    """A shard asset's body: its step on every partition of the run (one, or all of a
    single-run backfill's range, in a pool of processes: splat_core/pipeline/shards.py),
    published together; then each check once over the shards, the data check and the
    integrity of the versions just published."""
    name = context.asset_key.path[-1]
    spec, config = contract.spec(name), settings.config(run)
    home = settings.home_path()
    keys = list(context.partition_keys)
    pool = shards.Settings(str(home), settings.profile, [*settings.overrides, *run.overrides])
    workers = shards.workers_for(len(keys), shards.rows_per_shard(home, config))
    with settings.shard_staging(context) as outs:
        results = shards.run_shards(name, outs, lambda key: _inputs_for(inputs, key), config,
                                    pool, workers, context.log.info)  # fmt: skip
    yield published_shards(context, outs, results, config)
    yield check_result(combine({k: r.check for k, r in results.items()}), spec.checks[0].name)
    intact = {k: check_intact(catalog.current_path(home, name, k)) for k in keys}
    yield check_result(combine(intact), spec.checks[1].name)


def _inputs_for(inputs: dict, key: str) -> dict:
    """A shard's inputs: its own partition of a partitioned input of a range run (the IO
    manager hands {partition: artifact} then), the whole of the others."""
    return {name: value[key] if contract.spec(name).partitioned and isinstance(value, dict)
            else value for name, value in inputs.items()}  # fmt: skip


def published_shards(context, outs: dict[str, Path], results: dict[str, StepResult],
                     config: SplatConfig) -> dg.Output:  # fmt: skip
    """{partition: Staged} for the IO manager. Dagster 1.13 records one data version for
    all partitions of a run's output: a single shard's is its content fingerprint, as any
    asset's; a range's is one fingerprint over its shards' (so after a change of one shard
    in a multi-shard run, the UI marks the dependents of every shard of that run stale;
    lineage and `splat info` name the changed shard's alone)."""
    owner, own_lock = writer(context), not coordinated(context)
    staged = {k: Staged(outs[k], results[k].metadata, config, owner, own_lock) for k in outs}
    prints = {k: integrity.content_fingerprint(outs[k]) for k in sorted(outs)}
    if len(outs) == 1:
        (key,) = outs
        return _output(staged, dagster_metadata(results[key].metadata), prints[key])
    rows = [
        {
            "shard": k,
            **{
                m: v
                for m, v in results[k].metadata.items()
                if isinstance(v, bool | int | float | str)
            },
        }
        for k in sorted(outs)
    ]
    return _output(staged, dagster_metadata({"shards": rows}), integrity.fingerprint_of(prints))
