"""A throwaway API server for benchmarks: `python -m uvicorn splat_server.app:app` on a free
loopback port, in its own process (so client and server do not share an interpreter)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def api_server(
    home: Path, token: str | None = None, workers: int = 1, env: dict | None = None
) -> Iterator[str]:
    """The base URL of a server over `home`, stopped (and its log removed) on exit."""
    port = free_port()
    env = {**os.environ, "SPLAT_HOME": str(home), **(env or {})}
    if token:
        env["SPLAT_API_TOKEN"] = token
    with tempfile.TemporaryFile("w+") as log:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "splat_server.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--workers",
            str(workers),
        ]
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc, log)
            yield url
        except Exception as e:  # the server's side of the story, if it has one
            log.seek(0)
            state = "running" if proc.poll() is None else f"exited {proc.returncode}"
            e.add_note(f"API server at {url} ({state}), its log:\n{log.read()[-4000:]}")
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_healthy(url: str, proc: subprocess.Popen, log, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"API server exited with {proc.returncode}:\n{log.read()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"API server at {url} did not answer /health in {seconds:.0f} s")


@contextlib.contextmanager
def raw_server(body: bytes) -> Iterator[str]:
    """A plain socket thread answering every HTTP request with `body`: the floor of moving
    those bytes over loopback to the same client, with no framework and nothing computed."""
    sock = socket.create_server(("127.0.0.1", 0))
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n"
    head += b"content-length: %d\r\n\r\n" % len(body)

    def serve():
        with contextlib.suppress(OSError):
            while True:
                conn, _ = sock.accept()
                with conn, conn.makefile("rb") as requests:
                    while requests.readline():  # a request line, then headers to a blank line
                        while requests.readline() not in (b"\r\n", b""):
                            pass
                        conn.sendall(head)
                        conn.sendall(body)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
