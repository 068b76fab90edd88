"""The fault-injection suite, bounded for CI (loopback only): a run killed with -9 and
rerun, two runs at once, a full disk, damaged files and heavy and stalled clients, each
against a live API whose every answer is judged (splat_cli/bench/faults/probe.py).
`splat bench faults` runs the same scenarios at more points and kinds."""

from __future__ import annotations

import json

import httpx
import pytest

from splat_cli.bench.faults import runs, scenarios
from splat_cli.bench.faults.hostile import hostile_load
from splat_cli.bench.faults.probe import Poller, Snapshot, Tally
from splat_cli.bench.http import api_server

TINY = ("--profile", "tiny")  # the config the session's tiny home was made with


@pytest.fixture
def ws(tiny_home, tmp_path):
    return scenarios.Workspace(tmp_path, tiny_home, TINY)


def _clean(answers: dict) -> None:
    """Not one wrong number, dropped connection or 5xx."""
    assert (answers["wrong"], answers["no_answer"], answers["server_errors"]) == (0, 0, 0), answers[
        "wrong_examples"
    ]
    assert answers["right"] > 0


def test_a_killed_run_changes_nothing_and_its_rerun_switches_generations_whole(ws, tiny_home):
    row = scenarios.killed_runs(ws, changed=True, points=[0])
    [point] = row["points"]
    assert point["killed"] and point["published_before_kill"] == 0
    left = point["left"]  # killed while staging its first asset, holding the home
    assert left["content"] == runs.served_content(tiny_home) and left["damaged_versions"] == 0
    assert left["staging_dirs"] >= 1 and left["lock"] == "left by a dead process"
    _clean(row)
    assert set(row["by_snapshot"]) == {"before"}
    # the rerun recovers the lock, removes the staging folder and publishes while served
    assert point["rerun_code"] == 0
    assert point["after_rerun"] == {**point["after_rerun"], "staging_dirs": 0, "lock": None,
                                    "damaged_versions": 0}  # fmt: skip
    assert point["after_rerun"]["generation"] != left["generation"]
    _clean(row["rerun_answers"])
    assert point["answers_changed"]  # instances=2: other samples, so other answers
    seen = row["rerun_answers"]["by_snapshot"]
    assert seen.get("before", 0) > 0 and seen.get("after", 0) > 0  # both, never a mix


def test_a_second_writer_is_refused_naming_the_first(ws):
    row = scenarios.concurrent_runs(ws, waiter=False, select=("samples", "pooled", "sae"))
    first, refused, _ = row["codes"]
    assert first == 0 and refused == 1 and row["holder_named"]
    assert "is being written by run" in row["refused_message"]
    assert "--wait" in row["refused_message"]
    _clean(row)
    assert row["final"]["staging_dirs"] == 0 and row["final"]["lock"] is None


def test_a_full_disk_fails_the_run_and_changes_nothing(ws, tiny_home):
    row = scenarios.full_disk(ws, rerun=False)
    assert row["failed_code"] == 1
    assert any(sign in row["failed_message"] for sign in scenarios.FULL_DISK_SIGNS)
    left = row["left"]  # what is served is what was: the same content (a generation of
    assert left["content"] == runs.served_content(tiny_home)  # identical reruns may follow)
    assert (left["damaged_versions"], left["staging_dirs"], left["lock"]) == (0, 0, None)
    _clean(row)
    assert set(row["by_snapshot"]) == {"before"}


DAMAGE = ["data_chunk_deleted", "indptr_garbage", "values_x3", "csr_chunk_ff"]


def test_damage_is_a_clear_error_never_a_wrong_number(ws):
    rows = scenarios.corruption(ws, DAMAGE, rounds=2, rerun=False)
    for row in rows:
        assert (row["wrong"], row["no_answer"]) == (0, 0), (row["kind"], row["wrong_examples"])
        # a server opened after the damage refuses what the damage touches
        assert row["fresh_server"]["error"] > 0, row["kind"]
        assert row["verify_exit"] == 1 and row["verify_after"] == 0, row["kind"]
        assert row["answers_restored"], row["kind"]


@pytest.mark.serial  # its bounds are wall-clock times: no other test may share the CPU
def test_heavy_and_stalled_clients_stay_within_their_bounds(tiny_home, tmp_path):
    env = {"SPLAT_API_HEAVY_WAIT_S": "3"}
    with api_server(tiny_home, env=env) as url:
        load = hostile_load(url, clients=40, stalled=4, seconds=6, wait_s=3)
    assert load["completed"] > 0 and load["refused"] > 0  # the pool was full
    assert load["within_bounds"], json.dumps(load)
    assert load["health"]["not_200"] == 0 and load["top20"]["not_200"] == 0
    assert load["health"]["n"] > 0 and load["stalled"]["statuses"] == ["408"]


def test_the_judge_tells_right_error_and_wrong_apart():
    """The verdicts themselves, on answers made by hand."""
    snap = Snapshot("g1", {"/x": {"v": 1}}, {})
    from splat_cli.bench.faults.probe import digest

    snap.digests["/x"] = digest({"v": 1})
    poller = Poller("http://unused", ["/x"], damaged="feature_store")
    ok = httpx.Response(200, json={"v": 1, "data_version": "other"})  # versions are not content
    mixed = httpx.Response(200, json={"v": 2})
    named = httpx.Response(500, json={"detail": "damaged", "asset": "feature_store",
                                      "version": "v1", "file": "csc.zarr/data/c/0"})  # fmt: skip
    unnamed = httpx.Response(500, json={"detail": "damaged", "asset": "samples"})
    bare = httpx.Response(500, text="Internal Server Error")

    class Replay:
        def __init__(self, responses):
            self.responses = iter(responses)

        def get(self, _path):
            return next(self.responses)

    client = Replay([ok, mixed, named, unnamed, bare])
    poller.records = [poller.ask(client, "/x") for _ in range(5)]
    tally: Tally = poller.judge({"before": snap})
    assert dict(tally.counts) == {"right": 1, "wrong": 3, "error": 1}
    assert tally.server_errors == 3
