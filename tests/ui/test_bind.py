"""The explorer listens on loopback only, however it is started: `streamlit run
splat_ui/app.py` from the repository reads .streamlit/config.toml."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT, answers, free_port, stop, wait_for


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on `port`, from /proc/net/tcp and tcp6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            next(fh)
            for line in fh:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(address)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/net/tcp")
def test_streamlit_run_binds_loopback_only(home, tmp_path):
    port = free_port()
    argv = [sys.executable, "-m", "streamlit", "run", "splat_ui/app.py",
            "--server.port", str(port)]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        health = f"http://127.0.0.1:{port}/_stcore/health"
        wait_for(lambda: answers(health), 60, "streamlit", [proc])
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else
    finally:
        stop(proc)
