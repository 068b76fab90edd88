"""The asset graph of DESIGN.md, up to the feature store. Bodies are thin: one splat_core
step each; checks on partitioned assets run in the body (per shard), the others are
separate asset checks in checks.py that re-read the published data."""

import dagster as dg

from splat_assets.io_managers import Staged
from splat_assets.metadata import dagster_metadata as _flat
from splat_assets.resources import SplatSettings, StepConfig
from splat_core import steps
from splat_core.checks import CheckOutcome

SHARD_CHECKS = {
    "samples": ("samples_consistent", "ids contiguous, inputs are subsets of their builds"),
    "pooled": ("pooled_finite", "one finite vector per sample"),
    "activations": ("csr_valid", "scipy CSR invariants, one row per sample, no NaN"),
}


# Downstream of the shards: follow their updates (the shard schedule backfills the shards).
EAGER = dg.AutomationCondition.eager()


def shard_partitions(n_shards: int) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition([f"{i:03d}" for i in range(n_shards)])


def _result(name: str, outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name, passed=outcome.passed, metadata=outcome.metadata,
        severity=dg.AssetCheckSeverity.ERROR,
    )  # fmt: skip


def _progress(context):
    return lambda message: context.log.info(message)


def _spec(asset: str) -> list[dg.AssetCheckSpec]:
    name, description = SHARD_CHECKS[asset]
    return [dg.AssetCheckSpec(name, asset=asset, description=description, blocking=True)]


def build_assets(n_shards: int) -> list[dg.AssetsDefinition]:
    shards = shard_partitions(n_shards)

    @dg.asset(io_manager_key="parquet_io", group_name="data")
    def vocab(
        context: dg.AssetExecutionContext, settings: SplatSettings, config: StepConfig
    ) -> dg.Output:
        """Ability and weapon vocabularies, and the weapon table."""
        with settings.staging(context) as out:
            meta = steps.vocab_step(out, settings.config(config))
        return dg.Output(Staged(out, meta), metadata=meta)

    @dg.asset(io_manager_key="parquet_io", group_name="data", deps=[vocab])
    def builds(
        context: dg.AssetExecutionContext, settings: SplatSettings, config: StepConfig
    ) -> dg.Output:
        """Full builds: synthetic (seeded) or a validated SplatNLP tokenized_data.csv."""
        with settings.staging(context) as out:
            meta = steps.builds_step(out, settings.config(config), _progress(context))
        return dg.Output(Staged(out, meta), metadata=meta)

    @dg.asset(io_manager_key="parquet_io", group_name="data", partitions_def=shards,
              check_specs=_spec("samples"))  # fmt: skip
    def samples(
        context: dg.AssetExecutionContext, settings: SplatSettings, config: StepConfig, builds
    ):
        """Deterministic partial builds of one shard of builds."""
        with settings.staging(context) as out:
            shard = int(context.partition_key)
            meta, outcome = steps.samples_step(out, builds, shard, settings.config(config))
        yield dg.Output(Staged(out, meta), metadata=meta)
        yield _result("samples_consistent", outcome)

    @dg.asset(io_manager_key="checkpoint_io", group_name="model")
    def base_model(
        context: dg.AssetExecutionContext, settings: SplatSettings, config: StepConfig, builds
    ):
        """SetCompletionModel trained on the builds, or imported from a reference checkpoint."""
        with settings.staging(context) as out:
            meta = steps.base_model_step(out, builds, settings.config(config), _progress(context))
        return dg.Output(Staged(out, meta), metadata=_flat(meta))

    @dg.asset(io_manager_key="zarr_io", group_name="model", partitions_def=shards,
              check_specs=_spec("pooled"))  # fmt: skip
    def pooled(
        context: dg.AssetExecutionContext,
        settings: SplatSettings,
        config: StepConfig,
        base_model,
        samples,
    ):
        """The model's masked-mean vector of every sample in the shard."""
        with settings.staging(context) as out:
            meta, outcome = steps.pooled_step(out, base_model, samples, settings.config(config))
        yield dg.Output(Staged(out, meta), metadata=meta)
        yield _result("pooled_finite", outcome)

    @dg.asset(io_manager_key="checkpoint_io", group_name="sae", automation_condition=EAGER)
    def sae(
        context: dg.AssetExecutionContext,
        settings: SplatSettings,
        config: StepConfig,
        pooled,
        samples,
        builds,
        base_model,
    ):
        """Sparse autoencoder on all pooled vectors (trained, or a reference import)."""
        with settings.staging(context) as out:
            meta = steps.sae_step(
                out,
                pooled,
                samples,
                builds,
                base_model,
                settings.config(config),
                _progress(context),
            )
        return dg.Output(Staged(out, meta), metadata=_flat(meta))

    @dg.asset(io_manager_key="zarr_io", group_name="sae", partitions_def=shards,
              check_specs=_spec("activations"), automation_condition=EAGER)  # fmt: skip
    def activations(
        context: dg.AssetExecutionContext, settings: SplatSettings, config: StepConfig, sae, pooled
    ):
        """SAE activations of the shard's samples, sparse CSR."""
        with settings.staging(context) as out:
            meta, outcome = steps.activations_step(out, sae, pooled, settings.config(config))
        yield dg.Output(Staged(out, meta), metadata=meta)
        yield _result("csr_valid", outcome)

    @dg.asset(io_manager_key="zarr_io", group_name="sae", automation_condition=EAGER)
    def feature_store(
        context: dg.AssetExecutionContext,
        settings: SplatSettings,
        config: StepConfig,
        activations,
        sae,
    ):
        """Feature-major CSC copy of all activations, each feature's entries highest first."""
        with settings.staging(context) as out:
            meta = steps.feature_store_step(out, activations, sae, settings.config(config),
                                            _progress(context))  # fmt: skip
        return dg.Output(Staged(out, meta), metadata=_flat(meta))

    return [vocab, builds, samples, base_model, pooled, sae, activations, feature_store]
