"""Shared fixtures: an isolated DAGSTER_HOME/SPLAT_HOME per test, the `tiny` graph
materialized once per session (and a private copy of it per test), and the hand-made
investigation home. Shared builders and the domain oracle are in tests/helpers.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import torch

from splat_core.query import Reader
from splat_core.store import catalog
from splat_core.store.artifacts import open_artifact, read_samples_dir
from tests.helpers import CHROMIUM, DRIVER, FIXTURE, build_investigation_home
from tests.variant_home import comparison_home, variant_home  # noqa: F401 (shared fixtures)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (`item.rep_call`): fixtures that record
    results (the conformance table) read whether the test passed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


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
    """The `tiny` graph materialized once per session: read it, or copy it (`home`) first."""
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


@pytest.fixture(scope="session")
def tiny_reader(tiny_home):
    """A Reader over the shared tiny home (read-only)."""
    with Reader.open(tiny_home) as r:
        yield r


@pytest.fixture
def home(tiny_home, tmp_path, monkeypatch):
    """A private copy of the tiny home, set as SPLAT_HOME: tests that write labels or
    publish versions do not leak into others."""
    target = tmp_path / "home"
    shutil.copytree(tiny_home, target, symlinks=True)
    monkeypatch.setenv("SPLAT_HOME", str(target))
    return target


@pytest.fixture
def reader(home):
    with Reader.open(home) as r:
        yield r


@pytest.fixture(scope="session")
def investigation_home(tmp_path_factory):
    """The hand-made investigation home (tests/helpers.py): (home, tokens, weapons,
    activations). Read-only: copy it before writing."""
    return build_investigation_home(tmp_path_factory.mktemp("investigation"))


@pytest.fixture(scope="session")
def investigation_reader(investigation_home):
    with Reader.open(investigation_home[0]) as r:
        yield r


@pytest.fixture(scope="session")
def reference_outputs() -> dict:
    """What the reference code computed from the fixture checkpoint (expected.npz)."""
    return dict(np.load(FIXTURE / "expected.npz"))


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
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1500,1100", "--hide-scrollbars"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
