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
from splat_assets.partitions import Partitions, location, mapping, partitions_of
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


def splat_asset(
    name: str,
    parts: Partitions,
    *,
    ins: dict[str, dg.AssetIn] | None = None,
    checked_in_body: bool | None = None,
) -> Callable:
    """`@dg.asset` with the contract's settings for asset `name`, partitioned by shard
    and/or SAE variant (partitions.py).

    Inputs are the function's parameters named after assets, or `ins`; any other contract
    dependency becomes a plain dep. Checks run in the body when the step checks what it
    wrote (the default for partitioned assets: once a run, over its partitions), so their
    specs are declared here; the other assets have separate asset checks (checks.py) that
    re-read published data."""
    spec = contract.spec(name)
    in_body = spec.partitioned if checked_in_body is None else checked_in_body

    def decorate(fn: Callable) -> dg.AssetsDefinition:
        inputs = set(ins or ()) | set(inspect.signature(fn).parameters)
        with warnings.catch_warnings():  # backfill_policy is "beta" in 1.13 (pinned)
            warnings.simplefilter("ignore", dg.BetaWarning)
            return _asset(fn, name, spec, parts, ins, inputs, in_body)

    return decorate


def _asset(fn, name, spec, parts, ins, inputs, in_body) -> dg.AssetsDefinition:
    ins = {
        n: _mapped(spec, n, i)
        for n, i in (
            {n: dg.AssetIn(n) for n in inputs if n in contract.SPECS} | (ins or {})
        ).items()
    }
    return dg.asset(
        name=name,
        group_name=spec.group,
        io_manager_key=spec.io_manager,
        description=spec.description,
        partitions_def=partitions_of(spec, parts),
        automation_condition=EAGER if spec.group in FOLLOWS_UPSTREAM else None,
        ins=ins or None,
        deps=[dg.AssetDep(d, partition_mapping=mapping(spec, contract.spec(d)))
              for d in spec.deps if d not in inputs] or None,
        check_specs=check_specs(spec) if in_body else None,
        code_version=asset_code_version(name),
        # a backfill of many shards is one run, its step computing them all
        backfill_policy=dg.BackfillPolicy.single_run() if spec.partitioned else None,
    )(fn)  # fmt: skip


def _mapped(spec: contract.AssetSpec, name: str, asset_in: dg.AssetIn) -> dg.AssetIn:
    """The input with its partition mapping (partitions.mapping)."""
    dep = contract.spec(asset_in.key.path[-1] if asset_in.key else name)
    return dg.AssetIn(asset_in.key or name, partition_mapping=mapping(spec, dep))


def check_specs(spec: contract.AssetSpec) -> list[dg.AssetCheckSpec]:
    """The checks its body yields: a shard asset's all (once a run, over its shards);
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
    """An unpartitioned step (or one SAE variant's) that checked what it wrote: the output
    (published when it is yielded) and its data check's result."""
    yield published(context, out, result.metadata, config)
    yield check_result(result.check, contract.spec(context.asset_key.path[-1]).checks[0].name)


def shard_step(
    context: dg.AssetExecutionContext, settings: SplatSettings, run: StepConfig, inputs: dict
) -> Iterator:
    """A shard asset's body: its step on every partition of the run (one, or all of a
    single-run backfill's range, in a pool of processes: splat_core/pipeline/shards.py),
    published together; then each check once over the shards, the data check and the
    integrity of the versions just published. A range of `activations` may span SAE
    variants: each variant's shards run with its own config and SAE."""
    name = context.asset_key.path[-1]
    spec, home = contract.spec(name), settings.home_path()
    where = {str(k): location(name, k) for k in context.partition_keys}
    results: dict[str, StepResult] = {}
    configs: dict[str, SplatConfig] = {}
    with settings.shard_staging(context) as outs:
        for sae in dict.fromkeys(w.sae for w in where.values()):
            keys = {w.shard: k for k, w in where.items() if w.sae == sae}  # shard -> key
            config = configs[sae] = settings.config(run, sae)
            pool = shards.Settings(str(home), settings.profile,
                                   [*settings.overrides, *run.overrides], sae)  # fmt: skip
            workers = shards.workers_for(len(keys), shards.rows_per_shard(home, config))
            done = shards.run_shards(name, {s: outs[k] for s, k in keys.items()},
                                     lambda shard, sae=sae: _inputs_for(inputs, shard, sae),
                                     config, pool, workers, context.log.info)  # fmt: skip
            results |= {keys[s]: r for s, r in done.items()}
    yield published_shards(context, outs, results, {k: configs[w.sae] for k, w in where.items()})
    yield check_result(combine({k: r.check for k, r in results.items()}), spec.checks[0].name)
    intact = {k: check_intact(catalog.current_path(home, w.stored, w.shard))
              for k, w in where.items()}  # fmt: skip
    yield check_result(combine(intact), spec.checks[1].name)


def _inputs_for(inputs: dict, shard: str, sae: str) -> dict:
    """A shard's inputs: its own partition of a partitioned input of a range run (the IO
    manager hands {partition: artifact} then), its variant's SAE of a range over several
    variants ({variant: artifact}), the whole of the others."""
    out = {}
    for name, value in inputs.items():
        if isinstance(value, dict) and contract.spec(name).partitioned:
            value = value[shard]
        elif isinstance(value, dict) and contract.spec(name).per_sae:
            value = value[sae]
        out[name] = value
    return out


def published_shards(context, outs: dict[str, Path], results: dict[str, StepResult],
                     configs: dict[str, SplatConfig]) -> dg.Output:  # fmt: skip
    """{partition: Staged} for the IO manager. Dagster 1.13 records one data version for
    all partitions of a run's output: a single shard's is its content fingerprint, as any
    asset's; a range's is one fingerprint over its shards' (so after a change of one shard
    in a multi-shard run, the UI marks the dependents of every shard of that run stale;
    lineage and `splat info` name the changed shard's alone)."""
    owner, own_lock = writer(context), not coordinated(context)
    staged = {k: Staged(outs[k], results[k].metadata, configs[k], owner, own_lock) for k in outs}
    prints = {k: integrity.content_fingerprint(outs[k]) for k in sorted(outs)}
    if len(outs) == 1:
        (key,) = outs
        return _output(staged, dagster_metadata(results[key].metadata), prints[key])
    rows = [
        {
            "shard": str(k),
            **{
                m: v
                for m, v in results[k].metadata.items()
                if isinstance(v, bool | int | float | str)
            },
        }
        for k in sorted(outs)
    ]
    return _output(staged, dagster_metadata({"shards": rows}), integrity.fingerprint_of(prints))
