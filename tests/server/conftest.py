"""App and client factories over the private tiny home (`home`, tests/conftest.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from splat_server.app import create_app
from splat_server.settings import ServerSettings

TOKEN = "test-token-0123456789"


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
