"""ReluSAE: the reference checkpoint loads unchanged and reproduces its outputs, the
reference formula in numpy, and training with a decoder that learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from splat_core.sae import (
    ReluSAE,
    SAEConfig,
    fit_sae,
    load_sae,
)
from tests.helpers import FIXTURE, gen, planted_codes, quiet, sae_numpy

# --- the reference checkpoint -----------------------------------------------------------------


def test_reference_sae_reproduces_expected_outputs(reference_outputs):
    sae = load_sae(FIXTURE)
    assert isinstance(sae, ReluSAE) and not sae.training
    assert (sae.input_dim, sae.n_features) == (64, 256)
    x = torch.from_numpy(reference_outputs["pooled"])
    with torch.no_grad():
        h_pre, h = sae.pre_activations(x), sae.encode(x)
        recon, acts = sae(x)
    np.testing.assert_allclose(h_pre.numpy(), reference_outputs["sae_h_pre"], atol=1e-5)
    np.testing.assert_allclose(h.numpy(), reference_outputs["sae_h_post"], atol=1e-5)
    np.testing.assert_allclose(recon.numpy(), reference_outputs["sae_recon"], atol=1e-5)
    assert torch.equal(acts, h)


def test_reference_formula_in_numpy(reference_outputs):
    """The README's formulas, from the raw state_dict, in float64 numpy."""
    state = {k: v.double().numpy() for k, v in
             torch.load(FIXTURE / "sae_model_final.pth", weights_only=True).items()}  # fmt: skip
    x = reference_outputs["pooled"].astype(np.float64)
    h_pre = (x - state["decoder_bias"]) @ state["encoder.weight"].T + state["encoder.bias"]
    h = np.clip(np.maximum(h_pre, 0), 0, 6)
    w = state["decoder.weight"] / np.linalg.norm(state["decoder.weight"], axis=0)
    recon = h @ w.T + state["decoder_bias"]
    sae = load_sae(FIXTURE)
    np.testing.assert_allclose(sae.decoder_directions().detach().numpy(), w, atol=1e-6)
    got_recon, got_h = sae_numpy(sae, reference_outputs["pooled"])
    np.testing.assert_allclose(got_h, h, atol=1e-5)
    np.testing.assert_allclose(got_recon, recon, atol=1e-5)
    with torch.no_grad():  # decoder.bias is present but unused, as in the reference
        sae.decoder.bias.add_(10.0)
    np.testing.assert_array_equal(sae_numpy(sae, reference_outputs["pooled"])[0], got_recon)


def test_reference_state_dict_layout():
    raw = torch.load(FIXTURE / "sae_model_final.pth", weights_only=True)
    state = load_sae(FIXTURE).state_dict()
    assert list(state) == list(raw)
    for key, value in raw.items():
        assert torch.equal(state[key], value), key
    fresh = ReluSAE(64, 256, gen()).state_dict()
    assert [(k, tuple(v.shape)) for k, v in fresh.items()] == [
        (k, tuple(v.shape)) for k, v in raw.items()
    ]


# --- ReluSAE training -----------------------------------------------------------------------


def test_relu_decoder_learns_and_stays_unit_norm():
    x, _ = planted_codes(2048)
    sae = ReluSAE(32, 64, gen())
    before = sae.decoder.weight.detach().clone()
    config = SAEConfig(arch="relu", n_features=64, epochs=1, batch_size=256, device="cpu")
    fit_sae(sae, x, config, quiet)
    after = sae.decoder.weight.detach()
    assert (after - before).abs().max() > 1e-3
    np.testing.assert_allclose(after.norm(dim=0).numpy(), 1.0, atol=1e-5)


def test_reference_style_decoder_gets_no_gradient():
    sae = ReluSAE(32, 64, gen())
    x = torch.randn(16, 32, generator=gen(1))
    with torch.no_grad():  # the reference normalised the dictionary here
        frozen = F.normalize(sae.decoder.weight, dim=0)
    (sae.encode(x) @ frozen.T + sae.decoder_bias - x).pow(2).mean().backward()
    assert sae.decoder.weight.grad is None
    sae.zero_grad()
    (sae(x)[0] - x).pow(2).mean().backward()
    assert sae.decoder.weight.grad.abs().max() > 0
    sae.project_decoder_grad()  # what is left only turns each column
    unit = F.normalize(sae.decoder.weight.detach(), dim=0)
    assert (sae.decoder.weight.grad * unit).sum(0).abs().max() < 1e-7


def test_relu_objective_is_mse_plus_warmed_up_l1():
    sae = ReluSAE(32, 64, gen())
    x = torch.from_numpy(planted_codes(128)[0])
    config = SAEConfig(arch="relu", l1_coeff=0.2, l1_warmup_steps=100)
    objective = sae.training_objective(config, variance=1.0)
    loss, terms, _ = objective(x, 25, torch.zeros(64, dtype=torch.long))
    loss, terms = loss.detach(), {k: v.detach() for k, v in terms.items()}
    x_hat, h = sae_numpy(sae, x.numpy())
    mse = ((x_hat - x.numpy()) ** 2).mean()
    norms = np.linalg.norm(sae.decoder.weight.detach().numpy(), axis=0)
    l1 = (h * norms).sum(1).mean()
    assert float(terms["mse"]) == pytest.approx(mse, rel=1e-5)
    assert float(terms["l1"]) == pytest.approx(l1, rel=1e-5)
    assert float(loss) == pytest.approx(mse + 0.2 * 0.25 * l1, rel=1e-5)
