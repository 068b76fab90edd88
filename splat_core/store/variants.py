"""The SAE variants of a home: their names and settings, in `<home>/SAE_VARIANTS.json`.

A variant is an SAE trained on the home's shared pooled vectors with its own `sae.*`
settings over the profile's (`wide`: `sae.arch=topk`, `sae.n_features=1024`, ...), and its own
per-SAE assets (contract.PER_SAE_ASSETS, stored as `<asset>@<variant>`). The `default`
variant is always there, with the profile's settings, under the plain asset names; it is
never written to the file. The names are the Dagster dynamic partitions of the per-SAE
assets (splat_assets/specs.py); the settings are fingerprinted into each version's lineage
through its config, so editing a variant makes its assets stale.
"""

from __future__ import annotations

import json

from splat_core.store import catalog
from splat_core.store.contract import DEFAULT_SAE, check_sae_name
from splat_core.store.homes import HomeLike

VARIANTS_FILE = "SAE_VARIANTS.json"


class UnknownVariantError(KeyError):
    """An SAE variant the home does not define."""

    def __init__(self, name: str, known: list[str]):
        self.name, self.known = name, known
        super().__init__(f"no SAE variant {name!r}; this home has: {', '.join(known)}")

    def __str__(self) -> str:
        return self.args[0]


def defined(home: HomeLike) -> dict[str, tuple[str, ...]]:
    """{variant: its settings}, `default` first (no settings: the profile's)."""
    text = catalog.read_home_file(home, VARIANTS_FILE)
    saved = json.loads(text)["variants"] if text else {}
    return {DEFAULT_SAE: (), **{n: tuple(v["settings"]) for n, v in sorted(saved.items())}}


def settings_of(home: HomeLike, name: str) -> tuple[str, ...]:
    """A variant's settings; UnknownVariantError naming the home's variants."""
    variants = defined(home)
    if name not in variants:
        raise UnknownVariantError(name, list(variants))
    return variants[name]


def define(home: HomeLike, name: str, settings: tuple[str, ...] | list[str]) -> bool:
    """Add or redefine a variant; True if anything changed. Settings are `sae.field=value`
    items (checked against the config by the caller, pipeline.sae_variants)."""
    check_sae_name(name)
    if name == DEFAULT_SAE:
        raise ValueError(f"{DEFAULT_SAE!r} is the profile's own SAE: change the profile or "
                         "its overrides instead")  # fmt: skip
    variants = {n: list(s) for n, s in defined(home).items() if n != DEFAULT_SAE}
    if variants.get(name) == list(settings):
        return False
    variants[name] = list(settings)
    _write(home, variants)
    return True


def forget(home: HomeLike, name: str) -> None:
    """Remove a variant's definition (its published versions stay until removed)."""
    variants = {n: list(s) for n, s in defined(home).items() if n != DEFAULT_SAE}
    if name not in variants:
        raise UnknownVariantError(name, [DEFAULT_SAE, *variants])
    del variants[name]
    _write(home, variants)


def _write(home: HomeLike, variants: dict[str, list[str]]) -> None:
    body = {"variants": {n: {"settings": s} for n, s in sorted(variants.items())}}
    catalog.write_home_file(home, VARIANTS_FILE, json.dumps(body, indent=1) + "\n")
