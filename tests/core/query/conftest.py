"""The query tests' direct computation (dense activations from the CSR shards) and a home
without analysis assets to publish into."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from splat_core.store import catalog
from splat_core.store.artifacts import open_artifact, read_samples_dir
from splat_core.store.contract import ANALYSIS_ASSETS
from splat_core.store.generations import GENERATION, HISTORY


@pytest.fixture(scope="session")
def dense(tiny_home):
    """Dense [N, F] activations from the CSR shards, and per-sample weapon/tokens/build."""
    info = catalog.read_catalog(tiny_home)
    parts = info["activations"]["partitions"].values()
    shards = [open_artifact(Path(p["path"])) for p in parts]
    n = sum(s.shape[0] for s in shards)
    out = np.zeros((n, shards[0].shape[1]), np.float32)
    for s in shards:
        out[s.sample_start : s.sample_start + s.shape[0]] = s.row_slice(0, s.shape[0]).toarray()
    meta = {}
    for p in info["samples"]["partitions"].values():
        t = read_samples_dir(Path(p["path"]))
        for i, sid in enumerate(t.sample_id.tolist()):
            toks = t.inputs.vocab.decode(t.inputs.tokens(i).tolist())
            meta[sid] = (int(t.inputs.weapon[i]), toks, int(t.build_id[i]))
    weapon_ids = t.inputs.weapon_vocab.weapon_ids
    return out, meta, weapon_ids


@pytest.fixture
def bare(tiny_home, tmp_path):
    """A copy of the tiny home without any analysis asset (safe to publish into), nor its
    generations: it is read from its CURRENT pointers until the next publish."""
    ignore = shutil.ignore_patterns(*ANALYSIS_ASSETS, GENERATION, HISTORY)
    shutil.copytree(tiny_home, tmp_path / "home", ignore=ignore, symlinks=True)
    return tmp_path / "home"
