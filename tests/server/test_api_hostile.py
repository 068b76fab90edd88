"""Hostile input gets a clear 4xx and heavy work is bounded: non-finite JSON numbers, loose
path ids, over-expensive requests, label imports outside the store, stalled bodies and huge
headers; error bodies never name local paths; the schema marks auth only on writes."""

from __future__ import annotations

import asyncio
import json

import anyio
import pytest

from splat_core.query.summary import PARTS
from splat_server.guard import Guard, check_json_numbers
from splat_server.limits import MAX_BATCH_COST, Overloaded, WorkPool
from tests.server.conftest import TOKEN

BUILD = {"weapon_id": 40, "abilities": {"swim_speed_up": 12}}


@pytest.mark.parametrize(
    ("number", "message"),
    [("NaN", "NaN is not a JSON number"), ("Infinity", "Infinity is not a JSON number"),
     ("-Infinity", "-Infinity is not a JSON number"), ("1e400", "1e400 is out of range"),
     ("9" * 5000, "an integer is too long")],
)  # fmt: skip
@pytest.mark.parametrize(
    ("method", "path", "template"),
    [("POST", "/encode", '{"weapon_id": 40, "abilities": {"swim_speed_up": %s}}'),
     ("POST", "/whatif", '{"weapon_id": %s, "abilities": {}}'),
     ("POST", "/batch/features", '{"feature_ids": [%s]}'),
     ("PUT", "/labels/1", '{"name": "x", "confidence": %s}'),
     ("POST", "/labels/import/consolidated", '{"1": {"feature_id": %s}}')],
)  # fmt: skip
def test_non_finite_numbers_are_422_everywhere(client, auth, number, message, method, path,
                                               template):  # fmt: skip
    body = (template % number).encode()
    r = client.request(method, path, content=body,
                       headers={**auth, "content-type": "application/json"})  # fmt: skip
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["msg"] == message


def test_the_json_check_passes_ordinary_bodies():
    assert check_json_numbers(b'{"a": [1, 2.5, -3e10, null, true, "NaN"]}') is None
    assert check_json_numbers(b"not json") is None  # FastAPI answers json_invalid itself


@pytest.mark.parametrize("bad", ["1_0", "+3", " 3", "3 ", "0x3", "３", "1e3"])
def test_path_ids_are_plain_integers(client, bad):
    for path in (f"/features/{bad}/stats", f"/activations/{bad}", f"/samples/{bad}",
                 f"/labels/{bad}"):  # fmt: skip
        r = client.get(path)
        assert r.status_code == 422, (path, r.status_code)
        assert "digits only" in r.text


def test_plain_ids_still_answer(client, reader):
    assert client.get("/features/10/stats").json()["feature_id"] == 10
    assert client.get("/features/-1").status_code == 404  # a number, but no feature


def test_missing_data_names_no_local_path(make_client, tmp_path):
    client = make_client(home=tmp_path / "secret" / "home")
    r = client.get("/features/3")
    assert r.status_code == 503
    assert r.json() == {"detail": "feature_store is not materialized on this server",
                        "asset": "feature_store"}  # fmt: skip
    assert "secret" not in r.text


def test_batch_cost_is_bounded(client, reader):
    everything = list(PARTS)
    ids = list(range(reader.n_features))
    r = client.post("/batch/features",
                    json={"feature_ids": ids, "parts": everything, "examples": 100})  # fmt: skip
    assert r.status_code == 422 and f"at most {MAX_BATCH_COST}" in r.text
    assert client.post("/batch/features", json={"feature_ids": ids}).status_code == 200


def test_quantile_pages_and_batch_rows_are_bounded(client):
    r = client.get("/features/1/examples/quantiles", params={"n_bins": 100, "per_bin": 100})
    assert r.status_code == 422 and "n_bins x per_bin is at most" in r.text
    r = client.post("/batch/activations/arrow", json={"feature_ids": [999999]})
    assert r.status_code == 404


def test_label_import_refuses_ids_outside_the_store(client, auth, reader):
    body = {str(reader.n_features): {"feature_id": reader.n_features, "display_name": "x"}}
    r = client.post("/labels/import/consolidated", json=body, headers=auth)
    assert r.status_code == 422 and f"[0, {reader.n_features})" in r.text
    assert client.get("/labels").json() == []  # all or nothing


