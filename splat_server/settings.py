"""Server settings, read from the environment (never from request parameters)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from splat_core.store.homes import splat_home

LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'; False for 0.0.0.0, '::' and other hosts."""
    if host is None:
        return True
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerSettings:
    home: Path | str  # a local directory, or an fsspec URL (splat_core.store.homes)
    token: str | None = None  # SPLAT_API_TOKEN: needed for writes and on a public bind
    bind_host: str | None = None  # SPLAT_API_HOST, set by `splat serve api`
    cors_origins: tuple[str, ...] = field(default_factory=tuple)  # off unless configured
    check_every: float = 1.0  # seconds between looks for a new materialization
    cache_mb: int = 256  # answer cache for large activation lists; 0 turns it off
    heavy_workers: int = 2  # heavy requests running at once (splat_server/limits.py)
    heavy_queue: int = 8  # heavy requests waiting for a worker; more are refused (503)
    heavy_wait_s: float = 10.0  # the longest a heavy request waits for a worker

    @classmethod
    def from_env(cls) -> ServerSettings:
        origins = os.environ.get("SPLAT_API_CORS_ORIGINS", "")
        return cls(
            home=splat_home(None),
            token=os.environ.get("SPLAT_API_TOKEN") or None,
            bind_host=os.environ.get("SPLAT_API_HOST") or None,
            cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
            check_every=float(os.environ.get("SPLAT_API_REFRESH_S", "1.0")),
            cache_mb=int(os.environ.get("SPLAT_API_CACHE_MB", "256")),
            heavy_workers=int(os.environ.get("SPLAT_API_HEAVY_WORKERS", "2")),
            heavy_queue=int(os.environ.get("SPLAT_API_HEAVY_QUEUE", "8")),
            heavy_wait_s=float(os.environ.get("SPLAT_API_HEAVY_WAIT_S", "10")),
        )

    @property
    def public_bind(self) -> bool:
        return not is_loopback(self.bind_host)
