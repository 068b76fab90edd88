"""splat_core.sae: reference compatibility, training, metrics, sparse encoding, checkpoints.

Numbers are checked against direct numpy computations, not only shapes.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from splat_core.sae import (
    ReluSAE,
    SAEConfig,
    TopKSAE,
    encode_csr,
    evaluate_sae,
    fingerprint,
    fit_sae,
    load_sae,
    loss_recovered,
    read_metrics,
    read_sae_config,
    save_sae,
    train_sae,
)
from splat_core.sae.topk import auxk_loss
from splat_core.sae.train import geometric_median
from splat_core.sparse import index_dtype
from tests.conftest import FIXTURE


def quiet(_message: str) -> None:
    pass


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def planted(n: int, d: int = 32, m: int = 16, active: int = 3, noise: float = 0.02, seed: int = 0):
    """Sparse non-negative combinations of `m` random unit directions in `d` dims + noise."""
    rng = np.random.default_rng(seed)
    dirs = rng.normal(size=(m, d))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    codes = np.zeros((n, m))
    chosen = np.argsort(rng.random((n, m)), axis=1)[:, :active]
    np.put_along_axis(codes, chosen, rng.uniform(0.5, 2.0, size=(n, active)), axis=1)
    x = codes @ dirs + noise * rng.normal(size=(n, d))
    return x.astype(np.float32), dirs


def dense(sae, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x_hat, acts) as numpy, for small test data only."""
    with torch.no_grad():
        x_hat, acts = sae(torch.from_numpy(x))
    return x_hat.numpy().astype(np.float64), acts.numpy().astype(np.float64)


@pytest.fixture(scope="module")
def expected():
    return np.load(FIXTURE / "expected.npz")


# --- the reference checkpoint -----------------------------------------------------------------


def test_reference_sae_reproduces_expected_outputs(expected):
    sae = load_sae(FIXTURE)
    assert isinstance(sae, ReluSAE) and not sae.training
    assert (sae.input_dim, sae.n_features) == (64, 256)
    x = torch.from_numpy(expected["pooled"])
    with torch.no_grad():
        h_pre, h = sae.pre_activations(x), sae.encode(x)
        recon, acts = sae(x)
    np.testing.assert_allclose(h_pre.numpy(), expected["sae_h_pre"], atol=1e-5)
    np.testing.assert_allclose(h.numpy(), expected["sae_h_post"], atol=1e-5)
    np.testing.assert_allclose(recon.numpy(), expected["sae_recon"], atol=1e-5)
    assert torch.equal(acts, h)


def test_reference_formula_in_numpy(expected):
    """The README's formulas, from the raw state_dict, in float64 numpy."""
    state = {k: v.double().numpy() for k, v in
             torch.load(FIXTURE / "sae_model_final.pth", weights_only=True).items()}  # fmt: skip
    x = expected["pooled"].astype(np.float64)
    h_pre = (x - state["decoder_bias"]) @ state["encoder.weight"].T + state["encoder.bias"]
    h = np.clip(np.maximum(h_pre, 0), 0, 6)
    w = state["decoder.weight"] / np.linalg.norm(state["decoder.weight"], axis=0)
    recon = h @ w.T + state["decoder_bias"]
    sae = load_sae(FIXTURE)
    np.testing.assert_allclose(sae.decoder_directions().detach().numpy(), w, atol=1e-6)
    got_recon, got_h = dense(sae, expected["pooled"])
    np.testing.assert_allclose(got_h, h, atol=1e-5)
    np.testing.assert_allclose(got_recon, recon, atol=1e-5)
    with torch.no_grad():  # decoder.bias is present but unused, as in the reference
        sae.decoder.bias.add_(10.0)
    np.testing.assert_array_equal(dense(sae, expected["pooled"])[0], got_recon)


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
    x, _ = planted(2048)
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
    x = torch.from_numpy(planted(128)[0])
    config = SAEConfig(arch="relu", l1_coeff=0.2, l1_warmup_steps=100)
    objective = sae.training_objective(config, variance=1.0)
    loss, terms, _ = objective(x, 25, torch.zeros(64, dtype=torch.long))
    loss, terms = loss.detach(), {k: v.detach() for k, v in terms.items()}
    x_hat, h = dense(sae, x.numpy())
    mse = ((x_hat - x.numpy()) ** 2).mean()
    norms = np.linalg.norm(sae.decoder.weight.detach().numpy(), axis=0)
    l1 = (h * norms).sum(1).mean()
    assert float(terms["mse"]) == pytest.approx(mse, rel=1e-5)
    assert float(terms["l1"]) == pytest.approx(l1, rel=1e-5)
    assert float(loss) == pytest.approx(mse + 0.2 * 0.25 * l1, rel=1e-5)


# --- TopKSAE --------------------------------------------------------------------------------