def test_the_schema_marks_auth_only_on_writes(client):
    spec = client.get("/openapi.json").json()
    secured = {(m.upper(), p) for p, ms in spec["paths"].items() for m, op in ms.items()
               if op.get("security")}  # fmt: skip
    assert secured == {("PUT", "/labels/{feature_id}"), ("DELETE", "/labels/{feature_id}"),
                       ("POST", "/labels/import/consolidated")}  # fmt: skip


def test_a_public_bind_still_needs_the_token_everywhere(make_client):
    client = make_client(token=TOKEN, bind_host="0.0.0.0")
    assert client.get("/health").status_code == 401
    ok = client.get("/health", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200


# --- the guard, as an ASGI app --------------------------------------------------------------


async def _call_guard(headers: list, chunks: list[bytes | None], timeout: float = 0.2):
    """Run the guard over an app that echoes the body; `None` in chunks stalls the client."""
    seen = {}

    async def app(scope, receive, send):
        message = await receive()
        seen["body"] = message["body"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive():
        chunk = chunks.pop(0)
        if chunk is None:
            await asyncio.sleep(10)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/x", "headers": headers}
    await Guard(app, body_timeout=timeout)(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]), seen


def test_a_stalled_body_is_408_and_a_whole_one_passes():
    headers = [(b"content-length", b"10"), (b"content-type", b"application/json")]
    status, body, seen = anyio.run(_call_guard, headers, [b"[1, 2", None])
    assert status == 408 and b"not received within" in body and not seen
    status, _, seen = anyio.run(_call_guard, headers, [b"[1, 2", b", 3]"])
    assert status == 200 and seen["body"] == b"[1, 2, 3]"


def test_huge_headers_are_431():
    headers = [(b"x-junk", b"a" * (17 << 10))]
    status, body, seen = anyio.run(_call_guard, headers, [b""])
    assert status == 431 and json.loads(body)["detail"].startswith("request headers too large")


# --- the heavy pool ---------------------------------------------------------------------------


def test_the_heavy_pool_runs_its_workers_queues_and_refuses_the_rest():
    async def scenario():
        pool = WorkPool(workers=1, queue=1, max_wait_s=5)
        release = anyio.Event()
        results, refused = [], []

        async def job(i):
            def work():
                anyio.from_thread.run(release.wait)
                return i

            try:
                results.append(await pool.run(work))
            except Overloaded as e:
                refused.append((i, e.retry_after))

        async with anyio.create_task_group() as tg:
            for i in range(3):
                tg.start_soon(job, i)
                await anyio.sleep(0.05)
            assert refused == [(2, 3)] and pool.waiting == 1  # 0 runs, 1 waits, 2 refused
            release.set()
        assert sorted(results) == [0, 1] and pool.refused == 1

    anyio.run(scenario)


def test_a_wait_longer_than_the_bound_is_refused():
    async def scenario():
        pool = WorkPool(workers=1, queue=4, max_wait_s=0.2)
        release = anyio.Event()

        async def blocker():
            await pool.run(lambda: anyio.from_thread.run(release.wait))

        async with anyio.create_task_group() as tg:
            tg.start_soon(blocker)
            await anyio.sleep(0.05)
            with pytest.raises(Overloaded):
                await pool.run(lambda: 1)
            release.set()

    anyio.run(scenario)


# --- failures of this machine: a JSON answer, never a bare 500, never a path ------------------


def test_storage_errors_are_503_and_bugs_a_json_500(home, monkeypatch):
    import errno
    import sqlite3

    from fastapi.testclient import TestClient

    from splat_core.query import Reader
    from splat_server.app import create_app
    from splat_server.settings import ServerSettings

    app = create_app(ServerSettings(home=home))
    client = TestClient(app, raise_server_exceptions=False)
    secret = str(home / "feature_store" / "x")
    faults = {
        "stats": OSError(errno.ENOSPC, "No space left on device", secret),
        "top_examples": sqlite3.OperationalError("database or disk is full"),
        "sample": RuntimeError(f"a bug near {secret}"),
    }
    for name, exc in faults.items():

        def fail(*_a, exc=exc, **_k):
            raise exc

        monkeypatch.setattr(Reader, name, fail)
    cases = [
        ("/features/3/stats", 503, "storage unavailable: No space left on device"),
        ("/features/3/examples", 503, "storage unavailable: database or disk is full"),
        ("/samples/3", 500, "internal error (RuntimeError); see the server's log"),
    ]
    # fmt: skip
    for path, status, detail in cases:
        r = client.get(path)
        assert (r.status_code, r.json()["detail"]) == (status, detail), path
        assert str(home) not in r.text
        assert ("retry-after" in r.headers) == (status == 503)
