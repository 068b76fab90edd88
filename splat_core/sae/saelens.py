"""SAELens interchange: write any splat SAE as a directory SAELens loads
(`SAE.load_from_disk`), and read SAELens' standard, topk and jumprelu directories back.

A SAELens directory (sae-lens 6.x; checked against 6.54.12's `saes/sae.py`, `constants.py`,
`loading/pretrained_sae_loaders.py`) holds `cfg.json` and `sae_weights.safetensors` with
    W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in], b_dec [d_in], (jumprelu) threshold
and computes, with a = apply_b_dec_to_input and normalize_activations "none",
    h_pre = (x - a b_dec) @ W_enc + b_enc
    standard: relu(h_pre)   topk: relu of the k largest h_pre, others 0
    jumprelu: relu(h_pre) * (h_pre > threshold)
    x_hat = acts @ W_dec + b_dec   (topk with rescale_acts_by_decoder_norm: h_pre * ||W_dec_f||
                                    before the top-k, acts / ||W_dec_f|| before W_dec)
splat subtracts its pre-bias (b_dec) before encoding and decodes with unit-norm directions,
so the export writes W_dec = the unit directions (rows) and encode and decode agree exactly.
BatchTopK and Matryoshka export as jumprelu with their learned threshold per latent, as
SAELens saves its own. Exception: a relu SAE with the reference's cap on activations (6, the
default) is one SAELens' standard cannot express; the two agree wherever no activation
exceeds it, and exactly for a relu trained without the cap (sae.relu_act_cap=0), which is
also what a SAELens standard SAE imports as.

The import folds each latent's decoder norm n_f into the encoder (W_enc, b_enc and threshold
times n_f, W_dec / n_f): decode(encode(x)) is SAELens' exactly, and encode is too when the
decoder rows have unit norm (SAELens' own exports and splat's); otherwise splat's
activations are SAELens' times n_f. apply_b_dec_to_input=False is folded into b_enc.
No pickle: safetensors and JSON only.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from splat_core import __version__ as splat_version
from splat_core.atomic import atomic_dir
from splat_core.sae.base import SparseAutoencoder
from splat_core.sae.batchtopk import BatchTopKSAE
from splat_core.sae.io import fingerprint
from splat_core.sae.jumprelu import JumpReLUSAE
from splat_core.sae.relu import ReluSAE
from splat_core.sae.topk import TopKSAE

WEIGHTS = "sae_weights.safetensors"  # sae_lens.constants.SAE_WEIGHTS_FILENAME
CONFIG = "cfg.json"  # sae_lens.constants.SAE_CFG_FILENAME
# The format written: SAELens treats a config without a version >= 6 as a pre-6.0 one.
SAELENS_VERSION = "6.54.12"
SAELENS_ARCH = {
    "relu": "standard",
    "topk": "topk",
    "batchtopk": "jumprelu",
    "matryoshka": "jumprelu",
    "jumprelu": "jumprelu",
}
UNIT_NORM_TOL = 1e-4  # topk without rescaling: how far from 1 a decoder norm may be


# --- export ---------------------------------------------------------------------------------


def saelens_tensors(sae: SparseAutoencoder) -> dict[str, torch.Tensor]:
    """The SAELens state_dict of `sae`: float32, CPU, contiguous."""
    if isinstance(sae, ReluSAE):
        w_enc, b_enc = sae.encoder.weight, sae.encoder.bias
    else:
        w_enc, b_enc = sae.W_enc, sae.b_enc
    tensors = {
        "W_enc": w_enc.T,
        "b_enc": b_enc,
        "W_dec": sae.decoder_directions().T,
        "b_dec": sae.pre_bias,
    }
    if isinstance(sae, JumpReLUSAE | BatchTopKSAE):
        tensors["threshold"] = sae.threshold
    out = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in tensors.items()}
    bad = [k for k, v in out.items() if not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f"{sae.arch} SAE has non-finite values in {', '.join(bad)}")
    return out


def saelens_config(sae: SparseAutoencoder, provenance: dict | None = None) -> dict:
    """cfg.json for `sae`: SAELens' inference config; where it came from goes in `metadata`
    (SAELens keeps any key there, as `SAEMetadata` attributes)."""
    if sae.arch not in SAELENS_ARCH:
        raise ValueError(f"no SAELens architecture for splat arch {sae.arch!r}")
    splat = {
        "arch": sae.arch,
        "arch_fields": sae.arch_fields(),
        "version": splat_version,
        "fingerprint": fingerprint(sae),
        **(provenance or {}),
    }
    if isinstance(sae, ReluSAE) and sae.act_cap:
        splat["activation_cap"] = sae.act_cap
        splat["note"] = (
            f"this relu SAE caps activations at {sae.act_cap} (the reference's cap); SAELens' "
            "standard does not, so the two agree only where no activation exceeds it (train "
            "with sae.relu_act_cap=0 for an exact export)"
        )
    cfg = {
        "architecture": SAELENS_ARCH[sae.arch],
        "d_in": sae.input_dim,
        "d_sae": sae.n_features,
        "dtype": "float32",
        "device": "cpu",
        "apply_b_dec_to_input": True,
        "normalize_activations": "none",
        "reshape_activations": "none",
    }
    if isinstance(sae, TopKSAE):
        cfg |= {"k": sae.k, "rescale_acts_by_decoder_norm": False}  # W_dec rows are unit
    cfg["metadata"] = {
        "sae_lens_version": SAELENS_VERSION,
        "sae_lens_training_version": None,  # not trained by SAELens
        "splat": splat,
    }
    return cfg


def export_saelens(
    sae: SparseAutoencoder, out_dir: str | Path, provenance: dict | None = None
) -> dict:
    """Write `sae` into `out_dir` as a SAELens directory (replaced atomically; an existing
    directory may hold only cfg.json and sae_weights.safetensors). `provenance` (JSON) is
    added to cfg.json's metadata.splat. Returns what was written."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a directory")
    foreign = (
        sorted(p.name for p in out.iterdir() if p.name not in (WEIGHTS, CONFIG))
        if out.exists()
        else []
    )
    if foreign:
        raise ValueError(
            f"{out}: holds other files ({', '.join(foreign[:5])}); choose a new or empty directory"
        )
    tensors, cfg = saelens_tensors(sae), saelens_config(sae, provenance)
    with atomic_dir(out) as tmp:
        save_file(tensors, tmp / WEIGHTS, metadata={"format": "pt"})
        (tmp / CONFIG).write_text(json.dumps(cfg, indent=2) + "\n")
    return {
        "path": str(out),
        "format": "saelens",
        "architecture": cfg["architecture"],
        "splat_arch": sae.arch,
        "d_in": sae.input_dim,
        "d_sae": sae.n_features,
        "files": [CONFIG, WEIGHTS],
        "tensors": {k: list(v.shape) for k, v in tensors.items()},
        "saelens_version": SAELENS_VERSION,
        "fingerprint": cfg["metadata"]["splat"]["fingerprint"],
        "note": cfg["metadata"]["splat"].get("note"),
    }


