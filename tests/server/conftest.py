"""A tiny materialized home shared by the API tests, and app/client factories over it."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from splat_core.query import Reader
from splat_server.app import create_app
from splat_server.settings import ServerSettings

TOKEN = "test-token-0123456789"


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
