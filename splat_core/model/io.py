"""Saving and loading SetCompletionModel: our safetensors format and SplatNLP's model.pth."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from splat_core.atomic import atomic_dir
from splat_core.checkpoints import METRICS_JSON, MODEL_PARAMS, MODEL_WEIGHTS
from splat_core.model.set_completion import ModelParams, SetCompletionModel

WEIGHTS, PARAMS, METRICS = MODEL_WEIGHTS, MODEL_PARAMS, METRICS_JSON  # the contract's names
REFERENCE_WEIGHTS = "model.pth"

# An older reference revision had a Dropout inside the layer MLP, shifting its last Linear to .3.
_OLD_MLP_KEY = re.compile(r"^(transformer_layers\.\d+\.feedforward)\.3\.")


def load_model(path: str | Path, device: str | torch.device = "cpu") -> SetCompletionModel:
    """Load a model directory: ours (model.safetensors) or a reference one (model.pth).

    Both need model_params.json beside the weights. The module is returned in eval mode.
    """
    path = Path(path)
    params = load_params(path)
    if (path / WEIGHTS).exists():
        state = load_file(path / WEIGHTS)
    elif (path / REFERENCE_WEIGHTS).exists():
        state = read_reference_state(path / REFERENCE_WEIGHTS)
    else:
        raise FileNotFoundError(f"{path}: neither {WEIGHTS} nor {REFERENCE_WEIGHTS} found")
    model = SetCompletionModel.from_params(params)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"{path}: weights do not match model_params.json "
            f"(missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    return model.to(device).eval()


def load_params(path: Path) -> ModelParams:
    file = path / PARAMS
    if not file.exists():
        raise FileNotFoundError(f"{path}: {PARAMS} not found")
    return ModelParams.from_dict(json.loads(file.read_text(encoding="utf-8")))


def read_reference_state(file: Path) -> dict[str, torch.Tensor]:
    """A reference state_dict, loaded without pickle execution, with DDP/compile prefixes and
    the older MLP key layout normalised."""
    raw = torch.load(file, map_location="cpu", weights_only=True)
    for wrapper in ("model_state_dict", "state_dict"):
        if isinstance(raw, dict) and isinstance(raw.get(wrapper), dict):
            raw = raw[wrapper]
    if not isinstance(raw, dict):
        raise ValueError(f"{file}: expected a state_dict, got {type(raw).__name__}")
    state = {}
    for key, value in raw.items():
        key = key.removeprefix("module.").removeprefix("_orig_mod.")
        state[_OLD_MLP_KEY.sub(r"\1.2.", key)] = value
    return state


def save_model(
    path: str | Path, model: SetCompletionModel, params: ModelParams, metrics: dict | None = None
) -> Path:
    """Write weights, params and metrics into `path`, replacing it atomically."""
    with atomic_dir(path) as tmp:
        write_model_files(tmp, model, params, metrics)
    return Path(path)


def write_model_files(
    directory: Path, model: SetCompletionModel, params: ModelParams, metrics: dict | None = None
) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, directory / WEIGHTS)
    (directory / PARAMS).write_text(json.dumps(params.to_dict(), indent=2) + "\n")
    if metrics is not None:
        (directory / METRICS).write_text(json.dumps(metrics, indent=2) + "\n")
