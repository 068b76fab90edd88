"""The asset graph up to the feature store. Each body calls one splat_core step; names,
groups, IO managers, partitions and checks come from the asset contract (specs.py)."""

import dagster as dg

from splat_assets.partitions import Partitions, sae_of
from splat_assets.resources import SplatSettings, StepConfig
from splat_assets.specs import published, shard_step, splat_asset
from splat_core.pipeline import steps


def _progress(context: dg.AssetExecutionContext):
    return lambda message: context.log.info(message)


def build_assets(parts: Partitions) -> list[dg.AssetsDefinition]:

    @splat_asset("vocab", parts)
    def vocab(context: dg.AssetExecutionContext, settings: SplatSettings, config: StepConfig):
        with settings.staging(context) as out:
            meta = steps.vocab_step(out, cfg := settings.config(config))
        return published(context, out, meta, cfg)

    @splat_asset("builds", parts)
    def builds(context: dg.AssetExecutionContext, settings: SplatSettings, config: StepConfig):
        with settings.staging(context) as out:
            meta = steps.builds_step(out, cfg := settings.config(config), _progress(context))
        return published(context, out, meta, cfg)

    @splat_asset("samples", parts)
    def samples(context: dg.AssetExecutionContext, settings: SplatSettings, config: StepConfig,
                builds):  # fmt: skip
        yield from shard_step(context, settings, config, {"builds": builds})

    @splat_asset("base_model", parts)
    def base_model(context: dg.AssetExecutionContext, settings: SplatSettings,
                   config: StepConfig, builds):  # fmt: skip
        with settings.staging(context) as out:
            cfg = settings.config(config)
            meta = steps.base_model_step(out, builds, cfg, _progress(context))
        return published(context, out, meta, cfg)

    @splat_asset("pooled", parts)
    def pooled(context: dg.AssetExecutionContext, settings: SplatSettings, config: StepConfig,
               base_model, samples):  # fmt: skip
        yield from shard_step(context, settings, config,
                              {"base_model": base_model, "samples": samples})  # fmt: skip

    @splat_asset("sae", parts)
    def sae(context: dg.AssetExecutionContext, settings: SplatSettings, config: StepConfig,
            pooled, samples, builds, base_model):  # fmt: skip
        with settings.staging(context) as out:
            cfg = settings.config(config, sae_of(context))
            meta = steps.sae_step(out, pooled, samples, builds, base_model, cfg,
                                  _progress(context))  # fmt: skip
        return published(context, out, meta, cfg)

    @splat_asset("activations", parts)
    def activations(context: dg.AssetExecutionContext, settings: SplatSettings,
                    config: StepConfig, sae, pooled):  # fmt: skip
        yield from shard_step(context, settings, config, {"sae": sae, "pooled": pooled})

    @splat_asset("feature_store", parts)
    def feature_store(context: dg.AssetExecutionContext, settings: SplatSettings,
                      config: StepConfig, activations, sae):  # fmt: skip
        with settings.staging(context) as out:
            cfg = settings.config(config, sae_of(context))
            meta = steps.feature_store_step(out, activations, sae, cfg, _progress(context))
        return published(context, out, meta, cfg)

    return [vocab, builds, samples, base_model, pooled, sae, activations, feature_store]
