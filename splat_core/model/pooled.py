"""The model's pooled representation of each sample: the SAE's input."""

from __future__ import annotations

import numpy as np
import torch

from splat_core.builds.samples import SampleTable
from splat_core.builds.subsets import padded_tokens


@torch.inference_mode()
def pooled_vectors(model, samples: SampleTable, batch_size: int = 4096) -> np.ndarray:
    """float32 [n, hidden]: the model's masked-mean vector (the SAE's input) per sample.

    Samples go through in order of length, so each batch is padded only to its own longest
    input (most partial builds are short): about half the work of padding to 15."""
    model.eval()
    device = next(model.parameters()).device
    lengths = samples.inputs.lengths
    order = np.argsort(lengths, kind="stable")
    out = np.empty((len(samples), model.output_layer.in_features), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        part = order[start : start + batch_size]
        width = max(int(lengths[part].max()), 1)
        tokens = torch.from_numpy(padded_tokens(samples.inputs, part, width)).to(device)
        weapons = torch.from_numpy(samples.inputs.weapon[part].astype(np.int64)[:, None]).to(device)
        out[part] = model.pooled(tokens, weapons).float().cpu().numpy()
    return out
