"""`splat demo` on a materialized home: it starts the API, the explorer and the Dagster UI on
loopback, prints their URLs, and stops all three cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest

from splat_cli import demo
from tests.helpers import answers, free_ports


@pytest.mark.slow
def test_demo_starts_and_stops_all_three(home, tmp_path):
    api, ui, dagster = free_ports(3)
    out = tmp_path / "demo.out"
    cmd = [sys.executable, "-m", "splat_cli.main", "demo", "--home", str(home), "--api-port",
           str(api), "--ui-port", str(ui), "--dagster-port", str(dagster)]  # fmt: skip
    with open(out, "w") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while "Ctrl-C stops all 3" not in out.read_text():
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.2)
        text = out.read_text()
        assert "materializing" not in text  # the home was already there
        for port, path in ((api, "/health"), (ui, "/_stcore/health"), (dagster, "/server_info")):
            assert f"http://127.0.0.1:{port}" in text
            assert answers(f"http://127.0.0.1:{port}{path}")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=demo.STOP_TIMEOUT_S + 10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "stopped" in out.read_text()
    for port in (api, ui, dagster):
        with pytest.raises(ConnectionRefusedError):  # nothing listens any more
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_demo_refuses_busy_ports(home, capsys, monkeypatch):
    monkeypatch.delenv("SPLAT_DAGSTER_STORAGE", raising=False)  # restored after the test
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        from splat_cli.main import main

        code = main(["demo", "--home", str(home), "--ui-port", str(busy), "--no-dagster"])
    assert code == 2
    assert f"ui port {busy}" in capsys.readouterr().err


def test_serve_ui_stays_on_loopback(home, capsys, monkeypatch):
    from splat_cli.main import main

    monkeypatch.delenv("SPLAT_UI_ALLOW_REMOTE", raising=False)
    assert main(["serve", "ui", "--host", "0.0.0.0", "--home", str(home)]) == 2
    assert "no authentication" in capsys.readouterr().err


def test_serve_passes_a_sigterm_on_to_its_server():
    import os
    import threading

    from splat_cli.serve import run_child

    before = signal.getsignal(signal.SIGTERM)

    def term_once_running():  # as a supervisor would: after the server has started
        deadline = time.monotonic() + 20
        while signal.getsignal(signal.SIGTERM) is before and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=term_once_running, daemon=True).start()
    started = time.monotonic()
    code = run_child([sys.executable, "-c", "import time; time.sleep(30)"])
    assert code == -signal.SIGTERM and time.monotonic() - started < 10
    assert signal.getsignal(signal.SIGTERM) is before
