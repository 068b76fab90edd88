"""The tiny graph on a real dask.distributed cluster (a scheduler and two workers on loopback,
separate processes) through Dagster's Dask executor, chosen by SPLAT_EXECUTOR alone: the
results must equal an in-process materialization, and the steps must run on the workers.
The analysis assets all come from one factory: two of them (one reading the feature store
only, one the SAE too) stand for the rest, which keeps this test's two materializations
short."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass

import dagster as dg
import pytest
import torch

from splat_assets.definitions import build_definitions
from splat_assets.instance import get_instance
from splat_assets.resources import SplatSettings
from splat_assets.runner import execute_graph, materialize_graph
from splat_core.store import catalog
from splat_core.store.contract import ANALYSIS_ASSETS, ASSET_NAMES
from tests.helpers import artifact_content, content_diff, start, stop, wait_for

pytest.importorskip("dagster_dask")
distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

OVERRIDES = ["train.threads=1", "sae.threads=1"]  # one thread everywhere: bit-identical floats
ANALYSED = ("feature_stats", "feature_neighbors")
SELECTED = (*(a for a in ASSET_NAMES if a not in ANALYSIS_ASSETS), *ANALYSED)
COMPARED = ("activations", "feature_store", *ANALYSED)
PARTITIONED = ("samples", "pooled", "activations")


@dataclass
class Runs:
    inprocess_home: str
    dask_home: str
    worker_pids: set[int]
    step_pids: dict[str, set[int]]  # step key -> pids its events came from


def _address(file) -> str | None:
    """The scheduler's address once it has written its file."""
    try:
        return json.loads(file.read_text())["address"]
    except (OSError, ValueError, KeyError):
        return None


def _cluster(root, env: dict, procs: list) -> str:
    """Start a scheduler and two single-threaded workers (into `procs`); returns the address."""
    python, file = sys.executable, root / "scheduler.json"
    procs.append(start([python, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                        "--port", "0", "--no-dashboard", "--scheduler-file", str(file)],
                       env, root / "scheduler.log"))  # fmt: skip
    wait_for(lambda: _address(file) is not None, 60, "the dask scheduler", procs)
    env["SPLAT_DASK_ADDRESS"] = _address(file)
    for i in range(2):
        procs.append(start([python, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                            str(file), "--host", "127.0.0.1", "--nworkers", "1", "--nthreads",
                            "1", "--no-nanny", "--no-dashboard", "--name", f"w{i}",
                            "--local-directory", str(root / f"w{i}")],
                           env, root / f"worker{i}.log"))  # fmt: skip
    return env["SPLAT_DASK_ADDRESS"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("dask")
    dask_home, dagster_home = root / "dask_home", root / "dagster"
    env = {**os.environ, "SPLAT_HOME": str(dask_home), "DAGSTER_HOME": str(dagster_home),
           "SPLAT_DAGSTER_STORAGE": str(dagster_home / "storage"), "SPLAT_PROFILE": "tiny",
           "SPLAT_OVERRIDES": ";".join(OVERRIDES), "SPLAT_EXECUTOR": "dask",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # fmt: skip
    procs: list = []
    threads = torch.get_num_threads()
    try:
        address = _cluster(root, env, procs)
        # The reference, in this process, while the workers start.
        torch.set_num_threads(1)
        settings = SplatSettings(home=str(root / "inprocess_home"), profile="tiny",
                                 overrides=OVERRIDES)  # fmt: skip
        (root / "reference_dagster").mkdir()
        with dg.instance_for_test(temp_dir=str(root / "reference_dagster")) as instance:
            materialize_graph(build_definitions(settings), instance, SELECTED,
                              progress=lambda _m: None)  # fmt: skip
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            worker_pids = set(client.run(os.getpid).values())
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            with get_instance(dask_home) as instance:
                run_ids = execute_graph(instance, SELECTED, progress=lambda _m: None)
                step_pids: dict[str, set[int]] = {}
                for run_id in run_ids:
                    for entry in instance.all_logs(run_id):
                        event = entry.dagster_event
                        if event is not None and event.step_key and event.is_step_event:
                            step_pids.setdefault(event.step_key, set()).add(event.pid)
        yield Runs(settings.home, str(dask_home), worker_pids, step_pids)
    finally:
        torch.set_num_threads(threads)
        stop(*procs[1:], grace=5)  # the workers, then the scheduler they would wait for
        stop(*procs[:1], grace=5)


def test_dask_results_equal_the_in_process_ones(runs):
    for asset in COMPARED:
        keys = ["000", "001"] if asset in PARTITIONED else [None]
        for key in keys:
            mine = catalog.current_path(runs.dask_home, asset, key)
            reference = catalog.current_path(runs.inprocess_home, asset, key)
            a, b = artifact_content(mine), artifact_content(reference)
            assert a, f"{asset}: nothing to compare"
            assert content_diff(a, b) == [], f"{asset} [{key}] differs from in-process"


def test_every_step_ran_on_the_dask_workers(runs):
    assert len(runs.worker_pids) == 2 and os.getpid() not in runs.worker_pids
    assert set(SELECTED) <= set(runs.step_pids)  # every selected asset had a step
    for step, pids in runs.step_pids.items():
        assert pids <= runs.worker_pids, f"{step} ran in {pids}, not on a worker"
    used = set().union(*runs.step_pids.values())
    assert used == runs.worker_pids  # both workers took work
