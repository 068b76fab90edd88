"""Errors of the query layer: unknown ids (KeyError-derived), missing assets, and damaged
files (DamagedError, from the store's checksums)."""

from __future__ import annotations

from pathlib import Path

from splat_core.store.integrity import DamagedError

__all__ = ["DamagedError", "MissingAssetError", "UnknownFeatureError", "UnknownSampleError"]


class UnknownFeatureError(KeyError):
    """A feature id outside [0, n_features)."""

    def __init__(self, feature, n_features: int | None = None):
        self.feature = feature
        where = f" [0, {n_features})" if n_features is not None else ""
        super().__init__(f"unknown feature id {feature!r}: not in{where or ' the feature store'}")

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownSampleError(KeyError):
    """A sample id that no materialized shard holds."""

    def __init__(self, sample, n_samples: int | None = None):
        self.sample = sample
        where = f" [0, {n_samples})" if n_samples is not None else " any shard"
        super().__init__(f"unknown sample id {sample!r}: not in{where}")

    def __str__(self) -> str:
        return str(self.args[0])


class MissingAssetError(FileNotFoundError):
    """An asset the query needs has no materialized version under the home."""

    def __init__(self, asset: str, home: str | Path):
        self.asset, self.home = asset, str(home)
        super().__init__(f"{asset} is not materialized under {home}; run `splat materialize`")

    def __str__(self) -> str:
        return str(self.args[0])
