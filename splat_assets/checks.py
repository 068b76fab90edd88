"""Asset checks on the non-partitioned assets; each re-reads the published data, so it can
be re-run from the UI against the current version. Blocking where a wrong result flows on.
Names and descriptions are the asset contract's; the checks themselves are splat_core's."""

from collections.abc import Callable

import dagster as dg

from splat_assets.resources import SplatSettings
from splat_assets.specs import check_result
from splat_core.pipeline import checks
from splat_core.sae import read_metrics
from splat_core.store import catalog, contract


def splat_check(asset: str, which: int = 0, **extra) -> Callable:
    """`@dg.asset_check` named and described by one of the asset's checks in the contract
    (0: its data check, 1: its integrity check)."""
    check = contract.spec(asset).checks[which]
    return dg.asset_check(asset=asset, name=check.name, description=check.description,
                          blocking=True, **extra)  # fmt: skip


@splat_check("vocab")
def vocab_valid(vocab) -> dg.AssetCheckResult:
    return check_result(checks.check_vocab(vocab))


@splat_check("builds")
def builds_valid(builds) -> dg.AssetCheckResult:
    return check_result(checks.check_builds(builds))


@splat_check("base_model")
def base_model_finite(base_model) -> dg.AssetCheckResult:
    return check_result(checks.check_finite_weights(base_model))


@splat_check("sae")
def sae_quality(sae, settings: SplatSettings) -> dg.AssetCheckResult:
    metrics = read_metrics(catalog.current_path(settings.home_path(), "sae"))
    bounds = settings.config().sae_eval
    return check_result(checks.check_sae_quality(metrics, bounds.__dict__))


@splat_check("feature_store", additional_ins={"activations": dg.AssetIn("activations")})
def feature_store_valid(feature_store, activations) -> dg.AssetCheckResult:
    shards = [activations[k] for k in sorted(activations)]
    return check_result(checks.check_feature_store(feature_store, shards))


def intact_check(asset: str) -> dg.AssetChecksDefinition:
    """The asset's current version against its checksums, every byte read."""

    @splat_check(asset, 1)
    def _intact(settings: SplatSettings) -> dg.AssetCheckResult:
        return check_result(checks.check_intact(catalog.current_path(settings.home_path(), asset)))

    return _intact


DATA_CHECKS = [vocab_valid, builds_valid, base_model_finite, sae_quality, feature_store_valid]
ALL_CHECKS = DATA_CHECKS + [intact_check(a.name) for a in contract.ASSETS if not a.partitioned]