# --- import ---------------------------------------------------------------------------------


def import_saelens(path: str | Path) -> SparseAutoencoder:
    """The splat SAE of a SAELens directory: standard -> ReluSAE, topk -> TopKSAE, jumprelu
    (also SAELens' saved BatchTopK and Matryoshka) -> JumpReLUSAE; in eval mode, float32.
    ValueError naming the path for a missing file, an unsupported architecture or setting,
    or tensors whose names or shapes do not fit the config."""
    path = Path(path)
    cfg = _read_cfg(path)
    arch = cfg["architecture"]
    if arch not in ("standard", "topk", "jumprelu"):
        raise ValueError(
            f"{path / CONFIG}: architecture {arch!r} is not supported (standard, topk, jumprelu)"
        )
    norm = cfg.get("normalize_activations") or "none"
    if norm != "none":
        raise ValueError(
            f"{path / CONFIG}: normalize_activations={norm!r} is not supported "
            "(fold the normalisation into the weights first)"
        )
    d_in, d_sae = _dim(cfg, "d_in", path), _dim(cfg, "d_sae", path)
    t = _read_tensors(path, arch, d_in, d_sae)
    w_enc, b_enc, w_dec, b_dec = t["W_enc"], t["b_enc"], t["W_dec"], t["b_dec"]
    if not cfg.get("apply_b_dec_to_input", True):  # x @ W_enc = (x - b_dec) @ W_enc + b_dec @ W_enc
        b_enc = b_enc + b_dec @ w_enc
    n = w_dec.norm(dim=1).clamp_min(1e-8)  # [d_sae]; SAELens clamps the same way
    if float((n - 1).abs().max()) <= 1e-6:  # unit rows in float32: keep the weights as they are
        n = torch.ones_like(n)
    if arch == "topk" and not cfg.get("rescale_acts_by_decoder_norm", False):
        # the top-k is taken before any norm: folding n_f would change which latents win
        worst = float((n - 1).abs().max())
        if worst > UNIT_NORM_TOL:
            raise ValueError(
                f"{path}: a topk SAE without rescale_acts_by_decoder_norm needs "
                f"unit-norm W_dec rows (max |norm - 1| = {worst:.3g})"
            )
    w_enc_s, b_enc_s, directions = (w_enc * n).T, b_enc * n, (w_dec / n[:, None]).T
    gen = torch.Generator().manual_seed(0)  # leaves the global RNG alone
    if arch == "standard":
        sae = ReluSAE(d_in, d_sae, gen, act_cap=0.0)  # SAELens' standard has no cap
        state = {
            "decoder_bias": b_dec,
            "usage_ema": torch.zeros(d_sae),
            "encoder.weight": w_enc_s,
            "encoder.bias": b_enc_s,
            "decoder.weight": directions,
            "decoder.bias": torch.zeros(d_in),
        }
    else:
        state = {"b_dec": b_dec, "W_enc": w_enc_s, "b_enc": b_enc_s, "W_dec": directions}
        if arch == "topk":
            sae = TopKSAE(d_in, d_sae, _k(cfg, d_sae, path), gen)
        else:
            sae = JumpReLUSAE(d_in, d_sae, generator=gen)
            # relu(h) * (h > t) for t <= 0 is h * (h > 0): log(0) = -inf is exact
            state["log_threshold"] = (t["threshold"] * n).clamp_min(0).log()
    sae.load_state_dict({k: v.contiguous() for k, v in state.items()}, strict=True)
    return sae.eval()


