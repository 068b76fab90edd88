"""The analysis group: precomputed, checked views of every feature (one splat_core step each)."""

import dagster as dg

from splat_assets.io_managers import Staged
from splat_assets.metadata import dagster_metadata
from splat_assets.resources import SplatSettings, StepConfig
from splat_core import steps_analysis as steps
from splat_core.checks import CheckOutcome

EAGER = dg.AutomationCondition.eager()


def _check(asset: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(f"{asset}_valid", asset=asset, blocking=True,
                              description="feature ids in range and sorted, no NaN")]  # fmt: skip


def _done(out, meta: dict, asset: str, outcome: CheckOutcome):
    yield dg.Output(Staged(out, meta), metadata=dagster_metadata(meta))
    yield dg.AssetCheckResult(check_name=f"{asset}_valid", passed=outcome.passed,
                              metadata=dagster_metadata(outcome.metadata))  # fmt: skip


def _table(out, asset: str):
    import pyarrow.parquet as pq

    return pq.read_table(out / f"{asset}.parquet")


def build_analysis_assets() -> list[dg.AssetsDefinition]:
    common = {"io_manager_key": "parquet_io", "group_name": "analysis",
              "automation_condition": EAGER}  # fmt: skip

    @dg.asset(**common, check_specs=_check("feature_stats"))
    def feature_stats(context: dg.AssetExecutionContext, settings: SplatSettings,
                      config: StepConfig, feature_store):  # fmt: skip
        """Per feature: count, density, mean, std, max and quantiles of its activations."""
        with settings.staging(context) as out:
            meta = steps.feature_stats_step(out, feature_store, settings.config(config))
            outcome = steps.check_table(_table(out, "feature_stats"), feature_store.n_features)
        yield from _done(out, meta, "feature_stats", outcome)

    @dg.asset(**common, check_specs=_check("feature_histograms"))
    def feature_histograms(context: dg.AssetExecutionContext, settings: SplatSettings,
                           config: StepConfig, feature_store):  # fmt: skip
        """Per feature: bins over its nonzero range (counts sum to its activations)."""
        with settings.staging(context) as out:
            meta = steps.feature_histograms_step(out, feature_store, settings.config(config))
            outcome = steps.check_histograms(_table(out, "feature_histograms"), feature_store)
        yield from _done(out, meta, "feature_histograms", outcome)

    @dg.asset(**common, check_specs=_check("token_idf"))
    def token_idf(context: dg.AssetExecutionContext, settings: SplatSettings,
                  config: StepConfig, samples):  # fmt: skip
        """idf(t) = ln(N+1) - ln(df(t)+1) over all samples, with df."""
        with settings.staging(context) as out:
            meta = steps.token_idf_step(out, samples, settings.config(config))
            outcome = steps.check_table(_table(out, "token_idf"), 0)
        yield from _done(out, meta, "token_idf", outcome)

    @dg.asset(**common, check_specs=_check("feature_tokens"))
    def feature_tokens(context: dg.AssetExecutionContext, settings: SplatSettings,
                       config: StepConfig, feature_store, samples, token_idf):  # fmt: skip
        """Per feature: token enrichment among its top activations, and TF-IDF."""
        with settings.staging(context) as out:
            meta = steps.feature_tokens_step(out, feature_store, samples, token_idf,
                                             settings.config(config))  # fmt: skip
            outcome = steps.check_table(_table(out, "feature_tokens"), feature_store.n_features)
        yield from _done(out, meta, "feature_tokens", outcome)

    @dg.asset(**common, check_specs=_check("feature_weapons"))
    def feature_weapons(context: dg.AssetExecutionContext, settings: SplatSettings,
                        config: StepConfig, feature_store, samples):  # fmt: skip
        """Per feature: weapon, class, sub and special breakdown of its top activations."""
        with settings.staging(context) as out:
            meta = steps.feature_weapons_step(out, feature_store, samples, settings.config(config))
            outcome = steps.check_table(_table(out, "feature_weapons"), feature_store.n_features)
        yield from _done(out, meta, "feature_weapons", outcome)

    @dg.asset(**common, check_specs=_check("feature_influence"))
    def feature_influence(context: dg.AssetExecutionContext, settings: SplatSettings,
                          config: StepConfig, base_model, sae, vocab):  # fmt: skip
        """W_out . W_dec: logit change per unit of each feature, and its top +/- tokens."""
        with settings.staging(context) as out:
            meta = steps.feature_influence_step(out, base_model, sae, vocab[0],
                                                settings.config(config))  # fmt: skip
            outcome = steps.check_table(_table(out, "feature_influence"), sae.n_features)
        yield from _done(out, meta, "feature_influence", outcome)

    @dg.asset(**common, check_specs=_check("feature_neighbors"))
    def feature_neighbors(context: dg.AssetExecutionContext, settings: SplatSettings,
                          config: StepConfig, feature_store, sae):  # fmt: skip
        """Per feature: decoder-cosine and co-activation (Jaccard) neighbours."""
        with settings.staging(context) as out:
            meta = steps.feature_neighbors_step(out, feature_store, sae, settings.config(config))
            outcome = steps.check_table(_table(out, "feature_neighbors"), feature_store.n_features)
        yield from _done(out, meta, "feature_neighbors", outcome)

    return [feature_stats, feature_histograms, token_idf, feature_tokens, feature_weapons,
            feature_influence, feature_neighbors]  # fmt: skip