def test_topk_keeps_the_k_largest_nonnegative_pre_activations():
    sae = TopKSAE(32, 128, 5, gen())
    with torch.no_grad():
        sae.b_enc.normal_(0.0, 1.0, generator=gen(2))  # some rows get fewer than k positives
    x = torch.randn(300, 32, generator=gen(3))
    with torch.no_grad():
        h_pre, acts = sae.pre_activations(x).numpy(), sae.encode(x).numpy()
    assert (acts >= 0).all()
    assert (acts > 0).sum(1).max() <= 5
    top = np.sort(h_pre, axis=1)[:, -5:]
    np.testing.assert_array_equal(np.sort(acts, axis=1)[:, -5:], np.maximum(top, 0))
    kept = acts > 0
    np.testing.assert_array_equal(acts[kept], h_pre[kept])
    full_rows = (top > 0).all(1)
    assert full_rows.any() and ((acts > 0).sum(1)[full_rows] == 5).all()


def test_topk_encoder_starts_as_decoder_transpose():
    sae = TopKSAE(32, 96, 4, gen())
    assert torch.equal(sae.W_enc, sae.W_dec.T)
    np.testing.assert_allclose(sae.W_dec.norm(dim=0).detach().numpy(), 1.0, atol=1e-6)
    assert list(sae.state_dict()) == ["b_dec", "W_enc", "b_enc", "W_dec"]


def test_pre_bias_starts_at_the_geometric_median():
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(3.0, 1.0, size=(1000, 4)), np.full((20, 4), 1000.0)])
    median = geometric_median(points)
    assert np.abs(median - 3.0).max() < 0.2  # the mean is pulled to ~22 by the outliers
    assert np.abs(points.mean(0) - 3.0).min() > 10


def test_auxk_loss_is_positive_for_dead_latents_and_only_trains_them():
    sae = TopKSAE(32, 64, 4, gen())
    x = torch.from_numpy(planted(64)[0])
    h_pre = sae.pre_activations(x)
    x_hat = sae.decode(sae.activate(h_pre))
    residual = (x - x_hat).detach()
    dead = torch.zeros(64, dtype=torch.bool)
    assert float(auxk_loss(sae, h_pre, residual, dead, aux_k=8)) == 0.0
    dead[32:] = True
    loss = auxk_loss(sae, h_pre, residual, dead, aux_k=8)
    # numpy: the 8 largest dead pre-activations (relu) reconstruct the residual
    hp, r = h_pre.detach().numpy(), residual.numpy()
    masked = np.where(dead.numpy(), hp, -np.inf)
    keep = np.argsort(masked, axis=1)[:, -8:]
    acts = np.zeros_like(hp)
    np.put_along_axis(acts, keep, np.maximum(np.take_along_axis(hp, keep, 1), 0), axis=1)
    estimate = acts @ sae.decoder_directions().detach().numpy().T
    want = ((estimate - r) ** 2).sum(1).mean() / (r**2).sum(1).mean()
    assert float(loss.detach()) > 0
    assert float(loss.detach()) == pytest.approx(want, rel=1e-5)
    loss.backward()
    assert sae.W_enc.grad[:32].abs().max() == 0
    assert sae.W_enc.grad[32:].abs().max() > 0


def test_auxk_revives_dead_latents():
    x, _ = planted(4000)
    config = SAEConfig(n_features=64, k=4, epochs=4, batch_size=128, lr=3e-3, dead_steps=5,
                       aux_k=16, device="cpu")  # fmt: skip
    dead = {}
    for coeff in (0.0, 1 / 32):
        sae = TopKSAE(32, 64, 4, gen())
        with torch.no_grad():  # 48 latents too weak to ever win the top-k: dead from the start
            sae.W_enc[16:] *= 0.01
            sae.b_dec.copy_(torch.from_numpy(x.mean(0)))
        fit_sae(sae, x, replace(config, aux_coeff=coeff), quiet)
        dead[coeff] = evaluate_sae(sae, x)["dead_fraction"]
    assert dead[0.0] > 0.5
    assert dead[1 / 32] < dead[0.0] / 2


# --- metrics --------------------------------------------------------------------------------


def _relu_with_dead_latents() -> ReluSAE:
    sae = ReluSAE(16, 40, gen(4))
    with torch.no_grad():
        sae.encoder.weight.normal_(0, 0.5, generator=gen(5))
        sae.decoder.weight.normal_(0, 1.0, generator=gen(6))
        sae.decoder_bias.normal_(0, 0.3, generator=gen(7))
        sae.encoder.bias[:5] = -100.0  # never fire
    return sae


