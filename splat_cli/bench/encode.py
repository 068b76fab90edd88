"""Encode throughput (model forward to the pooled vector, SAE encode, sparsify: samples/s)
beside the machine's own matrix-multiply rate for the same shapes, measured in the same run.

The roofline is the time the encode's matrix multiplies (every mm/addmm/bmm/baddbmm at any
depth, and fused attention's two batched products) take alone, as plain `torch` products of
those shapes on these threads; `fraction_of_roofline` = that time / the measured encode time
(1.0 = the encode costs no more than its matrix multiplies)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from splat_core.builds.samples import SampleTable
from splat_core.model.pooled import pooled_vectors
from splat_core.sae import encode_csr
from splat_core.store.artifacts import open_artifact, read_samples_dir
from splat_core.store.catalog import current_path, read_catalog

# Leaf matrix products as the profiler names them, and where their operands are.
_PRODUCTS = {"aten::mm": (0, 1), "aten::addmm": (1, 2), "aten::bmm": (0, 1),
             "aten::baddbmm": (1, 2)}  # fmt: skip
# Fused attention kernels: Q K^T and P V inside one op (the math fallback shows up as bmm).
_FUSED_ATTENTION = ("aten::_scaled_dot_product_flash_attention_for_cpu",
                    "aten::_scaled_dot_product_efficient_attention")  # fmt: skip


def matmul_shapes(run) -> Counter:
    """(batch, m, k, n) -> count of every matrix product `run()` executes, at any depth.

    Recorded with the profiler, which sees the products inside fused modules (the
    transformer fast path, native multi-head attention) that a dispatch mode would miss."""
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        run()
    shapes: Counter = Counter()
    for event in prof.events():
        dims = event.input_shapes
        if event.name in _PRODUCTS:
            i, j = _PRODUCTS[event.name]
            a, b = dims[i], dims[j]
            batch = a[0] if len(a) == 3 else 1
            shapes[(batch, a[-2], a[-1], b[-1])] += 1
        elif event.name in _FUSED_ATTENTION:
            q, k = dims[0], dims[1]  # [B, H, L, D], [B, H, S, D]
            bh = int(np.prod(q[:-2]))
            shapes[(bh, q[-2], q[-1], k[-2])] += 1
            shapes[(bh, q[-2], k[-2], q[-1])] += 1
    return shapes


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
    model = open_artifact(current_path(home, "base_model")).eval()
    sae = open_artifact(current_path(home, "sae")).eval()
    encode(model, sae, samples, batch_size)  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        indptr, _, _ = encode(model, sae, samples, batch_size)
        seconds.append(time.perf_counter() - start)
    shapes = matmul_shapes(lambda: encode(model, sae, samples, batch_size))
    roofline = sum(n * matmul_seconds(s) for s, n in shapes.items())
    flops = sum(2 * n * b * m * k * o for (b, m, k, o), n in shapes.items())
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
        "distinct_matmul_shapes": len(shapes),
    }
