"""Shared test set-up: an isolated DAGSTER_HOME/SPLAT_HOME and the reference fixture path."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import torch

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


@pytest.fixture(scope="session")
def tiny_home(tmp_path_factory):
    """The `tiny` graph materialized once per session; tests that write copy it first."""
    from splat_assets import definitions
    from splat_assets.resources import SplatSettings
    from splat_assets.runner import materialize_graph

    root = tmp_path_factory.mktemp("tiny_home")
    defs = definitions.build_definitions(SplatSettings(home=str(root), profile="tiny"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny graph is small; one thread is robust on a busy CPU
    try:
        materialize_graph(defs, dg.DagsterInstance.ephemeral(), progress=lambda _m: None)
    finally:
        torch.set_num_threads(threads)
    return root


def shard_entries(home) -> tuple:
    """(global sample ids, feature ids, values) of every activation shard under `home`,
    read straight from the CSR shards: the direct computation queries are checked against."""
    import numpy as np

    from splat_core.store import catalog
    from splat_core.store.artifacts import open_artifact

    rows, cols, vals = [], [], []
    for key in sorted(catalog.read_catalog(home)["activations"]["partitions"]):
        shard = open_artifact(catalog.current_path(home, "activations", key))
        m = shard.row_slice(0, shard.shape[0]).tocoo()
        rows.append(m.row + shard.sample_start)
        cols.append(m.col)
        vals.append(m.data)
    return tuple(map(np.concatenate, (rows, cols, vals)))
