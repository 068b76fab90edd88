"""Errors of the query layer: unknown ids and SAE variants (KeyError-derived), missing
assets, and damaged files (DamagedError, from the store's checksums)."""

from __future__ import annotations

from pathlib import Path

from splat_core.store.integrity import DamagedError
from splat_core.store.variants import UnknownVariantError

__all__ = [
    "DamagedError",
    "MissingAssetError",
    "UnknownFeatureError",
    "UnknownSAEError",
    "UnknownSampleError",
]


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


class UnknownSAEError(UnknownVariantError):
    """An SAE variant the served generation does not hold (completely): `known` names the
    ones it does."""

    def __init__(self, name: str, known: list[str]):
        self.name, self.known = name, list(known)
        held = ", ".join(self.known) or "none"
        KeyError.__init__(self, f"SAE variant {name!r} is not in the served generation; "
                          f"it holds: {held}")  # fmt: skip
