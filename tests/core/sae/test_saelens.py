"""SAELens interchange (splat_core/sae/saelens.py): every splat architecture exports to a
SAELens directory whose tensors are splat's parameters in SAELens' layout, whose numpy SAELens
forward (written here from SAELens 6's formulas) equals splat's, and which imports back to the
same encode and decode; SAELens directories with non-unit decoders and no b_dec subtraction
import with decode(encode(x)) unchanged; bad directories are ValueErrors naming the path.
With `sae_lens` installed, SAELens itself loads our exports and we load its saves."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from splat_core.sae import (
    JumpReLUSAE,
    ReluSAE,
    SAEConfig,
    TopKSAE,
    build_sae,
    load_sae,
    save_sae,
)
from splat_core.sae.relu import ACT_CAP
from splat_core.sae.saelens import CONFIG, WEIGHTS, export_saelens, import_saelens
from tests.helpers import ALL_ARCHITECTURES, gen

D, F, K = 12, 40, 4
IMPORTED = {"relu": ReluSAE, "topk": TopKSAE, "batchtopk": JumpReLUSAE,
            "matryoshka": JumpReLUSAE, "jumprelu": JumpReLUSAE}  # fmt: skip
SAELENS_ARCH = {"relu": "standard", "topk": "topk", "batchtopk": "jumprelu",
                "matryoshka": "jumprelu", "jumprelu": "jumprelu"}  # fmt: skip


def random_sae(arch: str, seed: int = 0):
    """A small SAE with random weights, non-unit raw decoder columns and per-latent
    thresholds, so that some but not all latents fire."""
    sae = build_sae(SAEConfig(arch=arch, input_dim=D, n_features=F, k=K), gen(seed)).eval()
    g = gen(seed + 1)
    with torch.no_grad():
        for p in sae.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=g))
        sae.decoder_weight.mul_(torch.rand(F, generator=g) * 1.5 + 0.5)  # decode normalises
        if arch == "jumprelu":
            sae.log_threshold.uniform_(-3.0, -0.5, generator=g)
        elif arch in ("batchtopk", "matryoshka"):
            sae.threshold.uniform_(0.0, 0.4, generator=g)
    return sae


def data(n: int = 64, seed: int = 5) -> torch.Tensor:
    return torch.randn(n, D, generator=gen(seed))


def saelens_forward(cfg: dict, t: dict, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SAELens 6's inference (saes/standard_sae.py, topk_sae.py, jumprelu_sae.py), float64."""
    t = {k: v.numpy().astype(np.float64) for k, v in t.items()}
    h = (x - t["b_dec"] * cfg.get("apply_b_dec_to_input", True)) @ t["W_enc"] + t["b_enc"]
    norms = np.linalg.norm(t["W_dec"], axis=1)
    arch, rescale = cfg["architecture"], cfg.get("rescale_acts_by_decoder_norm", False)
    if arch == "standard":
        acts = np.maximum(h, 0)
    elif arch == "jumprelu":
        acts = np.maximum(h, 0) * (h > t["threshold"])
    else:
        h = h * norms if rescale else h
        acts = np.zeros_like(h)
        top = np.argsort(-h, axis=1)[:, : cfg["k"]]
        np.put_along_axis(acts, top, np.maximum(np.take_along_axis(h, top, 1), 0), 1)
    x_hat = (acts / norms if rescale else acts) @ t["W_dec"] + t["b_dec"]
    return acts, x_hat


