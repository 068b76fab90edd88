"""Saving and loading SAEs: our directory (sae.safetensors + sae_config.json + metrics.json)
and SplatNLP's (sae_model_final.pth + sae_config.json), which loads as a ReluSAE.

No pickle: reference checkpoints are read with torch.load(weights_only=True).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from splat_core.atomic import atomic_dir
from splat_core.checkpoints import METRICS_JSON, SAE_CONFIG, SAE_WEIGHTS
from splat_core.sae.base import SparseAutoencoder
from splat_core.sae.config import SAEConfig
from splat_core.sae.registry import build_sae
from splat_core.sae.relu import ReluSAE

WEIGHTS, CONFIG, METRICS = SAE_WEIGHTS, SAE_CONFIG, METRICS_JSON  # the contract's names
REFERENCE_WEIGHTS = "sae_model_final.pth"
REFERENCE_RUN_CONFIG = "sae_run_config.json"  # the reference's CLI dump, a fallback for dims


# --- loading --------------------------------------------------------------------------------


def load_sae(path: str | Path, device: str | torch.device = "cpu") -> SparseAutoencoder:
    """Load an SAE directory, ours or a reference one; the module is returned in eval mode."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: SAE directory not found")
    if (path / WEIGHTS).exists():
        sae = _load_ours(path)
    elif (path / REFERENCE_WEIGHTS).exists():
        sae = _load_reference(path)
    else:
        raise FileNotFoundError(f"{path}: neither {WEIGHTS} nor {REFERENCE_WEIGHTS} found")
    return sae.to(device).eval()


def read_sae_config(path: str | Path) -> SAEConfig:
    """The SAEConfig saved beside our weights (extra provenance keys are ignored)."""
    file = Path(path) / CONFIG
    raw = _read_json(file)
    if "arch" not in raw:
        raise ValueError(f"{file}: no 'arch' key (a reference config? load_sae handles those)")
    try:
        return SAEConfig.from_dict(raw)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{file}: {err}") from err


def read_metrics(path: str | Path) -> dict:
    """metrics.json of an SAE directory; {} when there is none (e.g. a reference directory)."""
    file = Path(path) / METRICS
    return _read_json(file) if file.exists() else {}


def _load_ours(path: Path) -> SparseAutoencoder:
    config = read_sae_config(path)
    sae = build_sae(config, torch.Generator().manual_seed(0))  # leaves the global RNG alone
    _load_state(sae, load_file(path / WEIGHTS), path / WEIGHTS, path / CONFIG)
    return sae


def _load_reference(path: Path) -> ReluSAE:
    file = path / REFERENCE_WEIGHTS
    input_dim, n_features = _reference_dims(path)
    state = _read_reference_state(file)
    # Training-only or unused entries; tolerate writers that drop them.
    state.setdefault("usage_ema", torch.zeros(n_features))
    state.setdefault("decoder.bias", torch.zeros(input_dim))
    sae = ReluSAE(input_dim, n_features, torch.Generator().manual_seed(0))
    _load_state(sae, state, file, path / CONFIG)
    return sae


def _reference_dims(path: Path) -> tuple[int, int]:
    """(input_dim, hidden_dim) from sae_config.json, else the reference's sae_run_config.json."""
    file = path / CONFIG
    if file.exists():
        raw = _read_json(file)
        input_key, hidden_key = "input_dim", "hidden_dim"
    elif (path / REFERENCE_RUN_CONFIG).exists():
        file = path / REFERENCE_RUN_CONFIG
        raw = _read_json(file)
        input_key, hidden_key = "sae_input_dim", "sae_hidden_dim"
    else:
        raise FileNotFoundError(f"{path}: {CONFIG} not found beside {REFERENCE_WEIGHTS}")
    try:
        input_dim = int(raw[input_key])
        if raw.get(hidden_key) is not None:
            return input_dim, int(raw[hidden_key])
        return input_dim, int(input_dim * float(raw["expansion_factor"]))  # as the reference
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(
            f"{file}: needs {input_key} and {hidden_key} (or expansion_factor): {err!r}"
        ) from err


