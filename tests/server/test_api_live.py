"""The API as users start it (uvicorn on 127.0.0.1): concurrent clients get consistent
answers while a new materialization is published, and pick it up without a restart."""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import zarr

from splat_cli.bench.http import api_server
from splat_core.store import catalog, publishing
from splat_core.store.contract import ANALYSIS_ASSETS
from splat_core.store.generations import GENERATION, HISTORY
from tests.server.conftest import TOKEN


@pytest.fixture
def server(home):
    env = {"SPLAT_API_REFRESH_S": "0.2"}
    with api_server(home, token=TOKEN, env=env) as url:
        yield url


@pytest.fixture
def lean_home(home):
    """The home without its analysis tables, served from CURRENT until the next publish:
    a new feature store alone then makes a complete generation (tests/assets/test_faults.py
    publishes whole generations)."""
    for name in (*ANALYSIS_ASSETS, GENERATION, HISTORY):
        path = home / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return home


@pytest.fixture
def lean_server(lean_home):
    env = {"SPLAT_API_REFRESH_S": "0.2"}
    with api_server(lean_home, token=TOKEN, env=env) as url:
        yield url


def test_new_versions_are_picked_up_and_each_answer_is_one_version(lean_server, lean_home):
    server, home = lean_server, lean_home
    old = httpx.get(f"{server}/health").json()["data_version"]
    counts = np.diff(
        np.asarray(
            zarr.open_array(
                str(catalog.current_path(home, "feature_store") / "csc.zarr" / "indptr")
            )[:]
        )
    )
    f = int(counts.argmax())
    first = httpx.get(f"{server}/activations/{f}", params={"limit": 1}).json()["data"][0]
    old_dir = catalog.current_path(home, "feature_store")

    def write(d):
        shutil.copytree(old_dir, d, dirs_exist_ok=True)
        data = zarr.open_array(str(d / "csc.zarr" / "data"), mode="r+")
        data[:] = data[:] * 2
        return {}

    def ask(_):
        r = httpx.get(f"{server}/activations/{f}", params={"limit": 1}, timeout=30)
        return r.headers["x-splat-data-version"], r.json()["data"][0]["activation"]

    with ThreadPoolExecutor(8) as pool:
        before = pool.map(ask, range(40))
        publishing.publish_asset(home, "feature_store", write)
        time.sleep(0.5)  # two refresh intervals
        after = list(pool.map(ask, range(40)))
    answers = list(before) + after
    new = httpx.get(f"{server}/health").json()["data_version"]
    assert new != old
    assert after[-1][0] == new
    for version, value in answers:  # never a mix: the value matches the version it names
        expected = first["activation"] * (2 if version == new else 1)
        assert version in (old, new) and value == pytest.approx(expected)


def test_concurrent_label_writes_over_http(server):
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def put(i):
        body = {"name": f"n{i}", "source": "test"}
        return httpx.put(f"{server}/labels/{i % 3}", json=body, headers=auth, timeout=30)

    with ThreadPoolExecutor(12) as pool:
        codes = [r.status_code for r in pool.map(put, range(60))]
    assert codes == [200] * 60
    versions = [httpx.get(f"{server}/labels/{f}").json()["version"] for f in range(3)]
    assert versions == [20, 20, 20]
