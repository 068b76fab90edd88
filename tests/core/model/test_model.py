"""SetCompletionModel: reference fixture, state_dict layout, checkpoint formats."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from splat_core.model import ModelParams, SetCompletionModel, load_model, save_model
from tests.helpers import FIXTURE


def _run(model, reference_outputs):
    tokens = torch.from_numpy(reference_outputs["tokens"])
    weapons = torch.from_numpy(reference_outputs["weapons"])
    mask = torch.from_numpy(reference_outputs["mask"])
    captured = {}
    hook = model.output_layer.register_forward_pre_hook(
        lambda _m, inputs: captured.__setitem__("pooled", inputs[0].clone())
    )
    with torch.no_grad():
        logits = model(tokens, weapons, mask)
    hook.remove()
    return logits.numpy(), captured["pooled"].numpy()


def test_reference_checkpoint_reproduces_expected_outputs(reference_outputs):
    model = load_model(FIXTURE)
    logits, pooled = _run(model, reference_outputs)
    np.testing.assert_allclose(logits, reference_outputs["logits"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(pooled, reference_outputs["pooled"], atol=1e-5, rtol=0)


def test_pooled_method_is_the_output_layer_input(reference_outputs):
    model = load_model(FIXTURE)
    with torch.no_grad():
        pooled = model.pooled(
            torch.from_numpy(reference_outputs["tokens"]),
            torch.from_numpy(reference_outputs["weapons"]),
            torch.from_numpy(reference_outputs["mask"]),
        )
    np.testing.assert_allclose(pooled.numpy(), reference_outputs["pooled"], atol=1e-5, rtol=0)


def test_mask_defaults_to_pad_positions(reference_outputs):
    model = load_model(FIXTURE)
    with torch.no_grad():
        logits = model(
            torch.from_numpy(reference_outputs["tokens"]),
            torch.from_numpy(reference_outputs["weapons"]),
        )
    np.testing.assert_allclose(logits.numpy(), reference_outputs["logits"], atol=1e-5, rtol=0)


def test_state_dict_layout_matches_reference_exactly():
    reference = torch.load(FIXTURE / "model.pth", weights_only=True)
    params = ModelParams.from_dict(json.loads((FIXTURE / "model_params.json").read_text()))
    ours = SetCompletionModel.from_params(params).state_dict()
    assert list(ours) == list(reference)  # same keys, same order
    assert all(ours[k].shape == reference[k].shape for k in reference)


@pytest.mark.parametrize(
    "change, absent, present",
    [
        ({"use_layer_norm": False}, "mab1.layer_norm1.weight", "enc_layer1.layer_norm.weight"),
        ({"embedding_dim": 64}, "input_proj.weight", "ability_embedding.weight"),
        ({"pad_token_id": None}, None, "ability_embedding.weight"),
        ({"num_layers": 3, "dropout": 0.1}, None, "transformer_layers.2.feedforward.2.weight"),
    ],
)
def test_every_constructor_setting_round_trips(tmp_path, change, absent, present):
    params = ModelParams.from_dict({"vocab_size": 140, "weapon_vocab_size": 5, "hidden_dim": 64,
                                    "num_inducing_points": 4, "use_layer_norm": True,
                                    "pad_token_id": 139, **change})  # fmt: skip
    torch.manual_seed(0)
    model = SetCompletionModel.from_params(params).eval()
    keys = list(model.state_dict())
    assert any(k.endswith(present) for k in keys)
    if absent:
        assert not any(k.endswith(absent) for k in keys)
    save_model(tmp_path / "m", model, params)
    loaded = load_model(tmp_path / "m")
    tokens = torch.tensor([[0, 12, 13, 139], [138, 139, 139, 139]])
    weapons = torch.tensor([[1], [3]])
    with torch.no_grad():
        assert torch.equal(model(tokens, weapons), loaded(tokens, weapons))


def test_pad_positions_do_not_change_outputs(reference_outputs):
    model = load_model(FIXTURE)
    tokens = torch.from_numpy(reference_outputs["tokens"]).clone()
    mask = torch.from_numpy(reference_outputs["mask"])
    tokens[mask] = 5  # any id at masked positions
    with torch.no_grad():
        logits = model(tokens, torch.from_numpy(reference_outputs["weapons"]), mask)
    np.testing.assert_allclose(logits.numpy(), reference_outputs["logits"], atol=1e-5, rtol=0)


def test_ddp_prefixes_and_older_mlp_layout_load(tmp_path, reference_outputs):
    state = torch.load(FIXTURE / "model.pth", weights_only=True)
    renamed = {}
    for key, value in state.items():
        key = (
            key.replace(".feedforward.2.", ".feedforward.3.")
            if key.count(".") == 4
            and key.startswith("transformer_layers.")
            and ".feedforward.2." in key
            else key
        )
        renamed["module." + key] = value
    assert any(".feedforward.3." in k for k in renamed)
    shutil.copy(FIXTURE / "model_params.json", tmp_path / "model_params.json")
    torch.save(renamed, tmp_path / "model.pth")
    logits, _ = _run(load_model(tmp_path), reference_outputs)
    np.testing.assert_allclose(logits, reference_outputs["logits"], atol=1e-5, rtol=0)


def test_mismatched_params_are_a_clear_error(tmp_path):
    shutil.copy(FIXTURE / "model.pth", tmp_path / "model.pth")
    params = json.loads((FIXTURE / "model_params.json").read_text())
    (tmp_path / "model_params.json").write_text(json.dumps({**params, "num_layers": 3}))
    with pytest.raises(ValueError, match="do not match model_params.json"):
        load_model(tmp_path)


def test_missing_files_are_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="model_params.json"):
        load_model(tmp_path)
    shutil.copy(FIXTURE / "model_params.json", tmp_path / "model_params.json")
    with pytest.raises(FileNotFoundError, match="model.pth"):
        load_model(tmp_path)
