"""`splat bench api`: latency through HTTP (median, p99) of the endpoints researchers hit most,
beside the seed's layout read the seed's way (dense transposed Zarr, whole row then nonzero
filter) for the same features, in the same run."""

from __future__ import annotations

import http.client
import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa

from splat_cli.bench.dense_zarr import read_dense_feature, write_dense_rows
from splat_cli.bench.http import api_server, raw_server
from splat_core.query import Reader


def summarize(ms: list[float]) -> dict:
    a = np.asarray(ms, dtype=np.float64)
    return {"n": len(a), "median_ms": round(float(np.median(a)), 3),
            "p99_ms": round(float(np.quantile(a, 0.99)), 3),
            "min_ms": round(float(a.min()), 3)}  # fmt: skip


def timed(fn: Callable[[], object], repeats: int) -> tuple[list[float], object]:
    """Milliseconds of each call after one untimed warm-up call (whose result is returned)."""
    out = fn()
    ms = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - start) * 1000)
    return ms, out


def pick_features(reader: Reader, n_mid: int = 3) -> list[int]:
    """The largest feature, the nearest to 100K activations, and a few of median size."""
    counts = reader.feature_counts()
    order = np.argsort(-counts, kind="stable")
    chosen = [int(order[0]), int(np.argmin(np.abs(counts - 100_000)))]
    nonzero = order[counts[order] > 0]
    mid = nonzero[len(nonzero) // 2 : len(nonzero) // 2 + n_mid]
    return list(dict.fromkeys(chosen + [int(f) for f in mid]))


class Client:
    """A keep-alive HTTP/1.1 connection (the standard library's, as `requests` uses under
    the hood); `get` returns the body and fails on any non-200 answer."""

    def __init__(self, url: str):
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=300)

    def get(self, path: str) -> bytes:
        try:
            self.conn.request("GET", path)
            r = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):
            # the server closed the idle connection (uvicorn's keep-alive is 5 s): reconnect,
            # as requests does; only ever the untimed warm-up call after a long pause
            self.conn.close()
            self.conn.request("GET", path)
            r = self.conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"GET {path}: HTTP {r.status} {body[:200]!r}")
        return body

    def close(self) -> None:
        self.conn.close()


def reference_client_call(url: str, f: int, route: str) -> int:
    """What the reference project's client does for one call: a new connection, `/health`,
    the activation list (`arrow`: parsed with `polars.read_ipc`; `json`: the `data` rows).
    Returns the rows."""
    import polars as pl

    with httpx.Client(base_url=url, timeout=300) as client:
        client.get("/health").raise_for_status()
        r = client.get(f"/activations/{f}/arrow" if route == "arrow" else f"/activations/{f}")
        r.raise_for_status()
    if route == "arrow":
        return pl.read_ipc(io.BytesIO(r.content)).height
    return len(r.json()["data"])


def bench_http(url: str, features: list[int], repeats: int, json_repeats: int) -> dict:
    out: dict[str, dict] = {}
    client = Client(url)
    try:
        for f in features:
            row: dict[str, dict] = {}
            ms, _ = timed(lambda f=f: client.get(f"/features/{f}/examples?k=20"), repeats)
            row["top20_examples"] = summarize(ms)
            ms, _ = timed(lambda f=f: client.get(f"/features/{f}"), repeats)
            row["feature_summary"] = summarize(ms)
            ms, body = timed(lambda f=f: client.get(f"/activations/{f}/arrow"), repeats)
            rows = pa.ipc.open_file(pa.py_buffer(body)).read_all().num_rows
            row["activations_arrow"] = {**summarize(ms), "rows": rows, "bytes": len(body)}
            compact = f"/activations/{f}/arrow?shape=splat&format=stream"
            ms, body = timed(lambda p=compact: client.get(p), repeats)
            row["activations_arrow_compact_stream"] = {**summarize(ms), "bytes": len(body)}
            ms, body = timed(lambda f=f: client.get(f"/activations/{f}"), json_repeats)
            row["activations_json"] = {**summarize(ms), "bytes": len(body)}
            for route, n in (("arrow", repeats), ("json", json_repeats)):
                ms, got = timed(lambda f=f, route=route: reference_client_call(url, f, route), n)
                row[f"reference_client_{route}"] = {**summarize(ms), "rows": got}
            out[str(f)] = row
    finally:
        client.close()
    return out


def bench_reads(reader: Reader, dense, features: list[int], repeats: int) -> dict:
    """In-process: our feature read vs the seed's dense row read, same features, same run."""
    out = {}
    for f in features:
        ours, (ids, _) = timed(lambda f=f: reader.activations(f), repeats)
        seed, (dense_ids, _) = timed(lambda f=f: read_dense_feature(dense, f), repeats)
        if not np.array_equal(np.sort(ids), dense_ids):
            raise AssertionError(f"feature {f}: the dense read disagrees with the feature store")
        out[str(f)] = {"nnz": len(ids), "ours": summarize(ours), "dense_zarr": summarize(seed),
                       "ratio": round(float(np.median(seed) / np.median(ours)), 1)}  # fmt: skip
    return out


