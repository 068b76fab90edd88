"""Architectures by name (SAELens' habit): each SAE class registers under its `arch`, and a
saved sae_config.json's "arch" picks the class that rebuilds it. The registrations happen
in splat_core/sae/__init__.py; a config's `arch` choices are the registered names (tested)."""

from __future__ import annotations

import torch

from splat_core.sae.base import SparseAutoencoder
from splat_core.sae.config import SAEConfig

ARCHITECTURES: dict[str, type[SparseAutoencoder]] = {}


def register_sae(cls: type[SparseAutoencoder]) -> type[SparseAutoencoder]:
    """Register an architecture under `cls.arch` (once)."""
    if cls.arch in ARCHITECTURES:
        raise ValueError(f"sae arch {cls.arch!r} is already registered")
    ARCHITECTURES[cls.arch] = cls
    return cls


def sae_class(arch: str) -> type[SparseAutoencoder]:
    try:
        return ARCHITECTURES[arch]
    except KeyError:
        known = ", ".join(ARCHITECTURES)
        raise ValueError(f"unknown sae arch {arch!r}; known: {known}") from None


def build_sae(config: SAEConfig, generator: torch.Generator | None = None) -> SparseAutoencoder:
    """A freshly initialised SAE for a resolved config (input_dim and n_features set)."""
    if config.input_dim < 1:
        raise ValueError("sae input_dim is unset; call config.resolved(d) first")
    return sae_class(config.arch).from_config(config, generator)
