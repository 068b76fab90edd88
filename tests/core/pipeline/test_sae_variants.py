"""SAE variants trained on a home's pooled vectors: the spec parser, and the table's rows
against the `sae` asset's own metrics and a direct reconstruction."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from splat_core.pipeline.config import load_config
from splat_core.pipeline.sae_variants import (
    Variant,
    load_home_inputs,
    measure_variant,
    parse_variant,
    variant_config,
    variant_table,
)
from splat_core.sae import train_sae
from splat_core.store.catalog import current_path


def test_parse_variant_maps_keys_to_sae_settings():
    v = parse_variant("wide arch=topk features=256 k=8")
    assert v == Variant("wide", ("sae.arch=topk", "sae.n_features=256", "sae.k=8"))
    assert parse_variant("plain") == Variant("plain", ())


@pytest.mark.parametrize(
    ("spec", "message"),
    [("arch=topk", "start with a name"), ("x arch", "key=value"), ("x k=", "key=value"),
     ("bad/name k=2", "start with a name")],
)  # fmt: skip
def test_parse_variant_refuses_bad_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_variant(spec)


def test_unknown_setting_names_the_variant():
    with pytest.raises(ValueError, match=r"variant 'x'.*unknown setting sae.wat"):
        variant_config("tiny", [], parse_variant("x wat=1"))


def test_repeated_names_are_refused(tiny_home):
    with pytest.raises(ValueError, match="repeat"):
        variant_table(tiny_home, "tiny", [], [Variant("a", ()), Variant("a", ())])


def test_the_home_default_variant_reproduces_the_sae_asset(tiny_home):
    """The tiny profile's own SAE, retrained by the table, gives the asset's metrics."""
    asset = json.loads((current_path(tiny_home, "sae") / "metrics.json").read_text())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the session fixture trained it: the same sums, bit for bit
    try:
        (row,) = variant_table(tiny_home, "tiny", [], [Variant("home", ())], lambda _m: None)
    finally:
        torch.set_num_threads(threads)
    for key in ("explained_variance", "loss_recovered", "mean_l0", "dead_fraction"):
        assert row[key] == pytest.approx(asset[key], abs=1e-6), key
    aurocs = [a["auroc"] for a in asset["archetype_auroc"].values()]
    assert row["auroc_min"] == pytest.approx(min(aurocs))
    assert row["auroc_median"] == pytest.approx(float(np.median(aurocs)))
    assert row["arch"] == "topk" and row["n_features"] == 64 and row["train_seconds"] > 0


def test_a_relu_variant_is_measured_on_its_own_sae(tiny_home):
    """EV and L0 of a relu variant, recomputed from an SAE trained directly."""
    config = variant_config("tiny", [], parse_variant("r arch=relu epochs=2"))
    inputs = load_home_inputs(tiny_home)
    row = measure_variant(inputs, config, lambda _m: None)
    sae, _ = train_sae(inputs.pooled, config.sae.resolved(inputs.pooled.shape[1]), lambda _m: None)
    with torch.no_grad():
        x = torch.from_numpy(inputs.pooled)
        x_hat, acts = sae(x)
    ev = 1 - ((x - x_hat) ** 2).sum() / ((x - x.mean(0)) ** 2).sum()
    assert row["arch"] == "relu" and row["k"] is None
    assert row["explained_variance"] == pytest.approx(float(ev), abs=1e-4)
    assert row["mean_l0"] == pytest.approx(float((acts > 0).sum(1).float().mean()), abs=1e-4)
    assert row["passes"] == (
        row["explained_variance"] >= config.sae_eval.min_explained_variance
        and row["loss_recovered"] >= config.sae_eval.min_loss_recovered
        and row["dead_fraction"] <= config.sae_eval.max_dead_fraction
    )
    assert load_config("tiny").sae.arch == "topk"  # the variant did not change the profile


def test_compare_saes_refuses_pooled_and_samples_of_other_shards():
    from splat_core.pipeline.sae_variants import compare_saes

    with pytest.raises(ValueError, match="pooled shards"):
        compare_saes({"000": np.zeros((2, 4))}, {"001": None}, None, None)


def test_define_variant_checks_settings_before_writing(tmp_path):
    from splat_core.pipeline.sae_variants import define_variant
    from splat_core.store import variants

    with pytest.raises(ValueError, match="nonsense"):
        define_variant(tmp_path, "tiny", [], "bad nonsense=1")
    assert list(variants.defined(tmp_path)) == ["default"]  # nothing written
    assert define_variant(tmp_path, "tiny", [], "wide features=128 k=8")
    assert not define_variant(tmp_path, "tiny", [], "wide features=128 k=8")  # unchanged
    assert variants.settings_of(tmp_path, "wide") == ("sae.n_features=128", "sae.k=8")