def test_reconstruction_metrics_match_numpy():
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(300, 16)) * rng.uniform(0.5, 2, 16) + 1.5).astype(np.float32)
    sae = _relu_with_dead_latents()
    x_hat, acts = dense(sae, x)
    x64 = x.astype(np.float64)
    ev = 1 - ((x64 - x_hat) ** 2).sum() / ((x64 - x64.mean(0)) ** 2).sum()
    metrics = evaluate_sae(sae, x, batch_size=64)  # 5 batches, the last one short
    assert metrics["explained_variance"] == pytest.approx(ev, rel=1e-6)
    assert metrics["mse"] == pytest.approx(((x64 - x_hat) ** 2).mean(), rel=1e-6)
    assert metrics["mean_l0"] == pytest.approx((acts > 0).sum(1).mean())
    assert metrics["dead_fraction"] == pytest.approx((~(acts > 0).any(0)).mean())
    assert metrics["n_dead"] >= 5 and metrics["n_samples"] == 300
    assert "loss_recovered" not in metrics


def _bce(logits: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0, logits) - targets * logits))


def test_loss_recovered_matches_formula():
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(300, 16)) + 1.0).astype(np.float32)
    targets = rng.random((300, 10)) < 0.3
    columns = np.array([0, 2, 3, 5, 7, 9])
    out = nn.Linear(16, 10)
    w, b = rng.normal(size=(10, 16)), rng.normal(size=10)
    with torch.no_grad():
        out.weight.copy_(torch.from_numpy(w))
        out.bias.copy_(torch.from_numpy(b))
    sae = _relu_with_dead_latents()
    x_hat, _ = dense(sae, x)
    t = targets[:, columns].astype(np.float64)

    clean = _bce((x.astype(np.float64) @ w.T + b)[:, columns], t)
    spliced = _bce((x_hat @ w.T + b)[:, columns], t)
    ablated = _bce(np.broadcast_to((x.mean(0, dtype=np.float64) @ w.T + b)[columns], t.shape), t)
    want = (ablated - spliced) / (ablated - clean)
    got = loss_recovered(out, x, targets, sae, columns, batch_size=64)
    assert got == pytest.approx(want, rel=1e-5)
    metrics = evaluate_sae(sae, x, out, targets, columns, batch_size=64)
    assert metrics["loss_clean"] == pytest.approx(clean, rel=1e-5)
    assert metrics["loss_spliced"] == pytest.approx(spliced, rel=1e-5)
    assert metrics["loss_ablated"] == pytest.approx(ablated, rel=1e-5)
    assert metrics["loss_recovered"] == pytest.approx(want, rel=1e-5)
    # Held-out rows: losses on those rows, the ablation mean still over all rows.
    held = np.arange(0, 300, 3)
    sub = evaluate_sae(sae, x, out, targets[held], columns, held_out_rows=held)
    mean_logits = (x.mean(0, dtype=np.float64) @ w.T + b)[columns]
    ablated_held = _bce(np.broadcast_to(mean_logits, (len(held), len(columns))), t[held])
    assert sub["loss_ablated"] == pytest.approx(ablated_held, rel=1e-5)
    assert sub["loss_clean"] == pytest.approx(_bce((x[held] @ w.T + b)[:, columns], t[held]),
                                              rel=1e-5)  # fmt: skip
    assert sub["n_loss_samples"] == len(held)


# --- sparse encoding ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sae",
    # k=200 of 300: most winners are negative, so topk's own output must drop them
    [TopKSAE(16, 300, 7, gen()), TopKSAE(16, 300, 200, gen()), _relu_with_dead_latents()],
)
def test_encode_csr_equals_dense_nonzeros(sae):
    x = np.random.default_rng(3).normal(size=(250, 16)).astype(np.float32)
    indptr, indices, data = encode_csr(sae, x, batch_size=64)
    assert indptr.dtype == np.int64 and indptr.shape == (251,)
    assert indices.dtype == index_dtype(sae.n_features) and data.dtype == np.float32
    acts = dense(sae, x)[1].astype(np.float32)
    got = sp.csr_matrix((data, indices, indptr), shape=acts.shape)
    want = sp.csr_matrix(acts)
    np.testing.assert_array_equal(indptr, want.indptr)
    np.testing.assert_array_equal(indices, want.indices)
    np.testing.assert_array_equal(data, want.data)
    assert (data > 0).all() and got.has_sorted_indices
    for row in range(len(x)):
        assert (np.diff(indices[indptr[row] : indptr[row + 1]].astype(np.int64)) > 0).all()
    empty = encode_csr(sae, x[:0])
    assert empty[0].tolist() == [0] and len(empty[1]) == len(empty[2]) == 0


