"""A bounded load test: N concurrent clients on loopback for a fixed time, mixed endpoints.
Reports throughput, latency percentiles and every error (a non-2xx answer or a failed
connection), per endpoint."""

from __future__ import annotations

import asyncio
import time

import httpx
import numpy as np

from splat_cli.bench.api import summarize

READ_KINDS = ("top20", "summary", "stats", "arrow_top1000", "quantiles", "sample", "label",
              "health")  # fmt: skip
MIXES = {"read": READ_KINDS, "all": (*READ_KINDS, "encode")}  # encode runs the model


def request_mix(n_features: int, n_samples: int, weapon_id: int, mix: str, seed: int = 0):
    """An endless stream of (name, method, path, params, body), seeded."""
    rng = np.random.default_rng(seed)
    build = {"weapon_id": weapon_id, "abilities": {"swim_speed_up": 12, "ninja_squid": 10}}
    kinds = MIXES[mix]
    while True:
        f = int(rng.integers(n_features))
        kind = kinds[int(rng.integers(len(kinds)))]
        yield {
            "top20": ("top20", "GET", f"/features/{f}/examples", {"k": 20}, None),
            "summary": ("summary", "GET", f"/features/{f}", {}, None),
            "stats": ("stats", "GET", f"/features/{f}/stats", {}, None),
            "arrow_top1000": ("arrow_top1000", "GET", f"/activations/{f}/arrow",
                              {"limit": 1000}, None),
            "quantiles": ("quantiles", "GET", f"/features/{f}/examples/quantiles", {}, None),
            "sample": ("sample", "GET", f"/samples/{int(rng.integers(n_samples))}", {}, None),
            "label": ("label", "GET", f"/labels/{f}", {}, None),
            "encode": ("encode", "POST", "/encode", {}, build),
            "health": ("health", "GET", "/health", {}, None),
        }[kind]  # fmt: skip


async def _client(client, mix, stop: float, results: list) -> None:
    while time.perf_counter() < stop:
        name, method, path, params, body = next(mix)
        start = time.perf_counter()
        try:
            r = await client.request(method, path, params=params, json=body)
            await r.aread()
            error = None if r.is_success else f"HTTP {r.status_code}"
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"
        results.append((name, (time.perf_counter() - start) * 1000, error))


async def _run(url: str, clients: int, seconds: float, mix) -> list:
    results: list = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        stop = time.perf_counter() + seconds
        await asyncio.gather(*(_client(client, mix, stop, results) for _ in range(clients)))
    return results


def load_test(
    url: str, clients: int = 16, seconds: float = 30.0, mix: str = "all", seed: int = 0
) -> dict:
    with httpx.Client(base_url=url, timeout=60) as c:
        health = c.get("/health").json()
        weapon = int(next(iter(c.get("/context/vocab").json()["weapon_vocab"])).split("_")[-1])
    requests = request_mix(health["n_features"], health["n_samples"], weapon, mix, seed)
    start = time.perf_counter()
    results = asyncio.run(_run(url, clients, seconds, requests))
    elapsed = time.perf_counter() - start
    errors = [(n, e) for n, _, e in results if e]
    by_name: dict[str, list[float]] = {}
    for name, ms, _ in results:
        by_name.setdefault(name, []).append(ms)
    return {
        "mix": mix,
        "endpoints": list(MIXES[mix]),
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": len(results),
        "errors": len(errors),
        "error_examples": sorted({e for _, e in errors})[:5],
        "throughput_rps": round(len(results) / elapsed, 1),
        "latency": summarize([ms for _, ms, _ in results]),
        "by_endpoint": {k: summarize(v) for k, v in sorted(by_name.items())},
    }
