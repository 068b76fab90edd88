"""A home with two genuinely different SAE variants: a copy of the session's tiny home
(tests/conftest.py) plus variant `alt` (another width and k), materialized by the runner
(each per-SAE asset published as `<asset>@alt`, and the comparison of both), so
GENERATION.json serves both.

Import the fixture into a test module: `from tests.variant_home import variant_home`. It is
built once per test process (the session fixture of every module that imports it shares the
build) and is read-only: copy it (`private_copy`) before writing labels into it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import torch

from splat_core.store import catalog, generations, variants
from splat_core.store.artifacts import open_artifact
from splat_core.store.contract import DEFAULT_SAE, PER_SAE_ASSETS, stored_name

ALT = "alt"
# tiny's SAE is topk with 64 features and k=4: alt is half as wide and sparser
ALT_SETTINGS = ("sae.n_features=32", "sae.k=3", "sae.aux_k=8", "sae.epochs=10")
ALT_FEATURES = 32

_BUILT: dict[str, Path] = {}


def publish_variant(home: Path) -> None:
    """Define variant alt in `home` (a tiny home) and materialize it as `splat materialize`
    does: the runner plans what is missing (alt's per-SAE assets, and the comparison of the
    home's SAEs, now with a new input) and runs it on a Dagster instance."""
    from splat_assets import definitions
    from splat_assets.resources import SplatSettings
    from splat_assets.runner import materialize_graph

    variants.define(home, ALT, list(ALT_SETTINGS))
    defs = definitions.build_definitions(SplatSettings(home=str(home), profile="tiny"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = materialize_graph(defs, dg.DagsterInstance.ephemeral(), progress=lambda _m: None)
    finally:
        torch.set_num_threads(threads)
    ran = set(run.seconds)
    assert ran == {*PER_SAE_ASSETS, "sae_comparison"}, ran  # nothing shared was recomputed


def build_variant_home(tiny_home: Path, target: Path) -> Path:
    shutil.copytree(tiny_home, target, symlinks=True)
    publish_variant(target)
    return target


@pytest.fixture(scope="session")
def comparison_home(variant_home) -> Path:
    """The variant home: its `sae_comparison` compares default and alt (read-only)."""
    return variant_home


def private_copy(variant_home: Path, target: Path) -> Path:
    """A copy of the variant home a test may write into (labels)."""
    shutil.copytree(variant_home, target, symlinks=True)
    return target


@pytest.fixture(scope="session")
def variant_home(tiny_home, tmp_path_factory) -> Path:
    """The tiny home with variant alt beside the default one (read-only)."""
    key = str(tiny_home)
    if key not in _BUILT:
        _BUILT[key] = build_variant_home(tiny_home, tmp_path_factory.mktemp("variants") / "home")
    return _BUILT[key]


def served_dir(home: Path, asset: str, sae: str, shard: str | None = None) -> Path:
    """The version directory of variant `sae`'s `asset` (shard) in the served generation,
    found from GENERATION.json and the directory layout, not through a Reader."""
    name = stored_name(asset, sae)
    key = name if shard is None else f"{name}/{shard}"
    version = generations.served(home)["versions"][key]
    return Path(catalog.version_path(home, name, version, shard))


def dense_activations(home: Path, sae: str) -> np.ndarray:
    """[n_samples, n_features]: variant `sae`'s SAE run on every pooled vector, directly."""
    model = open_artifact(served_dir(home, "sae", sae))
    keys = sorted(k.split("/")[1] for k in generations.served(home)["versions"]
                  if k.startswith("pooled/"))  # fmt: skip
    pooled = [open_artifact(served_dir(home, "pooled", DEFAULT_SAE, k)) for k in keys]
    pooled.sort(key=lambda p: int(p.attrs["sample_start"]))
    x = np.concatenate([np.asarray(p[:]) for p in pooled])
    with torch.no_grad():
        return model.encode(torch.from_numpy(x)).numpy()