# --- checkpoints ----------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["relu", "topk"])
def test_save_load_round_trip(tmp_path, arch):
    x, _ = planted(1024)
    config = SAEConfig(arch=arch, n_features=48, k=4, epochs=1, batch_size=256, device="cpu")
    sae, _ = train_sae(x, config, quiet)
    metrics = {"explained_variance": np.float32(0.5), "loss_recovered": float("nan")}
    path = save_sae(tmp_path / "out" / "sae", sae, config, metrics)
    assert sorted(p.name for p in path.iterdir()) == ["metrics.json", "sae.safetensors",
                                                       "sae_config.json"]  # fmt: skip
    assert [p.name for p in path.parent.iterdir()] == ["sae"]  # nothing left aside
    loaded = load_sae(path)
    assert type(loaded) is type(sae) and not loaded.training
    xt = torch.from_numpy(x)
    with torch.no_grad():
        for a, b in zip(sae(xt), loaded(xt), strict=True):
            assert torch.equal(a, b)
    assert fingerprint(loaded) == fingerprint(sae) and len(fingerprint(sae)) == 16
    saved = read_sae_config(path)
    assert saved == config.resolved(32)
    assert read_metrics(path) == {"explained_variance": 0.5, "loss_recovered": None}


def test_reference_sae_exports_to_our_format(tmp_path, expected):
    sae = load_sae(FIXTURE)
    path = save_sae(tmp_path / "imported", sae, {"imported_from": str(FIXTURE)})
    raw = json.loads((path / "sae_config.json").read_text())
    assert raw["arch"] == "relu" and raw["n_features"] == 256 and raw["input_dim"] == 64
    assert raw["imported_from"] == str(FIXTURE)
    loaded = load_sae(path)
    assert list(loaded.state_dict()) == list(sae.state_dict())
    np.testing.assert_array_equal(dense(loaded, expected["pooled"])[0],
                                  dense(sae, expected["pooled"])[0])  # fmt: skip
    assert fingerprint(loaded) == fingerprint(sae)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_sae(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="sae_model_final.pth"):
        load_sae(tmp_path / "empty")
    ref = tmp_path / "ref"
    ref.mkdir()
    shutil.copy(FIXTURE / "sae_model_final.pth", ref)
    with pytest.raises(FileNotFoundError, match="sae_config.json"):
        load_sae(ref)
    (ref / "sae_config.json").write_text(json.dumps({"input_dim": 64, "expansion_factor": 2}))
    with pytest.raises(ValueError, match="sae_model_final.pth.*shapes"):
        load_sae(ref)
    ours = save_sae(tmp_path / "ours", TopKSAE(8, 16, 2, gen()))
    config = json.loads((ours / "sae_config.json").read_text())
    (ours / "sae_config.json").write_text(json.dumps({**config, "n_features": 20}))
    with pytest.raises(ValueError, match="sae.safetensors"):
        load_sae(ours)


def test_config_resolution_and_validation():
    config = SAEConfig(expansion_factor=4.0).resolved(64)
    assert (config.input_dim, config.n_features, config.expansion_factor) == (64, 256, 0.0)
    assert SAEConfig.from_dict({**config.to_dict(), "imported_from": "x"}) == config
    with pytest.raises(ValueError, match="arch"):
        SAEConfig(arch="gated")
    with pytest.raises(ValueError, match="input_dim"):
        SAEConfig(input_dim=32).resolved(64)
    with pytest.raises(ValueError, match="NaN"):
        train_sae(np.full((4, 3), np.nan, dtype=np.float32), SAEConfig(), quiet)


# --- training -------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["relu", "topk"])
def test_training_is_reproducible(arch):
    x, _ = planted(3000)
    config = SAEConfig(arch=arch, n_features=64, k=4, epochs=2, batch_size=256, device="cpu")
    messages = []
    a, history_a = train_sae(x, config, messages.append)
    b, history_b = train_sae(x, config, quiet)
    for (key, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), key
    drop = {"seconds"}
    assert [{k: v for k, v in h.items() if k not in drop} for h in history_a] == [
        {k: v for k, v in h.items() if k not in drop} for h in history_b
    ]
    assert len(history_a) == len(messages) == 2
    assert {"loss", "mse", "l0", "dead_fraction"} <= set(history_a[0])
    assert history_a[-1]["mse"] < history_a[0]["mse"]
    other, _ = train_sae(x, replace(config, seed=1), quiet)
    assert fingerprint(other) != fingerprint(a)


def test_topk_recovers_planted_structure():
    x, dirs = planted(20000)
    config = SAEConfig(n_features=64, k=4, lr=3e-3, batch_size=256, epochs=5, dead_steps=20,
                       device="cpu")  # fmt: skip
    sae, history = train_sae(x, config, quiet)
    metrics = evaluate_sae(sae, x)
    assert metrics["explained_variance"] > 0.9
    assert metrics["mean_l0"] <= 4
    cosines = np.abs(dirs @ sae.decoder_directions().detach().numpy()).max(1)
    assert (cosines > 0.9).mean() >= 0.75  # most planted directions found
