"""The analysis group: one asset per analysis step of splat_core, all built by one factory
from the asset contract (inputs = the spec's deps, one blocking check each)."""

import dagster as dg

from splat_assets.partitions import Partitions, sae_of
from splat_assets.resources import SplatSettings, StepConfig
from splat_assets.specs import published_and_checked, splat_asset
from splat_core.pipeline.analysis_steps import ANALYSIS_STEPS
from splat_core.store import contract


def analysis_asset(name: str, parts: Partitions) -> dg.AssetsDefinition:
    step = ANALYSIS_STEPS[name]
    ins = {dep: dg.AssetIn(dep) for dep in contract.spec(name).deps}  # mapped by splat_asset

    @splat_asset(name, parts, ins=ins, checked_in_body=True)
    def _asset(context: dg.AssetExecutionContext, settings: SplatSettings, config: StepConfig,
               **inputs):  # fmt: skip
        with settings.staging(context) as out:
            cfg = settings.config(config, sae_of(context))
            result = step(out, inputs, cfg, context.log.info)
        yield from published_and_checked(context, settings, out, result, cfg)

    return _asset


def build_analysis_assets(parts: Partitions) -> list[dg.AssetsDefinition]:
    return [
        analysis_asset(name, parts) for name in contract.ANALYSIS_ASSETS if name in ANALYSIS_STEPS
    ]  # TEMP
