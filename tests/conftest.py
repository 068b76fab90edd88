"""Shared test set-up: an isolated DAGSTER_HOME/SPLAT_HOME and the reference fixture path."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "reference_checkpoint"  # copied from shared/fixtures


@pytest.fixture(autouse=True)
def isolated_homes(tmp_path, monkeypatch):
    """Every test gets its own SPLAT_HOME and DAGSTER_HOME (telemetry off)."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.setenv("SPLAT_HOME", str(tmp_path / "splat_home"))
