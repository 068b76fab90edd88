"""Asset checks on the unpartitioned assets and on each SAE variant's; each re-reads the
published data, so it can be re-run from the UI against the current version. Blocking where
a wrong result flows on. Names and descriptions are the asset contract's; the checks
themselves are splat_core's."""

import warnings
from collections.abc import Callable
from dataclasses import asdict

import dagster as dg

from splat_assets.partitions import Partitions
from splat_assets.resources import SplatSettings
from splat_assets.specs import check_result
from splat_core.pipeline import checks
from splat_core.sae import read_metrics
from splat_core.store import catalog, contract
from splat_core.store.artifacts import open_artifact, open_current


def splat_check(asset: str, which: int = 0, parts: Partitions | None = None, **extra) -> Callable:
    """`@dg.asset_check` named and described by one of the asset's checks in the contract
    (0: its data check, 1: its integrity check); one per SAE variant for a per-SAE asset."""
    check = contract.spec(asset).checks[which]
    by_sae = parts.saes if parts is not None and contract.spec(asset).per_sae else None
    decorate = dg.asset_check(asset=asset, name=check.name, description=check.description,
                              blocking=True, partitions_def=by_sae, **extra)  # fmt: skip

    def checked(fn: Callable) -> dg.AssetChecksDefinition:
        with warnings.catch_warnings():  # partitioned checks are a "preview" in 1.13 (pinned)
            warnings.simplefilter("ignore", dg.PreviewWarning)
            return decorate(fn)

    return checked


@splat_check("vocab")
def vocab_valid(vocab) -> dg.AssetCheckResult:
    return check_result(checks.check_vocab(vocab))


@splat_check("builds")
def builds_valid(builds) -> dg.AssetCheckResult:
    return check_result(checks.check_builds(builds))


@splat_check("base_model")
def base_model_finite(base_model) -> dg.AssetCheckResult:
    return check_result(checks.check_finite_weights(base_model))


def variant_checks(parts: Partitions) -> list[dg.AssetChecksDefinition]:
    """The SAE's quality and the feature store's invariants, per SAE variant, on what is
    published (so the UI can re-run them against the current version)."""

    @splat_check("sae", parts=parts)
    def sae_quality(context: dg.AssetCheckExecutionContext, settings: SplatSettings):
        sae = _sae(context)
        home = settings.home_path()
        metrics = read_metrics(catalog.current_path(home, contract.stored_name("sae", sae)))
        bounds = asdict(settings.config(sae=sae).sae_eval)
        return check_result(checks.check_sae_quality(metrics, bounds))

    @splat_check("feature_store", parts=parts)
    def feature_store_valid(context: dg.AssetCheckExecutionContext, settings: SplatSettings):
        home, sae = settings.home_path(), _sae(context)
        store = open_artifact(
            catalog.current_path(home, contract.stored_name("feature_store", sae))
        )
        shards = open_current(home, contract.stored_name("activations", sae))
        return check_result(checks.check_feature_store(store, [shards[k] for k in sorted(shards)]))

    return [sae_quality, feature_store_valid]


def intact_check(asset: str, parts: Partitions) -> dg.AssetChecksDefinition:
    """The asset's current version (its SAE variant's) against its checksums, every byte read."""

    @splat_check(asset, 1, parts=parts)
    def _intact(context: dg.AssetCheckExecutionContext, settings: SplatSettings):
        stored = contract.stored_name(asset, _sae(context))
        return check_result(checks.check_intact(catalog.current_path(settings.home_path(), stored)))

    return _intact


def _sae(context: dg.AssetCheckExecutionContext) -> str:
    """The SAE variant a check runs for (a per-SAE asset's checks are partitioned by it)."""
    return context.partition_key if context.has_partition_key else contract.DEFAULT_SAE


def build_checks(parts: Partitions) -> list[dg.AssetChecksDefinition]:
    """Every separate check: the shard assets check in their bodies (specs.py)."""
    intact = [intact_check(a.name, parts) for a in contract.ASSETS if not a.partitioned]
    return [*DATA_CHECKS, *variant_checks(parts), *intact]


DATA_CHECKS = [vocab_valid, builds_valid, base_model_finite]
