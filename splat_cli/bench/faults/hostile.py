"""Heavy and stalled clients against a live server: N clients send the most expensive
batch the API accepts, over and over, and S clients open a request and never finish its
body, while one prober measures `/health` and a top-20 request. Every heavy request must
either complete or be refused (503 + Retry-After) within its bound; stalled ones must be
cut off (408) after the body timeout."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import numpy as np

from splat_cli.bench.api import summarize
from splat_server.guard import BODY_TIMEOUT_S
from splat_server.limits import MAX_BATCH_COST

PARTS = ["stats", "tokens", "influence", "label", "examples"]


def heaviest_batch(n_features: int) -> dict:
    """The most expensive /batch/features body within MAX_BATCH_COST."""
    features = list(range(min(n_features, 256)))
    examples = min(100, MAX_BATCH_COST // len(features) - (len(PARTS) - 1))
    return {"feature_ids": features, "parts": PARTS, "top_k": 100, "examples": examples}


def solo_seconds(url: str, body: dict, repeats: int = 3) -> float:
    """Median time of the heavy request with nothing else running."""
    times = []
    with httpx.Client(base_url=url, timeout=120) as client:
        for _ in range(repeats):
            start = time.perf_counter()
            client.post("/batch/features", json=body).raise_for_status()
            times.append(time.perf_counter() - start)
    return float(np.median(times))


async def _heavy(client, body, stop, out) -> None:
    while time.perf_counter() < stop:
        start = time.perf_counter()
        retry_after = 0.0
        try:
            r = await client.post("/batch/features", json=body)
            kind = {200: "completed", 503: "refused"}.get(r.status_code, f"HTTP {r.status_code}")
            if kind == "refused" and "retry-after" not in r.headers:
                kind = "refused without Retry-After"
            elif kind == "refused":
                retry_after = float(r.headers["retry-after"])
        except httpx.HTTPError as e:
            kind = type(e).__name__
        out.append((kind, time.perf_counter() - start))
        if retry_after > 0:  # a client told to retry waits as told (at most 1 s here)
            await asyncio.sleep(min(1.0, retry_after))


IDLE_ROUNDS = 50  # probes of the server alone, before the load


def _heavy_clients(url: str, body: dict, clients: int, seconds: float, out: list) -> None:
    async def main():
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
            stop = time.perf_counter() + seconds
            await asyncio.gather(*(_heavy(client, body, stop, out) for _ in range(clients)))

    asyncio.run(main())


def _stalled(url: str, out: list) -> None:
    """Send headers and part of a body, then nothing: how long until the server answers."""
    host, port = url.removeprefix("http://").split(":")
    start = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=BODY_TIMEOUT_S * 3) as s:
        s.sendall(b"POST /batch/features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                  b"\r\nContent-Length: 5000\r\n\r\n{\"feature_ids\": [1, ")  # fmt: skip
        try:
            answer = s.recv(4096)
        except TimeoutError:
            answer = b""
    status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "none"
    out.append((status, time.perf_counter() - start))


def _probe(url: str, feature: int, stop: threading.Event, out: dict,
           rounds: int | None = None) -> None:  # fmt: skip
    """Time /health and a top-20 request every 50 ms until `stop` (or `rounds` times)."""
    with httpx.Client(base_url=url, timeout=120) as client:
        done = 0
        while not stop.is_set() and (rounds is None or done < rounds):
            for name, path in (("health", "/health"), ("top20", f"/features/{feature}/examples")):
                start = time.perf_counter()
                r = client.get(path, params={"k": 20} if name == "top20" else None)
                out[name].append(((time.perf_counter() - start) * 1000, r.status_code))
            done += 1
            stop.wait(0.05)


def hostile_load(url: str, clients: int = 40, stalled: int = 10, seconds: float = 20.0,
                 wait_s: float = 10.0) -> dict:  # fmt: skip
    """`wait_s`: the server's heavy-queue wait bound (SPLAT_API_HEAVY_WAIT_S)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        health = client.get("/health").json()
    body = heaviest_batch(health["n_features"])
    solo = solo_seconds(url, body)
    idle = {"health": [], "top20": []}
    _probe(url, 0, threading.Event(), idle, rounds=IDLE_ROUNDS)

    heavy, stalls, probes = [], [], {"health": [], "top20": []}
    stop = threading.Event()
    threads = [threading.Thread(target=_probe, args=(url, 0, stop, probes))]
    threads += [threading.Thread(target=_stalled, args=(url, stalls)) for _ in range(stalled)]
    for t in threads:
        t.start()
    _heavy_clients(url, body, clients, seconds, heavy)
    stop.set()
    for t in threads:
        t.join()

    # bounds: a refusal comes at once or when the queue wait ends; a completion within the
    # queue wait plus its work, which with the pool's workers sharing the cores can take
    # a few times the solo time
    refuse_bound = wait_s + 1.0
    complete_bound = wait_s + 4 * solo + 1.0
    completed = [s for k, s in heavy if k == "completed"]
    refused = [s for k, s in heavy if k == "refused"]
    other = [k for k, _ in heavy if k not in ("completed", "refused")]
    return {
        "clients": clients, "seconds": seconds, "stalled_clients": stalled,
        "heavy_body": {"features": len(body["feature_ids"]), "parts": PARTS,
                       "examples": body["examples"], "top_k": body["top_k"]},
        "heavy_solo_s": round(solo, 3),
        "heavy_requests": len(heavy), "completed": len(completed), "refused": len(refused),
        "other_answers": other,
        "completed_max_s": round(max(completed, default=0.0), 3),
        "refused_max_s": round(max(refused, default=0.0), 3),
        "complete_bound_s": round(complete_bound, 3), "refuse_bound_s": refuse_bound,
        "within_bounds": (all(s <= complete_bound for s in completed)
                          and all(s <= refuse_bound for s in refused) and not other),
        "health": _latency(probes["health"]), "top20": _latency(probes["top20"]),
        "idle": {"health": _latency(idle["health"]), "top20": _latency(idle["top20"])},
        "stalled": {"statuses": sorted({s for s, _ in stalls}),
                    "max_s": round(max((t for _, t in stalls), default=0.0), 3),
                    "timeout_s": BODY_TIMEOUT_S},
    }  # fmt: skip


def _latency(samples: list[tuple[float, int]]) -> dict:
    ms = [m for m, _ in samples]
    not_ok = sum(1 for _, status in samples if status != 200)
    return {**summarize(ms), "not_200": not_ok} if ms else {"n": 0, "not_200": not_ok}
