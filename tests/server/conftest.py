"""A tiny materialized home shared by the API tests, and app/client factories over it."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest
import torch
from fastapi.testclient import TestClient

from splat_assets import definitions
from splat_assets.resources import SplatSettings
from splat_assets.runner import materialize_graph
from splat_core.query import Reader
from splat_server.app import create_app
from splat_server.settings import ServerSettings

TOKEN = "test-token-0123456789"


@pytest.fixture(scope="session")
def tiny_home(tmp_path_factory):
    root = tmp_path_factory.mktemp("api_home")
    defs = definitions.build_definitions(SplatSettings(home=str(root), profile="tiny"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        materialize_graph(defs, dg.DagsterInstance.ephemeral(), progress=lambda _m: None)
    finally:
        torch.set_num_threads(threads)
    return root


@pytest.fixture
def home(tiny_home, tmp_path):
    """A private copy: tests that write labels or publish versions do not leak."""
    target = tmp_path / "home"
    shutil.copytree(tiny_home, target, symlinks=True)
    return target


@pytest.fixture
def reader(home):
    with Reader.open(home) as r:
        yield r


@pytest.fixture
def make_client(home):
    def make(**settings) -> TestClient:
        app = create_app(ServerSettings(home=settings.pop("home", home), **settings))
        return TestClient(app)

    return make


@pytest.fixture
def client(make_client):
    return make_client(token=TOKEN)


@pytest.fixture
def auth():
    return {"Authorization": f"Bearer {TOKEN}"}
