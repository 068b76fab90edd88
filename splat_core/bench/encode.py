"""Encode throughput (model forward to the pooled vector, SAE encode, sparsify: samples/s)
beside the machine's own matrix-multiply rate for the same shapes, measured in the same run.

The roofline is the time the encode's matrix multiplies (every mm/addmm/bmm, and attention's
two batched products) take alone, as plain `torch` products of those shapes on these
threads; `fraction_of_roofline` = that time / the measured encode time (1.0 = the encode
costs no more than its matrix multiplies)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from splat_core.artifacts import load_checkpoint, read_samples_dir
from splat_core.catalog import current_path, read_catalog
from splat_core.sae import encode_csr
from splat_core.samples import SampleTable, pooled_vectors

aten = torch.ops.aten


class MatmulShapes(TorchDispatchMode):
    """Counts (batch, m, k, n) of every matrix product run under it."""

    def __init__(self):
        super().__init__()
        self.shapes: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        packet = func.overloadpacket
        if packet in (aten.mm, aten.addmm):
            a, b = (args[0], args[1]) if packet is aten.mm else (args[1], args[2])
            self.shapes[(1, a.shape[0], a.shape[1], b.shape[1])] += 1
        elif packet in (aten.bmm, aten.baddbmm):
            a, b = (args[0], args[1]) if packet is aten.bmm else (args[1], args[2])
            self.shapes[(a.shape[0], a.shape[1], a.shape[2], b.shape[2])] += 1
        elif "scaled_dot_product" in packet.__name__:
            q, k = args[0], args[1]  # [B, H, L, D], [B, H, S, D]: Q K^T, then P V
            bh = int(np.prod(q.shape[:-2]))
            self.shapes[(bh, q.shape[-2], q.shape[-1], k.shape[-2])] += 1
            self.shapes[(bh, q.shape[-2], k.shape[-2], q.shape[-1])] += 1
        return func(*args, **kwargs)


def matmul_seconds(shape: tuple[int, int, int, int], repeats: int = 5) -> float:
    """Median seconds of one float32 product of this (batch, m, k, n) shape."""
    b, m, k, n = shape
    x, y = torch.randn(b, m, k), torch.randn(b, k, n)
    run = (lambda: torch.mm(x[0], y[0])) if b == 1 else (lambda: torch.bmm(x, y))
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def encode(model, sae, samples, batch_size: int):
    with torch.inference_mode():
        return encode_csr(sae, pooled_vectors(model, samples, batch_size), batch_size)


def bench_encode(home: Path, max_samples: int = 20_000, batch_size: int = 4096,
                 repeats: int = 3) -> dict:  # fmt: skip
    """Encode the first shard's first `max_samples` samples `repeats` times (median)."""
    shard = sorted(read_catalog(home)["samples"]["partitions"])[0]
    samples = read_samples_dir(current_path(home, "samples", shard))
    keep = np.arange(min(max_samples, len(samples)))
    samples = SampleTable(samples.sample_id[keep], samples.build_id[keep],
                          samples.instance[keep], samples.inputs.subset(keep))  # fmt: skip
    model = load_checkpoint(current_path(home, "base_model")).eval()
    sae = load_checkpoint(current_path(home, "sae")).eval()
    encode(model, sae, samples, batch_size)  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        indptr, _, _ = encode(model, sae, samples, batch_size)
        seconds.append(time.perf_counter() - start)
    with MatmulShapes() as recorder:
        encode(model, sae, samples, batch_size)
    roofline = sum(n * matmul_seconds(s) for s, n in recorder.shapes.items())
    flops = sum(2 * n * b * m * k * o for (b, m, k, o), n in recorder.shapes.items())
    median = float(np.median(seconds))
    return {
        "samples": len(samples),
        "nnz": int(indptr[-1]),
        "seconds": round(median, 4),
        "samples_per_s": round(len(samples) / median, 1),
        "matmul_gflop": round(flops / 1e9, 3),
        "matmul_roofline_seconds": round(roofline, 4),
        "roofline_gflop_per_s": round(flops / roofline / 1e9, 2),
        "encode_fraction_of_roofline": round(roofline / median, 3),
        "torch_threads": torch.get_num_threads(),
        "distinct_matmul_shapes": len(recorder.shapes),
    }
