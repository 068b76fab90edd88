"""Profiles and overrides: every choice is checked where its field is declared, and an
override's error names `section.field`."""

from __future__ import annotations

import pytest

from splat_core.pipeline.config import DataConfig, SourceConfig, load_config


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("sae.arch=gated", "sae.arch must be one of 'relu', 'topk', 'batchtopk', .*got 'gated'"),
        ("sae.device=gpu", "sae.device must be one of 'auto', 'cpu', 'cuda', got 'gpu'"),
        ("train.device=tpu", "train.device must be one of 'auto', 'cpu', 'cuda', got 'tpu'"),
        ("data.source=csv", "data.source must be one of 'synthetic', 'reference', got 'csv'"),
        ("model.source=hub", "model.source must be one of 'trained', 'reference', got 'hub'"),
        ("sae_source.source=x", "sae_source.source must be one of 'trained', 'reference'"),
        ("sae.pre_bias_init=median", "sae.pre_bias_init must be one of 'geometric_median'"),
        ("sae.n_features=0", "sae.n_features must be >= 1, got 0"),
        ("sae.nope=1", "unknown setting sae.nope"),
        ("nope.x=1", "unknown config section 'nope'"),
        ("sae.k=two", "sae.k must be int, got 'two'"),
    ],
)
def test_bad_overrides_name_the_setting(override, message):
    with pytest.raises(ValueError, match=message):
        load_config("tiny", [override])


def test_choices_are_checked_by_the_dataclass_itself():
    with pytest.raises(ValueError, match="source must be one of 'synthetic', 'reference'"):
        DataConfig(source="csv")
    with pytest.raises(ValueError, match="source must be one of 'trained', 'reference'"):
        SourceConfig(source="hub")


def test_overrides_apply_and_ints_become_floats_for_float_settings():
    config = load_config("tiny", ["sae.lr=1", "sae.arch=relu", "samples.instances=2"])
    assert config.sae.lr == 1.0 and isinstance(config.sae.lr, float)
    assert config.sae.arch == "relu" and config.samples.instances == 2
    assert config.sae.n_features == 64  # the tiny profile, untouched


def test_a_list_override_sets_a_tuple_setting():
    config = load_config("tiny", ["sae.arch=matryoshka", "sae.matryoshka_widths=[8,32,64]"])
    assert config.sae.matryoshka_widths == (8, 32, 64)
    with pytest.raises(ValueError, match="strictly increasing"):
        load_config("tiny", ["sae.matryoshka_widths=[32,8]"])