def encode_decode(sae, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        acts = sae.encode(x)
        return acts.numpy().astype(np.float64), sae.decode(acts).numpy().astype(np.float64)


@pytest.mark.parametrize("arch", ALL_ARCHITECTURES)
def test_round_trip_gives_the_same_encode_and_decode(tmp_path, arch):
    sae, x = random_sae(arch), data()
    result = export_saelens(sae, tmp_path / "out", provenance={"run": "test"})
    assert result["architecture"] == SAELENS_ARCH[arch] and result["splat_arch"] == arch
    back = import_saelens(tmp_path / "out")
    assert type(back) is IMPORTED[arch] and not back.training
    acts, x_hat = encode_decode(sae, x)
    got_acts, got_x_hat = encode_decode(back, x)
    assert 0.02 < (acts > 0).mean() < 0.9  # neither trivially zero nor dense
    np.testing.assert_allclose(got_acts, acts, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got_x_hat, x_hat, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("arch", ALL_ARCHITECTURES)
def test_exported_tensors_are_splat_parameters_in_saelens_layout(tmp_path, arch):
    sae, x = random_sae(arch, seed=3), data(seed=6)
    export_saelens(sae, tmp_path / "out")
    t = load_file(tmp_path / "out" / WEIGHTS)
    cfg = json.loads((tmp_path / "out" / CONFIG).read_text())
    p = {k: v.detach().numpy().astype(np.float64) for k, v in sae.state_dict().items()}
    if arch == "relu":
        w_enc, b_enc, w_dec, b_dec = (p["encoder.weight"], p["encoder.bias"],
                                      p["decoder.weight"], p["decoder_bias"])  # fmt: skip
    else:
        w_enc, b_enc, w_dec, b_dec = p["W_enc"], p["b_enc"], p["W_dec"], p["b_dec"]
    units = w_dec / np.linalg.norm(w_dec, axis=0)  # [d, F] columns of unit norm
    np.testing.assert_allclose(t["W_enc"].numpy(), w_enc.T, rtol=1e-7)
    np.testing.assert_allclose(t["b_enc"].numpy(), b_enc, rtol=1e-7)
    np.testing.assert_allclose(t["W_dec"].numpy(), units.T, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(t["b_dec"].numpy(), b_dec, rtol=1e-7)
    want_keys = {"W_enc", "b_enc", "W_dec", "b_dec"}
    if arch == "jumprelu":
        np.testing.assert_allclose(t["threshold"].numpy(), np.exp(p["log_threshold"]), rtol=1e-6)
    elif arch in ("batchtopk", "matryoshka"):
        np.testing.assert_array_equal(t["threshold"].numpy(), p["threshold"])
    want_keys |= {"threshold"} if SAELENS_ARCH[arch] == "jumprelu" else set()
    assert set(t) == want_keys and all(v.dtype == torch.float32 for v in t.values())
    assert cfg["architecture"] == SAELENS_ARCH[arch] and (cfg["d_in"], cfg["d_sae"]) == (D, F)
    assert cfg["apply_b_dec_to_input"] is True and cfg["normalize_activations"] == "none"
    assert cfg["metadata"]["sae_lens_version"].startswith("6.")
    assert cfg["metadata"]["splat"]["arch"] == arch
    assert cfg.get("k") == (K if arch == "topk" else None)
    # SAELens' formulas on the exported files give splat's encode and decode
    acts, x_hat = saelens_forward(cfg, t, x.numpy().astype(np.float64))
    want_acts, want_x_hat = encode_decode(sae, x)
    if arch == "relu":  # the cap SAELens' standard lacks is not reached on this data
        assert acts.max() < ACT_CAP and "caps" in cfg["metadata"]["splat"]["note"]
    np.testing.assert_allclose(want_acts, acts, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(want_x_hat, x_hat, rtol=1e-5, atol=1e-5)


def test_an_uncapped_relu_exports_exactly_and_a_capped_one_says_where_it_differs(tmp_path):
    """Activations far above the reference's cap of 6: an uncapped relu (relu_act_cap=0) is
    SAELens' standard exactly, and imports back as itself; a capped one is noted."""
    x = data(seed=11) * 40.0
    for cap in (0.0, ACT_CAP):
        sae = random_sae("relu", seed=4)
        sae.act_cap = cap
        export_saelens(sae, tmp_path / str(cap))
        cfg = json.loads((tmp_path / str(cap) / CONFIG).read_text())
        t = load_file(tmp_path / str(cap) / WEIGHTS)
        acts, x_hat = saelens_forward(cfg, t, x.numpy().astype(np.float64))
        want_acts, want_x_hat = encode_decode(sae, x)
        if cap:
            assert acts.max() > cap and want_acts.max() == pytest.approx(cap)
            assert cfg["metadata"]["splat"]["activation_cap"] == cap
            assert "relu_act_cap=0" in cfg["metadata"]["splat"]["note"]
            continue
        assert "note" not in cfg["metadata"]["splat"] and acts.max() > 10 * ACT_CAP
        np.testing.assert_allclose(want_acts, acts, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(want_x_hat, x_hat, rtol=1e-5, atol=1e-3)
        back = import_saelens(tmp_path / str(cap))
        assert back.act_cap == 0.0
        np.testing.assert_allclose(encode_decode(back, x)[0], want_acts, rtol=1e-6, atol=1e-5)
        save_sae(tmp_path / "ours", back)  # the cap is an arch field: it survives our format
        assert load_sae(tmp_path / "ours").act_cap == 0.0


def write_saelens_dir(path, cfg: dict, tensors: dict) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / CONFIG).write_text(json.dumps(cfg))
    save_file({k: v.contiguous() for k, v in tensors.items()}, path / WEIGHTS)


def foreign_saelens(arch: str, rescale: bool = False, seed: int = 0) -> tuple[dict, dict]:
    """A SAELens directory's contents as SAELens training leaves them: decoder rows of any
    norm, and no b_dec subtraction (apply_b_dec_to_input=False)."""
    g = gen(seed)
    t = {"W_enc": torch.randn(D, F, generator=g) * 0.25,
         "b_enc": torch.randn(F, generator=g) * 0.2,
         "W_dec": torch.randn(F, D, generator=g) * 0.3,
         "b_dec": torch.randn(D, generator=g)}  # fmt: skip
    cfg = {"architecture": arch, "d_in": D, "d_sae": F, "dtype": "float32", "device": "cpu",
           "apply_b_dec_to_input": False, "normalize_activations": "none",
           "metadata": {"sae_lens_version": "6.54.12"}}  # fmt: skip
    if arch == "jumprelu":
        t["threshold"] = torch.rand(F, generator=g) * 0.3
        t["threshold"][:3] = torch.tensor([0.0, -0.1, -1.0])  # <= 0: a plain relu
    if arch == "topk":
        cfg |= {"k": K, "rescale_acts_by_decoder_norm": rescale}
    return cfg, t


@pytest.mark.parametrize(("arch", "rescale"),
                         [("standard", False), ("jumprelu", False), ("topk", True)])  # fmt: skip
def test_import_folds_decoder_norms_and_the_input_bias(tmp_path, arch, rescale):
    cfg, t = foreign_saelens(arch, rescale)
    write_saelens_dir(tmp_path / "d", cfg, t)
    sae, x = import_saelens(tmp_path / "d"), data(seed=9)
    acts, x_hat = saelens_forward(cfg, t, x.numpy().astype(np.float64))
    got_acts, got_x_hat = encode_decode(sae, x)
    norms = np.linalg.norm(t["W_dec"].numpy(), axis=1)
    assert 0.05 < (acts > 0).mean() < 0.9
    np.testing.assert_allclose(got_x_hat, x_hat, rtol=1e-5, atol=1e-5)
    # splat's activations are in output units: SAELens' times ||W_dec_f|| (topk with
    # rescaling already selects and reports them so)
    np.testing.assert_allclose(got_acts, acts if rescale else acts * norms, rtol=1e-5, atol=1e-6)


def test_import_errors_name_the_path(tmp_path):
    cfg, t = foreign_saelens("jumprelu")

    def fails(cfg_=cfg, t_=t, match=None, drop=None):
        d = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
        write_saelens_dir(d, cfg_, t_)
        if drop:
            (d / drop).unlink()
        with pytest.raises(ValueError, match=match) as err:
            import_saelens(d)
        assert str(d) in str(err.value)

    with pytest.raises(ValueError, match="not a directory"):
        import_saelens(tmp_path / "nowhere")
    fails(drop=CONFIG, match="cfg.json not found")
    fails(drop=WEIGHTS, match="sae_weights.safetensors not found")
    fails(cfg_={**cfg, "architecture": "gated"}, match="'gated' is not supported")
    fails(cfg_={**cfg, "normalize_activations": "layer_norm"}, match="normalize_activations")
    fails(cfg_={**cfg, "d_sae": F + 1}, match=r"W_enc \(12, 40\) != \(12, 41\)")
    fails(t_={k: v for k, v in t.items() if k != "threshold"}, match=r"missing \['threshold'\]")
    fails(t_={**t, "W_gate": t["W_enc"].clone()}, match=r"unexpected \['W_gate'\]")
    fails(t_={**t, "b_enc": t["b_enc"] * float("nan")}, match="non-finite")
    topk_cfg, topk_t = foreign_saelens("topk", rescale=False)
    fails(topk_cfg, topk_t, match="unit-norm W_dec rows")  # selection would change
    fails({**topk_cfg, "k": 0, "rescale_acts_by_decoder_norm": True}, topk_t, match="k in")
    bad = tmp_path / "badjson"
    bad.mkdir()
    (bad / CONFIG).write_text("{")
    with pytest.raises(ValueError, match="invalid JSON"):
        import_saelens(bad)


def test_export_refuses_a_directory_holding_other_files(tmp_path):
    sae = random_sae("topk")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="notes.txt"):
        export_saelens(sae, tmp_path / "busy")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "keep me"
    export_saelens(sae, tmp_path / "again")
    export_saelens(random_sae("jumprelu"), tmp_path / "again")  # a past export is replaced
    assert type(import_saelens(tmp_path / "again")) is JumpReLUSAE


# --- SAELens itself (skipped unless sae_lens is installed) ----------------------------------


@pytest.mark.parametrize("arch", ALL_ARCHITECTURES)
def test_saelens_loads_our_export_with_the_same_encode_and_decode(tmp_path, arch):
    sae_lens = pytest.importorskip("sae_lens")
    sae, x = random_sae(arch, seed=11), data(seed=12)
    export_saelens(sae, tmp_path / "out")
    theirs = sae_lens.SAE.load_from_disk(tmp_path / "out")
    assert theirs.cfg.architecture() == SAELENS_ARCH[arch]
    assert theirs.cfg.metadata.splat["arch"] == arch  # our provenance survives their load
    with torch.no_grad():
        their_acts = theirs.encode(x).numpy().astype(np.float64)
        their_x_hat = theirs.decode(theirs.encode(x)).numpy().astype(np.float64)
    acts, x_hat = encode_decode(sae, x)
    np.testing.assert_allclose(their_acts, acts, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(their_x_hat, x_hat, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("arch", "rescale"),
                         [("standard", False), ("jumprelu", False), ("topk", True),
                          ("topk", False)])  # fmt: skip
def test_we_import_what_saelens_saves(tmp_path, arch, rescale):
    sae_lens = pytest.importorskip("sae_lens")
    cfg, t = foreign_saelens(arch, rescale, seed=4)
    if arch == "topk" and not rescale:  # without rescaling only unit rows are importable
        t["W_dec"] = t["W_dec"] / t["W_dec"].norm(dim=1, keepdim=True)
    config_class = {"standard": sae_lens.StandardSAEConfig, "topk": sae_lens.TopKSAEConfig,
                    "jumprelu": sae_lens.JumpReLUSAEConfig}[arch]  # fmt: skip
    extra = {"k": K, "rescale_acts_by_decoder_norm": rescale} if arch == "topk" else {}
    theirs = sae_lens.SAE.from_dict(
        config_class(d_in=D, d_sae=F, apply_b_dec_to_input=False, **extra).to_dict()
    )
    theirs.load_state_dict(t)
    theirs.save_model(tmp_path / "theirs")
    ours, x = import_saelens(tmp_path / "theirs"), data(seed=13)
    with torch.no_grad():
        their_acts = theirs.encode(x)
        their_x_hat = theirs.decode(their_acts).numpy().astype(np.float64)
    acts, x_hat = encode_decode(ours, x)
    norms = t["W_dec"].norm(dim=1).numpy() if arch != "topk" else 1.0
    np.testing.assert_allclose(acts, their_acts.numpy() * norms, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x_hat, their_x_hat, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("training_arch", ["batchtopk", "matryoshka_batchtopk"])
def test_we_import_saelens_batchtopk_saved_for_inference(tmp_path, training_arch):
    """SAELens saves a BatchTopK (and Matryoshka) SAE as a jumprelu with its threshold,
    the decoder norms folded in: it imports as a JumpReLUSAE with SAELens' own encode."""
    sae_lens = pytest.importorskip("sae_lens")
    saes = pytest.importorskip("sae_lens.saes")
    if training_arch == "batchtopk":
        cfg = saes.BatchTopKTrainingSAEConfig(d_in=D, d_sae=F, k=K)
        trainer = saes.BatchTopKTrainingSAE(cfg)
    else:
        cfg = saes.MatryoshkaBatchTopKTrainingSAEConfig(
            d_in=D, d_sae=F, k=K, matryoshka_widths=[10, 20, F]
        )
        trainer = saes.MatryoshkaBatchTopKTrainingSAE(cfg)
    g = gen(21)
    with torch.no_grad():
        trainer.W_enc.normal_(0, 0.3, generator=g)
        trainer.W_dec.mul_(torch.rand(F, 1, generator=g) * 10 + 5)  # rows of any norm
        trainer.b_enc.normal_(0, 0.2, generator=g)
        trainer.b_dec.normal_(0, 1, generator=g)
        trainer.topk_threshold.fill_(0.4)
    trainer.save_inference_model(tmp_path / "saved")
    theirs = sae_lens.SAE.load_from_disk(tmp_path / "saved")
    ours, x = import_saelens(tmp_path / "saved"), data(seed=22)
    assert type(ours) is JumpReLUSAE and theirs.cfg.architecture() == "jumprelu"
    with torch.no_grad():
        their_acts = theirs.encode(x)
        their_x_hat = theirs.decode(their_acts).numpy().astype(np.float64)
    acts, x_hat = encode_decode(ours, x)
    assert 0.02 < (acts > 0).mean() < 0.9
    np.testing.assert_allclose(acts, their_acts.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x_hat, their_x_hat, rtol=1e-5, atol=1e-5)


def test_pipeline_imports_a_saelens_directory(tiny_reader, tmp_path):
    """sae_source.source=saelens: preflight reads the directory, and the sae step imports it
    and measures it as the trained SAE it came from (the same encode, so the same metrics)."""
    from splat_core.pipeline.config import load_config
    from splat_core.pipeline.preflight import check_sources
    from splat_core.pipeline.steps import sae_step
    from splat_core.store.artifacts import open_artifact

    r = tiny_reader
    sae = open_artifact(r.path("sae"))
    export_saelens(sae, tmp_path / "exported")
    overrides = ["sae_source.source=saelens", f"sae_source.path={tmp_path / 'exported'}"]
    config = load_config("tiny", overrides)
    check_sources(config)
    with pytest.raises(ValueError, match="nowhere"):
        check_sources(load_config("tiny", [*overrides[:1], f"sae_source.path={tmp_path}/nowhere"]))
    pooled = {k: open_artifact(p) for k, p in r.partitions("pooled").items()}
    samples = {k: open_artifact(p) for k, p in r.partitions("samples").items()}
    (tmp_path / "out").mkdir()
    meta = sae_step(tmp_path / "out", pooled, samples, r.builds,
                    open_artifact(r.path("base_model")), config)  # fmt: skip
    imported = open_artifact(tmp_path / "out")
    assert meta["source"] == "saelens" and type(imported) is type(sae)
    trained = json.loads((r.path("sae") / "metrics.json").read_text())
    numbers = [k for k, v in trained.items() if isinstance(v, int | float)]
    assert {"explained_variance", "loss_recovered"} <= set(numbers)
    for key in numbers:  # loss_recovered is a ratio of differences: float noise grows
        assert meta[key] == pytest.approx(trained[key], rel=1e-4, abs=1e-6), key