def bench_api(
    home: Path,
    repeats: int = 30,
    json_repeats: int = 5,
    dense_dir: Path | None = None,
    features: list[int] | None = None,
) -> dict:
    """`features` defaults to `pick_features`; the first one is reported as `largest`."""
    reader = Reader.open(home)
    features = list(features) if features else pick_features(reader)
    if dense_dir is not None:
        dense_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dense_dir) as tmp:
        dense = write_dense_rows(Path(tmp) / "dense.zarr", reader.csc, features,
                                 reader.n_samples, reader.n_features)  # fmt: skip
        reads = bench_reads(reader, dense, features, repeats)
    # the answer cache off: every request rebuilds its answer; then on, as served by default
    with api_server(home, env={"SPLAT_API_CACHE_MB": "0"}) as url:
        http = bench_http(url, features, repeats, json_repeats)
    with api_server(home) as url:
        cached = bench_http(url, features[:1], repeats, json_repeats)
        body = Client(url).get(f"/activations/{features[0]}/arrow")
    with raw_server(body) as url:  # the same bytes, no framework: the loopback floor
        client = Client(url)
        floor, _ = timed(lambda: client.get("/"), repeats)
        client.close()
    for f, row in http.items():
        seed_ms = reads[f]["dense_zarr"]["median_ms"]
        row["arrow_ratio_vs_dense_zarr"] = round(seed_ms / row["activations_arrow"]["median_ms"], 1)
    largest = str(features[0])
    read_ratios = [r["ratio"] for r in reads.values()]
    return {
        "home": str(home),
        "n_samples": reader.n_samples,
        "n_features": reader.n_features,
        "features": features,
        "client": "http.client keep-alive connection, one request at a time; reference_client_*:"
        " a new connection, /health, the list, parsed (polars.read_ipc or JSON rows)",
        "reads": reads,
        "http": http,
        "http_cached": cached,
        "read_ratio_median": float(np.median(read_ratios)),
        "largest": {
            "feature": features[0],
            "nnz": reads[largest]["nnz"],
            "arrow_median_ms": http[largest]["activations_arrow"]["median_ms"],
            "arrow_cached_median_ms": cached[largest]["activations_arrow"]["median_ms"],
            "arrow_bytes": len(body),
            "raw_socket_same_bytes": summarize(floor),
            "top20_median_ms": http[largest]["top20_examples"]["median_ms"],
            "read_ratio_vs_dense_zarr": reads[largest]["ratio"],
            "arrow_ratio_vs_dense_zarr": http[largest]["arrow_ratio_vs_dense_zarr"],
        },
    }


ROUTES = {  # report key: what it times (all through HTTP)
    "top20_examples": "GET /features/{f}/examples?k=20",
    "feature_summary": "GET /features/{f}",
    "activations_arrow": "GET /activations/{f}/arrow (the reference's IPC file)",
    "activations_arrow_compact_stream": "... ?shape=splat&format=stream (compact)",
    "activations_json": "GET /activations/{f} (JSON rows)",
    "reference_client_arrow": "reference client: connect, /health, arrow, polars.read_ipc",
    "reference_client_json": "reference client: connect, /health, JSON, data rows",
}


def render_api(report: dict) -> str:
    """The report as text: per feature (answer cache off), then the largest feature's routes
    with the cache off and on, beside the raw-socket floor and the dense Zarr read."""
    heads = ["feature", "nnz", "read", "dense", "top20", "summary", "arrow", "compact", "json",
             "ref.arrow", "ref.json"]  # fmt: skip
    lines = [f"{report['n_samples']:,} samples x {report['n_features']:,} features",
             " ".join(f"{h:>9}" for h in heads)]  # fmt: skip
    for f, answers in report["http"].items():
        r = report["reads"][f]
        cells = [r["ours"]["median_ms"], r["dense_zarr"]["median_ms"]]
        cells += [answers[k]["median_ms"] for k in ROUTES]
        lines.append(f"{f:>9} {r['nnz']:>9,} " + " ".join(f"{c:>9.2f}" for c in cells))
    lines.append("(medians in ms, answer cache off; read, dense: in-process, our feature read "
                 "and the seed's dense transposed Zarr row read)")  # fmt: skip
    big = report["largest"]
    f = str(big["feature"])
    lines += ["", f"largest feature {f}: {big['nnz']:,} rows; ms through HTTP, median / p99",
              f"{'':62} {'cache off':>17} {'cache on':>17}"]  # fmt: skip

    def cell(t: dict) -> str:
        return f"{t['median_ms']:>8.2f} /{t['p99_ms']:>7.2f}"

    for key, what in ROUTES.items():
        lines.append(
            f"{what:62} {cell(report['http'][f][key])} {cell(report['http_cached'][f][key])}"
        )
    raw = f"the same Arrow bytes ({big['arrow_bytes']:,} B) from a raw socket"
    lines.append(f"{raw:62} {cell(big['raw_socket_same_bytes'])}")
    dense = "the seed's dense transposed Zarr read (in-process)"
    lines.append(f"{dense:62} {cell(report['reads'][f]['dense_zarr'])}")
    return "\n".join(lines) + "\n"
