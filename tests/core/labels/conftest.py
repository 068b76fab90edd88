"""The label store of a fresh home, for the label tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from splat_core.labels import LabelStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path) -> LabelStore:
    return LabelStore.open(tmp_path / "home")
