"""Dagster instance storage in PostgreSQL (deploy/postgres/dagster.yaml), against a real server
that the test starts on loopback: runs, step events and materializations land in Postgres,
from this process and from the child processes of a multiprocess run."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import dagster as dg
import pytest

from splat_assets.definitions import all_assets_job, build_definitions
from splat_assets.resources import SplatSettings
from splat_assets.runner import QUIET
from tests.helpers import free_port, start, stop, wait_for

psycopg2 = pytest.importorskip("psycopg2")
pytest.importorskip("dagster_postgres")
pytestmark = pytest.mark.slow

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "dagster.yaml"
USER, PASSWORD, DB = "splat", "splat-test-pw", "dagster"


def _tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                                                   reverse=True)), None)  # fmt: skip
    if not found:
        pytest.skip(f"PostgreSQL's `{name}` is not installed")
    return found


def _unprivileged() -> tuple[list[str], pwd.struct_passwd | None]:
    """PostgreSQL refuses to run as root: as root, run it as `postgres` (or `nobody`), through
    setpriv (which execs, so the pid is the server's) or else runuser."""
    if os.geteuid() != 0:
        return [], None
    setpriv, runuser = shutil.which("setpriv"), shutil.which("runuser")
    for name in ("postgres", "nobody"):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        if setpriv:
            return [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
                    "--"], user  # fmt: skip
        if runuser:
            return [runuser, "-u", name, "--"], user
    pytest.skip("running as root, with no setpriv/runuser or unprivileged user for PostgreSQL")


@pytest.fixture
def postgres(tmp_path):
    """A fresh cluster on a free loopback port with password auth; yields its connection dict."""
    initdb, server = _tool("initdb"), _tool("postgres")
    prefix, user = _unprivileged()
    # The server's user must reach its files: pytest's tmp dirs are private to root.
    base = Path(tempfile.mkdtemp(prefix="splat-pg-")) if user else tmp_path / "pg"
    base.mkdir(exist_ok=True)
    proc = None
    try:
        (base / "pw").write_text(PASSWORD + "\n")
        if user:
            for path in (base, base / "pw"):
                os.chown(path, user.pw_uid, user.pw_gid)
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "TZ": "UTC"}
        done = subprocess.run([*prefix, initdb, "-D", str(base / "data"), "-U", USER, "-E", "UTF8",
                               "--auth=scram-sha-256", f"--pwfile={base / 'pw'}", "--no-sync"],
                              env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"initdb failed here: {(done.stderr or done.stdout)[-300:]}")
        port = free_port()
        proc = start([*prefix, server, "-D", str(base / "data"), "-p", str(port), "-k", str(base),
                      "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
                     env, tmp_path / "postgres.log")  # fmt: skip
        conn = {"host": "127.0.0.1", "port": port, "user": USER, "password": PASSWORD}
        wait_for(lambda: _accepts(conn), 60, "postgres", [proc])
        _query(conn, f"CREATE DATABASE {DB}", dbname="postgres")
        yield conn
    finally:
        if proc is not None:
            stop(proc)
        if user:
            shutil.rmtree(base, ignore_errors=True)


def _connect(conn: dict, dbname: str):
    return psycopg2.connect(dbname=dbname, connect_timeout=5, **conn)


def _accepts(conn: dict) -> bool:
    try:
        _connect(conn, "postgres").close()
        return True
    except psycopg2.OperationalError:
        return False


def _query(conn: dict, sql: str, dbname: str = DB) -> list[tuple]:
    db = _connect(conn, dbname)
    db.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with db.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []
    finally:
        db.close()


def test_runs_and_materializations_are_stored_in_postgres(postgres, tmp_path, monkeypatch):
    dagster_home = Path(os.environ["DAGSTER_HOME"])  # per test (tests/conftest.py)
    shutil.copy(TEMPLATE, dagster_home / "dagster.yaml")
    for key, value in {"HOST": postgres["host"], "PORT": postgres["port"], "DB": DB,
                       "USERNAME": USER, "PASSWORD": PASSWORD}.items():  # fmt: skip
        monkeypatch.setenv(f"DAGSTER_PG_{key}", str(value))
    monkeypatch.setenv("SPLAT_PROFILE", "tiny")
    monkeypatch.setenv("SPLAT_EXECUTOR", "multiprocess")
    settings = SplatSettings(home=os.environ["SPLAT_HOME"], profile="tiny")
    defs = build_definitions(settings)
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        dg.materialize([*defs.assets, *defs.asset_checks], instance=instance,
                       selection=dg.AssetSelection.assets("vocab"), resources=defs.resources,
                       run_config=QUIET)  # fmt: skip
        # builds in a child process of the multiprocess executor, writing to the same storage
        with dg.execute_job(dg.reconstructable(all_assets_job), instance, run_config=QUIET,
                            asset_selection=[dg.AssetKey("builds")]) as result:  # fmt: skip
            assert result.success
            builds_run = result.run_id
        runs = instance.get_runs()
        assert len(runs) == 2 and all(r.is_success for r in runs)
        for asset in ("vocab", "builds"):
            records = instance.fetch_materializations(dg.AssetKey(asset), limit=5).records
            assert len(records) == 1
        pids = {e.dagster_event.pid for e in instance.all_logs(builds_run)
                if e.dagster_event_type in (dg.DagsterEventType.STEP_START,
                                            dg.DagsterEventType.ASSET_MATERIALIZATION)}  # fmt: skip
        assert pids and os.getpid() not in pids  # written by the step's child process
    # ... and straight from the database
    stored = _query(postgres, "SELECT run_id, status FROM runs")
    assert sorted(status for _, status in stored) == ["SUCCESS", "SUCCESS"]
    assert builds_run in {run_id for run_id, _ in stored}
    sql = "SELECT asset_key FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
    materialized = _query(postgres, sql)
    assert sorted(key for (key,) in materialized) == ['["builds"]', '["vocab"]']
