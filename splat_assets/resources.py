"""Settings shared by every asset: where SPLAT_HOME is and which profile applies."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from splat_assets.partitions import location
from splat_core.pipeline.config import SplatConfig, home_config, load_config
from splat_core.store import homes, lock, publishing
from splat_core.store.contract import DEFAULT_SAE
from splat_core.store.homes import splat_home

if TYPE_CHECKING:
    import duckdb


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

    def config(self, run: StepConfig | None = None, sae: str = DEFAULT_SAE) -> SplatConfig:
        """The profile with the deployment's overrides, then the run's own, then the SAE
        variant's settings (store/variants.py; the default variant has none)."""
        overrides = [*self.overrides, *(run.overrides if run else [])]
        if sae == DEFAULT_SAE:
            return load_config(self.profile, overrides)
        return home_config(self.home_path(), self.profile, overrides, sae)

    def home_path(self) -> Path | str:
        """The home as a Path, or as its URL when it is remote (splat_core.store.homes)."""
        return homes.normalize(self.home)

    @contextmanager
    def staging(self, context: dg.AssetExecutionContext) -> Iterator[Path]:
        """A fresh directory for the (unpartitioned) asset being materialized, removed if
        the block fails; the IO manager publishes it as the new version."""
        keys = list(context.partition_keys) if context.has_partition_key else [None]
        with self._staging(context, keys) as dirs:
            (out,) = dirs.values()
            yield out

    @contextmanager
    def shard_staging(self, context: dg.AssetExecutionContext) -> Iterator[dict[str, Path]]:
        """{partition key: fresh directory} for every partition of the run (one, or a range
        in a single-run backfill), all removed if the block fails."""
        with self._staging(context, list(context.partition_keys)) as dirs:
            yield dirs

    @contextmanager
    def _staging(self, context, partitions: list[str | None]) -> Iterator[dict]:
        """The step holds the home's writer lock (its run's coordinator holds it already, or
        the step takes it, waiting up to STEP_LOCK_WAIT_S for another run, and gives it back
        once published)."""
        home, owner = self.home_path(), writer(context)
        publishing.hold(home, owner, wait_s=STEP_LOCK_WAIT_S)
        name = context.asset_key.path[-1]
        try:
            with ExitStack() as stack:
                yield {
                    p if p is None else str(p): stack.enter_context(
                        publishing.staged(home, *location(name, p)[:2])
                    )
                    for p in partitions
                }
        except BaseException:
            if not coordinated(context):
                lock.release(home, owner)
            raise


STEP_LOCK_WAIT_S = 60.0  # a step waits this long for another run to release the home
WRITER_TAG = "splat/writer"  # on the runs of one coordinated graph run (runner.py)


def coordinated(context) -> str | None:
    """The coordinator of the graph run this step belongs to (the SPLAT_WRITER of this
    process, or its run's tag: workers of other processes); None for a run of its own."""
    return publishing.current_owner() or context.run.tags.get(WRITER_TAG)


def writer(context) -> str:
    """Who writes for this step: its coordinator, else this Dagster run."""
    return coordinated(context) or f"dagster-{context.run.run_id}"


def default_settings() -> SplatSettings:
    return SplatSettings(
        home=str(homes.resolve(splat_home())),
        profile=os.environ.get("SPLAT_PROFILE", "default"),
        overrides=overrides_from_env(),
    )


class DuckDBResource(dg.ConfigurableResource):
    """SQL for assets that want it: `get_connection()` yields a read-only DuckDB connection
    with a view of every Parquet table of the home's served generation, the vocabulary and
    the labels (splat_core/query/sql.py). Named and used like dagster-duckdb's resource
    (`with duckdb.get_connection() as con:`), which splat does not depend on."""

    home: str

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        from splat_core.query import sql  # loads torch: only when an asset asks

        con = sql.connect(homes.normalize(self.home))
        try:
            yield con
        finally:
            con.close()
