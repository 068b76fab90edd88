"""Asset checks on the non-partitioned assets; each re-reads the published data, so it can
be re-run from the UI against the current version. Blocking where a wrong result flows on."""

import dagster as dg

from splat_assets.metadata import dagster_metadata
from splat_assets.resources import SplatSettings
from splat_core import catalog, checks
from splat_core.sae import read_metrics
from splat_core.sparse import check_csc, check_nnz_conserved


def _result(outcome: checks.CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=outcome.passed, metadata=dagster_metadata(outcome.metadata))


@dg.asset_check(asset="vocab", blocking=True, description="<PAD> present, ids contiguous")
def vocab_valid(vocab) -> dg.AssetCheckResult:
    ability, weapons = vocab
    problems = [] if len(weapons) else ["empty weapon vocabulary"]
    return _result(checks.CheckOutcome.from_problems(problems, n_tokens=len(ability)))


@dg.asset_check(asset="builds", blocking=True, description="ids within vocabularies, no <PAD>")
def builds_valid(builds) -> dg.AssetCheckResult:
    return _result(checks.check_builds(builds))


@dg.asset_check(asset="base_model", blocking=True, description="finite weights")
def base_model_finite(base_model) -> dg.AssetCheckResult:
    return _result(checks.check_finite_weights(base_model))


@dg.asset_check(
    asset="sae",
    blocking=True,
    description="explained variance, loss recovered and dead fraction within bounds",
)
def sae_quality(sae, settings: SplatSettings) -> dg.AssetCheckResult:
    metrics = read_metrics(catalog.current_path(settings.home_path(), "sae"))
    bounds = settings.config().sae_eval
    return _result(checks.check_sae_quality(metrics, bounds.__dict__))


@dg.asset_check(asset="feature_store", blocking=True,
                additional_ins={"activations": dg.AssetIn("activations")},
                description="CSC invariants, descending order per feature, no NaN, "
                "nnz conserved from the CSR shards")  # fmt: skip
def feature_store_valid(feature_store, activations) -> dg.AssetCheckResult:
    problems = check_csc(feature_store)
    problems += check_nnz_conserved([activations[k] for k in sorted(activations)], feature_store)
    return _result(checks.CheckOutcome.from_problems(problems, nnz=int(feature_store.nnz)))


ALL_CHECKS = [vocab_valid, builds_valid, base_model_finite, sae_quality, feature_store_valid]