def _read_reference_state(file: Path) -> dict[str, torch.Tensor]:
    try:
        raw = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for corrupt or non-weight files
        raise ValueError(f"{file}: not a readable weights-only checkpoint: {err}") from err
    for wrapper in ("model_state_dict", "state_dict"):
        if isinstance(raw, dict) and isinstance(raw.get(wrapper), dict):
            raw = raw[wrapper]
    if not isinstance(raw, dict):
        raise ValueError(f"{file}: expected a state_dict, got {type(raw).__name__}")
    # DDP and torch.compile prefixes, as for the model checkpoints.
    return {k.removeprefix("module.").removeprefix("_orig_mod."): v for k, v in raw.items()}


def _load_state(sae: SparseAutoencoder, state: dict, file: Path, config_file: Path) -> None:
    expected = sae.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise ValueError(
            f"{file}: keys do not match a {sae.arch} SAE (missing {missing[:5]}, "
            f"unexpected {unexpected[:5]})"
        )
    wrong = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if tuple(state[k].shape) != tuple(v.shape)
    ]
    if wrong:
        raise ValueError(f"{file}: shapes do not match {config_file.name}: {', '.join(wrong[:3])}")
    sae.load_state_dict({k: state[k].to(v.dtype) for k, v in expected.items()}, strict=True)


def _read_json(file: Path) -> dict:
    if not file.exists():
        raise FileNotFoundError(f"{file} not found")
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{file}: invalid JSON: {err}") from err
    if not isinstance(raw, dict):
        raise ValueError(f"{file}: expected a JSON object")
    return raw


# --- saving ---------------------------------------------------------------------------------


def save_sae(
    path: str | Path,
    sae: SparseAutoencoder,
    config: SAEConfig | dict | None = None,
    metrics: dict | None = None,
) -> Path:
    """Write weights, config and metrics into `path`, replacing it atomically."""
    with atomic_dir(path) as tmp:
        save_sae_files(tmp, sae, config, metrics)
    return Path(path)


def save_sae_files(
    directory: str | Path,
    sae: SparseAutoencoder,
    config: SAEConfig | dict | None = None,
    metrics: dict | None = None,
) -> None:
    """The files of `save_sae`, written into an existing (staging) directory.

    The architecture keys of sae_config.json always come from the module itself; `config`
    adds the training settings (an SAEConfig) or provenance (a dict, e.g. imported_from).
    """
    directory = Path(directory)
    state = {k: v.detach().cpu().contiguous() for k, v in sae.state_dict().items()}
    save_file(state, directory / WEIGHTS, metadata={"arch": sae.arch})
    (directory / CONFIG).write_text(json.dumps(config_record(sae, config), indent=2) + "\n")
    text = json.dumps(_jsonable(metrics or {}), indent=2, allow_nan=False)
    (directory / METRICS).write_text(text + "\n")


def config_record(sae: SparseAutoencoder, config: SAEConfig | dict | None) -> dict:
    arch = sae.arch_fields()
    if isinstance(config, SAEConfig):
        if config.arch != sae.arch:
            raise ValueError(f"config arch {config.arch!r} != module arch {sae.arch!r}")
        record = config.to_dict()
    elif isinstance(config, dict):
        record = {**SAEConfig(**arch).to_dict(), **config}
    elif config is None:
        record = SAEConfig(**arch).to_dict()
    else:
        raise TypeError(f"config must be SAEConfig, dict or None, not {type(config).__name__}")
    return record | arch


def _jsonable(value):
    """numpy scalars/arrays to Python; NaN and inf to None (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- provenance -----------------------------------------------------------------------------


def fingerprint(sae: SparseAutoencoder) -> str:
    """16 hex digits of the sha256 of the architecture and every state_dict tensor."""
    digest = hashlib.sha256(sae.arch.encode())
    for key, value in sae.state_dict().items():
        tensor = value.detach().cpu().contiguous()
        digest.update(f"{key}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]
