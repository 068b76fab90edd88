"""Where each materialized asset lives under SPLAT_HOME, and its metadata.

Every asset is a directory `<home>/<asset>/` published atomically, holding its files and a
`metadata.json`; `read_catalog` is what `splat info` prints.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from splat_core.storage import atomic_dir

METADATA = "metadata.json"


def asset_dir(home: Path, asset: str) -> Path:
    return Path(home) / asset


def publish_asset(home: Path, asset: str, write: Callable[[Path], dict]) -> dict:
    """Run `write(tmp_dir) -> metadata` and publish the directory in one rename."""
    with atomic_dir(asset_dir(home, asset)) as tmp:
        metadata = write(tmp)
        (tmp / METADATA).write_text(json.dumps(metadata, indent=2, default=str) + "\n")
    return metadata


def read_catalog(home: Path) -> dict[str, dict]:
    """{asset: {"path": ..., "metadata": {...}}} for every published asset under `home`."""
    home = Path(home)
    out = {}
    if not home.is_dir():
        return out
    for meta in sorted(home.glob(f"*/{METADATA}")):
        out[meta.parent.name] = {
            "path": str(meta.parent.resolve()),
            "metadata": json.loads(meta.read_text(encoding="utf-8")),
        }
    return out
