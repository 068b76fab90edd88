"""The Dagster instance of a SPLAT_HOME: SQLite storage under it, telemetry off."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from splat_core.store import homes

DEFAULT_YAML = """telemetry:
  enabled: false
storage:
  sqlite:
    base_dir:
      env: SPLAT_DAGSTER_STORAGE
"""


def prepare_dagster_home(home: Path | str) -> Path:
    """Set DAGSTER_HOME (if unset) and SPLAT_DAGSTER_STORAGE; write dagster.yaml if missing.

    The default is `<home>/dagster`; for a remote home (an fsspec URL) the instance stays on
    this machine, in the home's local cache directory (splat_core.store.homes.local_dir)."""
    default = homes.local_dir(home) / "dagster"
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or default).resolve()
    dagster_home.mkdir(parents=True, exist_ok=True)
    yaml = dagster_home / "dagster.yaml"
    if not yaml.exists():
        yaml.write_text(_repo_yaml())
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    os.environ.setdefault("SPLAT_DAGSTER_STORAGE", str(dagster_home / "storage"))
    return dagster_home


def get_instance(home: Path | str) -> dg.DagsterInstance:
    prepare_dagster_home(home)
    return dg.DagsterInstance.get()


def _repo_yaml() -> str:
    root_yaml = Path(__file__).resolve().parents[1] / "dagster.yaml"
    return root_yaml.read_text() if root_yaml.exists() else DEFAULT_YAML
