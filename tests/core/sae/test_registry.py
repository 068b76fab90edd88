"""The architecture registry: a config's arch builds its class, a saved sae_config.json
loads back into it, and the config's choices are exactly the registered names."""

from __future__ import annotations

import json

import pytest

from splat_core.choices import choices
from splat_core.sae import ARCHITECTURES, SAEConfig, build_sae, load_sae, register_sae, save_sae
from splat_core.sae.registry import sae_class
from tests.helpers import ALL_ARCHITECTURES, gen


def test_config_choices_are_the_registered_architectures():
    assert set(choices(SAEConfig, "arch")) == set(ARCHITECTURES) == {
        "relu", "topk", "batchtopk", "jumprelu", "matryoshka"}  # fmt: skip


@pytest.mark.parametrize("arch", ALL_ARCHITECTURES)
def test_a_saved_config_names_its_architecture_and_loads_into_its_class(tmp_path, arch):
    config = SAEConfig(arch=arch, input_dim=8, n_features=24, k=3)
    sae = build_sae(config, gen())
    assert type(sae) is ARCHITECTURES[arch] and sae.arch == arch
    path = save_sae(tmp_path / arch, sae, config)
    assert json.loads((path / "sae_config.json").read_text())["arch"] == arch
    assert type(load_sae(path)) is ARCHITECTURES[arch]


def test_registering_twice_and_unknown_names_fail():
    with pytest.raises(ValueError, match="already registered"):
        register_sae(ARCHITECTURES["topk"])
    with pytest.raises(ValueError, match="unknown sae arch 'gated'; known: relu, topk, batchtopk"):
        sae_class("gated")
    with pytest.raises(
        ValueError, match="arch must be one of 'relu', 'topk', 'batchtopk', .*got 'gated'"
    ):
        SAEConfig(arch="gated")
