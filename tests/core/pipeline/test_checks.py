"""The data checks behind the asset checks."""

import torch

from splat_core.pipeline.checks import check_finite_weights, check_sae_quality

BOUNDS = {"min_explained_variance": 0.9, "min_loss_recovered": 0.9, "max_dead_fraction": 0.02}


def test_finite_weights():
    layer = torch.nn.Linear(3, 2)
    assert check_finite_weights(layer).passed
    with torch.no_grad():
        layer.bias[1] = float("nan")
    outcome = check_finite_weights(layer)
    assert not outcome.passed and outcome.metadata["problems"] == ["bias not finite"]


def test_sae_quality_bounds():
    good = {"explained_variance": 0.95, "loss_recovered": 0.93, "dead_fraction": 0.0}
    assert check_sae_quality(good, BOUNDS).passed
    for key, value in (("explained_variance", 0.8), ("loss_recovered", float("nan")),
                       ("dead_fraction", 0.05)):  # fmt: skip
        outcome = check_sae_quality({**good, key: value}, BOUNDS)
        assert not outcome.passed and key in outcome.metadata["problems"][0]