def _read_cfg(path: Path) -> dict:
    if not path.is_dir():
        raise ValueError(
            f"{path}: not a directory (a SAELens SAE is a directory with {CONFIG} and {WEIGHTS})"
        )
    file = path / CONFIG
    if not file.is_file():
        raise ValueError(f"{path}: {CONFIG} not found (not a SAELens SAE directory)")
    try:
        cfg = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{file}: invalid JSON: {err}") from err
    if not isinstance(cfg, dict):
        raise ValueError(f"{file}: expected a JSON object")
    if "architecture" not in cfg:  # pre-6.0 configs, defaulted as SAELens does
        act = cfg.get("activation_fn", cfg.get("activation_fn_str", "relu"))
        k = (cfg.get("activation_fn_kwargs") or {}).get("k")
        cfg = {**cfg, "architecture": "topk" if act == "topk" and k is not None else "standard"}
        cfg.setdefault("k", k)
    return cfg


def _dim(cfg: dict, key: str, path: Path) -> int:
    value = cfg.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{path / CONFIG}: {key} must be a positive integer, got {value!r}")
    return value


def _k(cfg: dict, d_sae: int, path: Path) -> int:
    k = cfg.get("k")
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= d_sae:
        raise ValueError(f"{path / CONFIG}: topk needs k in [1, d_sae={d_sae}], got {k!r}")
    return k


def _read_tensors(path: Path, arch: str, d_in: int, d_sae: int) -> dict[str, torch.Tensor]:
    file = path / WEIGHTS
    if not file.is_file():
        raise ValueError(f"{path}: {WEIGHTS} not found")
    try:
        raw = load_file(file)
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"{file}: not a readable safetensors file: {err}") from err
    if "log_threshold" in raw and "threshold" not in raw:  # older SAELens checkpoints
        raw["threshold"] = raw.pop("log_threshold").exp()
    scale = raw.pop("scaling_factor", None)
    if scale is not None and not torch.allclose(scale, torch.ones_like(scale)):
        raise ValueError(f"{file}: a finetuning scaling_factor other than 1 is not supported")
    shapes = {"W_enc": (d_in, d_sae), "b_enc": (d_sae,), "W_dec": (d_sae, d_in), "b_dec": (d_in,)}
    if arch == "jumprelu":
        shapes["threshold"] = (d_sae,)
    missing = [k for k in shapes if k not in raw]
    extra = [k for k in raw if k not in shapes]
    if missing or extra:
        raise ValueError(
            f"{file}: tensors do not match a SAELens {arch} SAE "
            f"(missing {missing}, unexpected {extra})"
        )
    wrong = [
        f"{k} {tuple(raw[k].shape)} != {s}" for k, s in shapes.items() if tuple(raw[k].shape) != s
    ]
    if wrong:
        raise ValueError(
            f"{file}: shapes do not match {CONFIG} (d_in={d_in}, d_sae={d_sae}): "
            + ", ".join(wrong)
        )
    out = {k: v.to(torch.float32) for k, v in raw.items()}
    bad = [k for k, v in out.items() if not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f"{file}: non-finite values in {', '.join(bad)}")
    return out
