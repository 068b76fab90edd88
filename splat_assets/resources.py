"""Settings shared by every asset: where SPLAT_HOME is and which profile applies."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from splat_core.pipeline.config import SplatConfig, load_config
from splat_core.store import catalog, homes
from splat_core.store.homes import splat_home


def overrides_from_env() -> list[str]:
    """`SPLAT_OVERRIDES`: `section.field=value` items separated by `;`."""
    raw = os.environ.get("SPLAT_OVERRIDES", "")
    return [item.strip() for item in raw.split(";") if item.strip()]


class StepConfig(dg.Config):
    """Per-run settings of an asset, set from the launchpad: config overrides such as
    `sae.arch=relu` or `train.epochs=5` (see splat_core/pipeline/config.py for every section)."""

    overrides: list[str] = []


class SplatSettings(dg.ConfigurableResource):
    """The root of materialized assets and the config profile (plus overrides)."""

    home: str
    profile: str = "default"
    overrides: list[str] = []

    def config(self, run: StepConfig | None = None) -> SplatConfig:
        """The profile with the deployment's overrides, then the run's own."""
        return load_config(self.profile, [*self.overrides, *(run.overrides if run else [])])

    def home_path(self) -> Path | str:
        """The home as a Path, or as its URL when it is remote (splat_core.store.homes)."""
        return homes.normalize(self.home)

    def staging(self, context: dg.AssetExecutionContext):
        """A fresh directory for the asset (partition) being materialized, removed if the
        block fails; the IO manager publishes it as the new version."""
        partition = context.partition_key if context.has_partition_key else None
        return catalog.staged(self.home_path(), context.asset_key.path[-1], partition)


def default_settings() -> SplatSettings:
    return SplatSettings(
        home=str(homes.resolve(splat_home())),
        profile=os.environ.get("SPLAT_PROFILE", "default"),
        overrides=overrides_from_env(),
    )
