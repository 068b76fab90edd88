"""Helpers for tests that start real services (a Dask cluster, PostgreSQL) as child processes,
and for comparing materialized artifacts by content."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import zarr


def start(argv: Sequence[str], env: dict[str, str], log: Path, **kwargs) -> subprocess.Popen:
    """A child in its own session (so that stopping it reaches nothing else), output to `log`."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            list(argv), env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, **kwargs,
        )  # fmt: skip


def stop(*procs: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM each child's process group (by its pid), then SIGKILL what lingers."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        live = [p for p in procs if p.poll() is None]
        for proc in live:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
        deadline = time.monotonic() + wait
        for proc in live:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.0, deadline - time.monotonic()))


def wait_for(ready: Callable[[], bool], timeout: float, what: str,
             procs: Sequence[subprocess.Popen] = ()) -> None:  # fmt: skip
    """Poll `ready` until true; fail early if one of `procs` exited."""
    deadline = time.monotonic() + timeout
    while not ready():
        dead = [p.args for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError(f"waiting for {what}: exited: {dead}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f}s")
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def artifact_content(root: Path) -> dict[str, object]:
    """Every Parquet table and Zarr array under a published version, by relative path."""
    out: dict[str, object] = {}
    for path in sorted(root.rglob("*.parquet")):
        out[str(path.relative_to(root))] = pq.read_table(path)
    for meta in sorted(root.rglob("zarr.json")):
        node = zarr.open(str(meta.parent), mode="r")
        if isinstance(node, zarr.Array):
            out[str(meta.parent.relative_to(root))] = node[...]
    return out


def content_diff(a: dict[str, object], b: dict[str, object]) -> list[str]:
    """The paths whose content differs (or exists on one side only)."""
    diff = sorted(set(a) ^ set(b))
    for key in sorted(set(a) & set(b)):
        x, y = a[key], b[key]
        equal = (np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
                 if isinstance(x, np.ndarray) else x.equals(y))  # fmt: skip
        if not equal:
            diff.append(key)
    return diff
