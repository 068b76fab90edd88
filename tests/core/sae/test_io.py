"""SAE checkpoints: ours round-trip every architecture, the reference's imports, errors
name the file; the config's resolution and validation."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from splat_core.sae import (
    SAEConfig,
    TopKSAE,
    fingerprint,
    load_sae,
    read_metrics,
    read_sae_config,
    save_sae,
    train_sae,
)
from tests.helpers import ALL_ARCHITECTURES, FIXTURE, gen, planted_codes, quiet, sae_numpy

# --- checkpoints ----------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ALL_ARCHITECTURES)
def test_save_load_round_trip(tmp_path, arch):
    x, _ = planted_codes(1024)
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


def test_reference_sae_exports_to_our_format(tmp_path, reference_outputs):
    sae = load_sae(FIXTURE)
    path = save_sae(tmp_path / "imported", sae, {"imported_from": str(FIXTURE)})
    raw = json.loads((path / "sae_config.json").read_text())
    assert raw["arch"] == "relu" and raw["n_features"] == 256 and raw["input_dim"] == 64
    assert raw["imported_from"] == str(FIXTURE)
    loaded = load_sae(path)
    assert list(loaded.state_dict()) == list(sae.state_dict())
    np.testing.assert_array_equal(sae_numpy(loaded, reference_outputs["pooled"])[0],
                                  sae_numpy(sae, reference_outputs["pooled"])[0])  # fmt: skip
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
