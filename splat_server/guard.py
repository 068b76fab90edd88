"""The ASGI guard in front of every route.

- Headers: at most MAX_HEADER_BYTES in all (431).
- Bodies: a Content-Length is required (411) and at most MAX_BODY_BYTES (413); the body must
  arrive within BODY_TIMEOUT_S (408), so a half-sent body cannot hold a worker.
- JSON bodies: NaN, Infinity and numbers that overflow a float or are absurdly long are a
  422 in FastAPI's validation-error shape (Python's json module would accept them, and no
  route can answer them meaningfully).
- Every response names the data version it was read from (`X-Splat-Data-Version`).
"""

from __future__ import annotations

import asyncio
import json
import math

from splat_server.errors import invalid_body

MAX_BODY_BYTES = 16 << 20
MAX_HEADER_BYTES = 16 << 10
BODY_TIMEOUT_S = 10.0


class NonFiniteNumber(ValueError):
    pass


def check_json_numbers(body: bytes) -> str | None:
    """Why a JSON body holds a number no route accepts; None if it holds none (a body that is
    not JSON at all is left to FastAPI, which answers 422 json_invalid)."""

    def constant(name: str):
        raise NonFiniteNumber(f"{name} is not a JSON number")

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise NonFiniteNumber(f"{text[:40]} is out of range")
        return value

    try:
        json.loads(body, parse_constant=constant, parse_float=number)
    except NonFiniteNumber as e:
        return str(e)
    except json.JSONDecodeError:
        return None
    except ValueError:  # an integer too long to convert (Python's 4,300-digit limit)
        return "an integer is too long"
    except RecursionError:
        return "the JSON is nested too deeply"
    return None


class Guard:
    def __init__(self, app, body_timeout: float = BODY_TIMEOUT_S):
        self.app = app
        self.body_timeout = body_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raw = scope.get("headers") or []
        if sum(len(k) + len(v) for k, v in raw) > MAX_HEADER_BYTES:
            return await refuse(send, 431, "request headers too large (at most 16 KiB)")
        headers = dict(raw)
        length = headers.get(b"content-length")
        if length is None and b"transfer-encoding" in headers:
            return await refuse(send, 411, "send a Content-Length (streamed bodies are refused)")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return await refuse(send, 413, "request body too large (at most 16 MiB)")
        if length is not None and int(length) > 0:
            body = await self._read_body(receive, send)
            if body is None:
                return
            if b"json" in headers.get(b"content-type", b""):
                problem = check_json_numbers(body)
                if problem is not None:
                    return await refuse_invalid(send, problem)
            receive = _replay(body, receive)
        await self.app(scope, receive, _with_data_version(scope, send))

    async def _read_body(self, receive, send) -> bytes | None:
        """The whole body, or None once an error was sent (or the client left)."""
        chunks, size, more = [], 0, True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        while more:
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0))
            except TimeoutError:
                await refuse(send, 408, f"request body not received within {self.body_timeout:g} s")
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await refuse(send, 413, "request body too large (at most 16 MiB)")
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the client's disconnect, as usual

    return replay


def _with_data_version(scope, send):
    async def send_with_version(message):
        if message["type"] == "http.response.start":
            version = scope.get("state", {}).get("data_version")
            if version:
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-splat-data-version", version.encode()),
                ]
        await send(message)

    return send_with_version


async def refuse(send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    await _send_json(send, status, {"detail": detail}, headers)


async def refuse_invalid(send, message: str) -> None:
    await _send_json(send, 422, invalid_body(message))


async def _send_json(send, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
    raw = [(b"content-type", b"application/json")]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
