"""A home without analysis assets to publish into (the direct computation, `dense`, is in
tests/conftest.py)."""

from __future__ import annotations

import shutil

import pytest

from splat_core.store.contract import ANALYSIS_ASSETS
from splat_core.store.generations import GENERATION, HISTORY


@pytest.fixture
def bare(tiny_home, tmp_path):
    """A copy of the tiny home without any analysis asset (safe to publish into), nor its
    generations: it is read from its CURRENT pointers until the next publish."""
    ignore = shutil.ignore_patterns(*ANALYSIS_ASSETS, GENERATION, HISTORY)
    shutil.copytree(tiny_home, tmp_path / "home", ignore=ignore, symlinks=True)
    return tmp_path / "home"
