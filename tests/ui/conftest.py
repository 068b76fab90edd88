"""A tiny materialized home for the explorer's tests, and AppTest over a private copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from splat_core.query import Reader

APP = Path(__file__).resolve().parents[2] / "splat_ui" / "app.py"


@pytest.fixture
def home(tiny_home, tmp_path, monkeypatch):
    """A private copy (label writes do not leak), set as SPLAT_HOME for the app."""
    target = tmp_path / "home"
    shutil.copytree(tiny_home, target, symlinks=True)
    monkeypatch.setenv("SPLAT_HOME", str(target))
    return target


@pytest.fixture
def reader(home):
    with Reader.open(home) as r:
        yield r


@pytest.fixture
def feature(reader) -> int:
    """The feature that fires most often (it has every kind of row)."""
    return int(np.argmax(reader.feature_counts()))


@pytest.fixture
def app(home):
    """An AppTest of the explorer; set query params, then `.run()`."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(APP), default_timeout=60)
