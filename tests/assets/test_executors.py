"""SPLAT_EXECUTOR picks the executor of every job without touching asset code."""

from __future__ import annotations

import dagster as dg
import pytest

from splat_assets import definitions
from splat_assets.definitions import all_assets_job
from splat_assets.executors import executor_from_env
from splat_assets.resources import SplatSettings


def _executors(settings) -> tuple[str, str]:
    defs = definitions.build_definitions(settings)
    all_assets = defs.resolve_implicit_global_asset_job_def().executor_def.name
    return defs.resolve_job_def("shards_job").executor_def.name, all_assets


@pytest.fixture
def settings(tmp_path):
    return SplatSettings(home=str(tmp_path), profile="tiny")


def test_unset_keeps_the_defaults(settings, monkeypatch):
    monkeypatch.delenv("SPLAT_EXECUTOR", raising=False)
    assert _executors(settings) == ("multiprocess", "multi_or_in_process_executor")


def test_materialize_all_runs_its_steps_in_one_process_by_default(settings, monkeypatch):
    # one run of the whole graph pays its start-up once (as `splat materialize`)
    monkeypatch.delenv("SPLAT_EXECUTOR", raising=False)
    job = definitions.build_definitions(settings).resolve_job_def(definitions.MATERIALIZE_ALL)
    assert job.executor_def.name == "in_process"
    # what a job backfill reads to launch all partitions as one run (job_backfill.py)
    assert job.backfill_policy == dg.BackfillPolicy.single_run()
    monkeypatch.setenv("SPLAT_EXECUTOR", "multiprocess")
    job = definitions.build_definitions(settings).resolve_job_def(definitions.MATERIALIZE_ALL)
    assert job.executor_def.name == "multiprocess"


@pytest.mark.parametrize(("name", "expected"), [("inprocess", "in_process"),
                                                ("multiprocess", "multiprocess")])  # fmt: skip
def test_a_named_executor_applies_to_every_job(settings, monkeypatch, name, expected):
    monkeypatch.setenv("SPLAT_EXECUTOR", name)
    assert _executors(settings) == (expected, expected)


def test_dask_reads_the_scheduler_address_at_run_time(settings, monkeypatch):
    pytest.importorskip("dagster_dask")
    monkeypatch.setenv("SPLAT_EXECUTOR", "dask")
    monkeypatch.delenv("SPLAT_DASK_ADDRESS", raising=False)
    # loads without an address (workers rebuild the definitions); a run reads it, as
    # tests/assets/test_dask.py shows
    assert _executors(settings) == ("splat_dask", "splat_dask")


def test_k8s_is_dagster_k8s_job_executor(settings, monkeypatch):
    pytest.importorskip("dagster_k8s")
    monkeypatch.setenv("SPLAT_EXECUTOR", "k8s")
    assert _executors(settings) == ("k8s", "k8s")


def test_an_unknown_executor_is_refused(monkeypatch):
    monkeypatch.setenv("SPLAT_EXECUTOR", "celery")
    with pytest.raises(ValueError, match="inprocess, multiprocess, dask, k8s"):
        executor_from_env()


def test_the_all_assets_job_is_reconstructable(monkeypatch, tmp_path):
    monkeypatch.setenv("SPLAT_HOME", str(tmp_path))
    monkeypatch.setenv("SPLAT_PROFILE", "tiny")
    monkeypatch.setenv("SPLAT_EXECUTOR", "inprocess")
    job = dg.reconstructable(all_assets_job).get_definition()
    assert job.name == definitions.MATERIALIZE_ALL and job.executor_def.name == "in_process"
    assert {k.path[-1] for k in job.asset_layer.executable_asset_keys} >= {"samples", "pooled"}
    # the per-SAE stages have their own jobs (one partitioning each)
    sae = dg.reconstructable(definitions.sae_job).get_definition()
    assert {k.path[-1] for k in sae.asset_layer.executable_asset_keys} >= {"sae", "feature_store"}
    shards = dg.reconstructable(definitions.sae_shards_job).get_definition()
    assert {k.path[-1] for k in shards.asset_layer.executable_asset_keys} == {"activations"}
