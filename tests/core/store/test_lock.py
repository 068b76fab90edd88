"""One writer per home: a second writer is refused (or waits), naming the holder; a killed
holder's lock is recovered; staging left by a killed writer is removed by the next one."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time

import pytest

from splat_core.store import catalog, lock, publishing


def _hold_in_child(home: str, ready, stop) -> None:
    lock.acquire(home, "child-run")
    ready.set()
    stop.wait(30)
    lock.release(home, "child-run")


@pytest.fixture
def other_process(tmp_path):
    """Another process holding the home until told to stop."""
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_in_child, args=(str(tmp_path), ready, stop))
    proc.start()
    assert ready.wait(30)
    yield proc, stop
    stop.set()
    proc.join(30)


def test_a_second_writer_is_refused_naming_the_first(tmp_path, other_process):
    proc, _ = other_process
    with pytest.raises(lock.WriterBusy) as err:
        lock.acquire(tmp_path, "me")
    assert "is being written by run child-run" in str(err.value)
    assert str(proc.pid) in str(err.value)
    with pytest.raises(lock.WriterBusy):  # publishing takes the lock too
        publishing.publish_asset(tmp_path, "thing", lambda d: {})


def test_a_writer_may_wait_for_the_first_to_finish(tmp_path, other_process):
    _, stop = other_process
    threading.Timer(0.5, stop.set).start()
    start = time.monotonic()
    record = lock.acquire(tmp_path, "me", wait_s=20)
    assert record["owner"] == "me" and time.monotonic() - start >= 0.4


def test_the_lock_is_reentrant_and_counts_its_holders(tmp_path):
    lock.acquire(tmp_path, "run")
    lock.acquire(tmp_path, "run")  # a second step of the same run
    assert lock.holder(tmp_path)["pids"] == [os.getpid()]
    lock.release(tmp_path, "run")
    assert lock.holder(tmp_path) is None
    lock.acquire(tmp_path, "run")
    lock.release(tmp_path, "someone-else")  # not theirs to release
    assert lock.holder(tmp_path)["owner"] == "run"
    lock.release(tmp_path, "run", whole=True)
    assert lock.holder(tmp_path) is None


def test_a_killed_writers_lock_and_staging_are_recovered(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    record = {"owner": "killed-run", "host": os.uname().nodename, "pids": [int(dead.stdout)],
              "since": time.time(), "heartbeat": time.time()}  # fmt: skip
    (tmp_path / lock.LOCK).write_text(json.dumps(record))
    leftover = tmp_path / "sae" / ".staging-abc"
    leftover.mkdir(parents=True)
    (leftover / "half.bin").write_bytes(b"x")
    publishing.hold(tmp_path, "next-run")  # the holder's pid is gone: taken over
    assert lock.holder(tmp_path)["owner"] == "next-run"
    assert not leftover.exists()


def test_a_lock_from_another_host_expires_with_its_heartbeat(tmp_path):
    record = {"owner": "far", "host": "elsewhere", "pids": [1], "since": 0.0,
              "heartbeat": time.time()}  # fmt: skip
    (tmp_path / lock.LOCK).write_text(json.dumps(record))
    with pytest.raises(lock.WriterBusy):
        lock.acquire(tmp_path, "me")
    record["heartbeat"] = time.time() - lock.STALE_S - 1
    (tmp_path / lock.LOCK).write_text(json.dumps(record))
    assert lock.acquire(tmp_path, "me")["owner"] == "me"


def test_writing_holds_the_home_for_the_whole_block(tmp_path):
    with publishing.writing(tmp_path) as owner:
        assert os.environ[lock.OWNER_ENV] == owner
        publishing.publish_asset(tmp_path, "thing", lambda d: {})  # its own lock: allowed
        assert lock.holder(tmp_path)["owner"] == owner
    assert lock.holder(tmp_path) is None and lock.OWNER_ENV not in os.environ


def test_a_running_coordinator_keeps_its_heartbeat_fresh(tmp_path, monkeypatch):
    """A long step publishes nothing for a while: the coordinator's heartbeat thread keeps
    the lock from looking dead to a writer on another host."""
    monkeypatch.setattr(lock, "STALE_S", 0.4)  # a beat every 0.1 s
    with publishing.writing(tmp_path) as owner:
        first = lock.holder(tmp_path)["heartbeat"]
        deadline = time.monotonic() + 10
        while lock.holder(tmp_path)["heartbeat"] == first:
            assert time.monotonic() < deadline, "no heartbeat"
            time.sleep(0.05)
        far = {**lock.holder(tmp_path), "host": "elsewhere"}
        assert lock.alive(far)  # seen from another host: fresh
        assert lock.renew(tmp_path, owner) and not lock.renew(tmp_path, "someone-else")


def test_a_failed_run_takes_its_staging_with_it(tmp_path):
    """Staged by a step whose run then failed before publishing (Dagster's own event log
    on a full disk, say): removed when the run gives the home back, nothing published."""
    with pytest.raises(OSError, match="disk is full"), publishing.writing(tmp_path):
        staging = catalog.new_staging_dir(tmp_path, "thing", None, prefix=publishing.STAGING)
        (staging / "part.bin").write_bytes(b"x" * 10)
        raise OSError("database or disk is full")
    assert not staging.exists() and lock.holder(tmp_path) is None
    assert catalog.read_catalog(tmp_path) == {}
