"""Bearer-token checks: writes always need the token; every request needs it when the server
is reachable beyond loopback (by its configured bind, or by the address a request came in on)."""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials

from splat_server.deps import CredentialsDep, StateDep
from splat_server.settings import ServerSettings, is_loopback


def _arrived_publicly(request: Request) -> bool:
    """The local address the connection reached; only an IP can be judged (an in-process
    test client reports a name such as 'testserver')."""
    server = request.scope.get("server")
    if not server or server[0] is None:
        return False
    try:
        ipaddress.ip_address(server[0])
    except ValueError:
        return False
    return not is_loopback(server[0])


def _check(settings: ServerSettings, creds: HTTPAuthorizationCredentials | None, why: str):
    if settings.token is None:
        raise HTTPException(403, f"{why}; start the server with SPLAT_API_TOKEN set")
    if creds is None or not hmac.compare_digest(creds.credentials, settings.token):
        raise HTTPException(
            401, f"{why}: send 'Authorization: Bearer <SPLAT_API_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )  # fmt: skip


def require_token_if_public(request: Request, state: StateDep) -> None:
    """Every request, when the server is reachable beyond loopback. Reads the header itself
    (not through HTTPBearer), so the OpenAPI schema marks auth only where it is always
    required: the writes."""
    settings = state.settings
    if settings.public_bind or _arrived_publicly(request):
        why = "this server is reachable beyond loopback: a token is required"
        _check(settings, _bearer(request), why)


def _bearer(request: Request) -> HTTPAuthorizationCredentials | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return HTTPAuthorizationCredentials(scheme="Bearer", credentials=token.strip())


def require_writer(state: StateDep, creds: CredentialsDep) -> None:
    _check(state.settings, creds, "writes need the API token")
