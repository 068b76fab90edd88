"""`splat bench api` end to end on the tiny home (a smoke run of the benchmark's code paths:
its figures come from the seed-scale run, not from here)."""

from __future__ import annotations

import json
import socket

from splat_cli.bench.api import ROUTES, Client
from splat_cli.bench.http import api_server, raw_server
from splat_cli.bench.load import load_test
from splat_cli.main import main


def test_bench_api_reports_every_feature_and_agrees_with_the_store(home, tmp_path, capsys):
    out = tmp_path / "report.json"
    code = main(["bench", "api", "--home", str(home), "--repeats", "2", "--json-repeats", "1",
                 "--load-seconds", "0", "--out", str(out)])  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    assert report["features"] and set(report["http"]) == {str(f) for f in report["features"]}
    for f, row in report["reads"].items():
        http = report["http"][f]
        assert row["ratio"] > 0 and http["activations_arrow"]["rows"] == row["nnz"]
        assert http["reference_client_arrow"]["rows"] == row["nnz"]
        assert http["reference_client_json"]["rows"] == row["nnz"]
    largest = report["largest"]
    # the raw-socket floor moved the largest feature's exact Arrow answer
    assert (
        largest["arrow_bytes"]
        == report["http"][str(largest["feature"])]["activations_arrow"]["bytes"]
    )
    assert largest["raw_socket_same_bytes"]["n"] == 2
    printed = capsys.readouterr().out
    assert "largest feature" in printed and "raw socket" in printed
    assert set(report["http_cached"][str(largest["feature"])]) >= set(ROUTES)


def test_a_client_reconnects_when_the_server_closed_its_idle_connection(home):
    with api_server(home) as url:
        client = Client(url)
        first = client.get("/health")
        client.conn.sock.shutdown(socket.SHUT_RDWR)  # as uvicorn does after 5 s idle
        assert json.loads(client.get("/health"))["status"] == json.loads(first)["status"]
        client.close()


def test_the_raw_socket_serves_the_bytes_it_was_given():
    body = bytes(range(256)) * 1000
    with raw_server(body) as url:
        client = Client(url)
        assert client.get("/") == body and client.get("/again") == body  # keep-alive
        client.close()


def test_load_test_counts_requests_and_errors(home):
    with api_server(home) as url:
        result = load_test(url, clients=4, seconds=1.5, mix="all")
    assert result["errors"] == 0 and result["requests"] > 4
    assert set(result["by_endpoint"]) <= set(result["endpoints"])
    assert sum(r["n"] for r in result["by_endpoint"].values()) == result["requests"]
