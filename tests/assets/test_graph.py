"""The Dagster asset graph on the tiny profile, on real Dagster instances."""

from __future__ import annotations

import datetime

import dagster as dg
import numpy as np
import pytest
import zarr
from dagster._utils.test.data_versions import get_stale_status_resolver  # pinned dagster

from splat_assets import definitions
from splat_assets.partitions import location
from splat_assets.resources import SplatSettings
from splat_assets.runner import materialize_graph
from splat_core.pipeline import steps
from splat_core.pipeline.code_versions import asset_code_version
from splat_core.pipeline.freshness import stale_assets
from splat_core.store import catalog, contract, integrity, lineage
from splat_core.store.artifacts import open_artifact
from splat_core.store.contract import ANALYSIS_ASSETS
from tests.helpers import shard_entries

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
TINY: list[str] = []  # the tiny profile as it is


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    home = tmp_path_factory.mktemp("splat_home")
    settings = SplatSettings(home=str(home), profile="tiny", overrides=TINY)
    defs = definitions.build_definitions(settings)
    with dg.instance_for_test(temp_dir=str(tmp_path_factory.mktemp("dagster"))) as instance:
        seconds = materialize_graph(defs, instance, progress=lambda _m: None).seconds
        yield home, defs, instance, seconds


def test_whole_graph_materializes_with_passing_checks(materialized):
    home, defs, instance, seconds = materialized
    info = catalog.read_catalog(home)
    assert set(info) == {"vocab", "builds", "samples", "base_model", "pooled", "sae",
                         "activations", "feature_store", *ANALYSIS_ASSETS}  # fmt: skip
    assert set(info["activations"]["partitions"]) == {"000", "001"}
    assert set(seconds) >= {"builds", "base_model", "sae", "feature_store"}
    shard_nnz = sum(p["metadata"]["nnz"] for p in info["activations"]["partitions"].values())
    assert info["feature_store"]["metadata"]["nnz"] == shard_nnz
    n_samples = sum(p["metadata"]["rows"] for p in info["samples"]["partitions"].values())
    assert info["feature_store"]["metadata"]["n_samples"] == n_samples


def test_feature_store_matches_the_shards(materialized):
    """The CSC store holds exactly the CSR shards' entries, each feature highest first."""
    home = materialized[0]
    csc = open_artifact(catalog.current_path(home, "feature_store"))
    rows, cols, vals = shard_entries(home)
    for f in range(csc.n_features):
        ids, values = csc.feature(f)
        mine = cols == f
        expected = sorted(zip(-vals[mine], rows[mine], strict=True))
        assert list(zip(-values, ids, strict=True)) == [(v, int(r)) for v, r in expected]


def _run_checks(defs, instance, asset: str):
    tags = {"dagster/partition": "default"} if contract.spec(asset).per_sae else {}
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        selection=dg.AssetSelection.checks_for_assets(asset),
        instance=instance, resources=defs.resources, raise_on_error=False, tags=tags,
    )  # fmt: skip
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_an_asset_check_fails_on_a_corrupted_store(materialized, tmp_path):
    home, defs, instance, _ = materialized
    intact = {"feature_store_valid": True, "feature_store_intact": True}
    assert _run_checks(defs, instance, "feature_store") == intact
    data = zarr.open_array(str(catalog.current_path(home, "feature_store") / "csc.zarr" / "data"),
                           mode="r+")  # fmt: skip
    original = data[:5]
    try:
        data[:5] = np.array([np.nan, 1, 2, 3, 4], dtype=np.float32)  # NaN, ascending order
        # both: the data check sees the NaN and the order; the checksums see the bytes
        assert _run_checks(defs, instance, "feature_store") == {
            "feature_store_valid": False, "feature_store_intact": False}  # fmt: skip
    finally:
        data[:5] = original
    assert _run_checks(defs, instance, "feature_store") == intact


def test_an_interrupted_materialization_leaves_the_previous_version(materialized, monkeypatch):
    home, defs, instance, _ = materialized
    before = catalog.current_path(home, "feature_store")
    nnz = open_artifact(before).nnz

    def crash(out, *args, **kwargs):
        (out / "csc.zarr").mkdir()
        (out / "csc.zarr" / "half-written").write_text("x")
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(steps, "feature_store_step", crash)
    with pytest.raises(BaseException):  # noqa: B017 - any interruption
        dg.materialize([*defs.assets, *defs.asset_checks],
                       selection=dg.AssetSelection.assets("feature_store"),
                       instance=instance, resources=defs.resources)  # fmt: skip
    assert catalog.current_path(home, "feature_store") == before
    assert open_artifact(before).nnz == nnz


def test_backfill_of_all_shards_through_the_multiprocess_executor(materialized, monkeypatch,
                                                                  tmp_path):  # fmt: skip
    home = materialized[0]
    monkeypatch.setenv("SPLAT_HOME", str(home))
    monkeypatch.setenv("SPLAT_PROFILE", "tiny")
    monkeypatch.setenv("SPLAT_OVERRIDES", ";".join(TINY))
    before = {k: catalog.current_path(home, "pooled", k) for k in ("000", "001")}
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        for key in ("000", "001"):
            result = dg.execute_job(
                dg.reconstructable(definitions.shards_job), instance=instance,
                tags={"dagster/partition": key},
            )  # fmt: skip
            assert result.success
            assert result.dagster_run.tags["dagster/partition"] == key
        # the shared shards; each SAE variant's activations follow by automation
        materialized_keys = instance.get_materialized_partitions(dg.AssetKey("pooled"))
        assert materialized_keys == {"000", "001"}
        engine = [e for e in instance.all_logs(result.run_id) if e.dagster_event
                  and "multiprocess" in (e.message or "").lower()]  # fmt: skip
        assert engine, "the run did not go through the multiprocess executor"
    after = {k: catalog.current_path(home, "pooled", k) for k in ("000", "001")}
    assert all(after[k] != before[k] for k in after)  # new versions were published


def test_run_config_overrides_reach_the_asset(materialized):
    """A launchpad-style run config (StepConfig.overrides) changes what the asset computes."""
    home, defs, instance, _ = materialized
    run_config = {"ops": {"vocab": {"config": {"overrides": ["data.source=bogus"]}}}}
    result = dg.materialize([*defs.assets, *defs.asset_checks],
                            selection=dg.AssetSelection.assets("vocab"), instance=instance,
                            resources=defs.resources, run_config=run_config,
                            raise_on_error=False)  # fmt: skip
    assert not result.success  # the override was applied (and rejected by the step)


def _requested(defs, instance) -> list[str]:
    (schedule,) = defs.schedules
    with dg.build_schedule_context(
        instance=instance, scheduled_execution_time=NOW, repository_def=defs.get_repository_def()
    ) as context:
        return sorted(r.partition_key for r in schedule.evaluate_tick(context).run_requests or [])


def test_schedule_requests_stale_shards_by_lineage(materialized):
    home, defs, instance, _ = materialized
    assert _requested(defs, instance) == []  # everything is fresh
    # the same home under other sample settings: every shard was computed with the old ones
    other = SplatSettings(home=str(home), profile="tiny", overrides=["samples.seed=1"])
    assert _requested(definitions.build_definitions(other), instance) == ["000", "001"]


# --- versions: these run last in the module, since they rematerialize its home ---------------


def _statuses(defs, instance) -> dict[str, str]:
    """Dagster's own stale status of every asset (partition), as the UI shows it."""
    resolver = get_stale_status_resolver(instance, list(defs.assets))
    out = {}
    for a in defs.assets:
        for key in a.keys:
            parts = a.partitions_def.get_partition_keys() if a.partitions_def else [None]
            for p in parts:  # named as in the catalog: "activations/000", "sae"
                where = location(key.path[-1], p)
                out[lineage.key_of(where.stored, where.shard)] = resolver.get_status(key, p).value
    return out


def test_every_asset_has_a_code_version_and_reports_its_content_as_data_version(materialized):
    home, defs, instance, _ = materialized
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        name = key.path[-1]
        assert graph.get(key).code_version == asset_code_version(name)
        event = instance.get_latest_materialization_event(key)
        tags = event.asset_materialization.tags
        entry = catalog.read_catalog(home)[name]
        if "partitions" in entry:  # one run computed every shard: one version over them all
            prefix = "default|" if contract.spec(name).per_sae else ""  # Dagster's partition keys
            prints = {prefix + k: p["fingerprint"] for k, p in entry["partitions"].items()}
            fingerprint = integrity.fingerprint_of(prints)
        else:
            fingerprint = entry["fingerprint"]
        assert tags["dagster/data_version"] == fingerprint
    assert set(_statuses(defs, instance).values()) == {"FRESH"}


def test_one_run_computes_every_shard_of_a_stage(materialized):
    home, defs, instance, _ = materialized
    for name in ("samples", "pooled", "activations"):
        records = instance.fetch_materializations(dg.AssetKey(name), limit=10).records
        prefix = "default|" if name == "activations" else ""  # by SAE variant and shard
        assert {r.partition_key for r in records} == {prefix + "000", prefix + "001"}
        assert len({r.run_id for r in records}) == 1  # a single-run backfill of both shards
        checks = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey(name), f"{name}_intact"), limit=5)  # fmt: skip
        assert len(checks) == 1 and checks[0].run_id == records[0].run_id


def test_an_identical_recompute_leaves_dependents_in_sync(materialized):
    home, defs, instance, _ = materialized
    before = catalog.read_catalog(home)["sae"]
    run = materialize_graph(defs, instance, ["sae"], lambda _m: None, force=True)
    after = catalog.read_catalog(home)["sae"]
    assert run.seconds.get("sae", 0) > 0 and after["version"] != before["version"]
    assert after["fingerprint"] == before["fingerprint"]  # seeded: the same weights
    assert set(_statuses(defs, instance).values()) == {"FRESH"}
    assert stale_assets(catalog.read_catalog(home), settings_of(defs).config()) == {}


def test_a_changed_sae_marks_exactly_its_dependents_stale_then_one_run_brings_them_current(
    materialized,
):
    home, defs, instance, _ = materialized
    changed = definitions.build_definitions(
        SplatSettings(home=str(home), profile="tiny", overrides=["sae.seed=1"]))  # fmt: skip
    materialize_graph(changed, instance, ["sae"], lambda _m: None)
    statuses = _statuses(changed, instance)
    # Dagster marks what reads the SAE; splat's plan also what reads those (transitively)
    direct = {"activations/000", "activations/001", "feature_store", "feature_influence",
              "feature_neighbors", "feature_map", "sae_comparison"}  # fmt: skip
    dependents = direct | {"feature_stats", "feature_histograms", "feature_tokens",
                           "feature_weapons", "feature_explanations",
                           "feature_correlations"}  # fmt: skip
    assert {k for k, v in statuses.items() if v != "FRESH"} == direct
    config = settings_of(changed).config()
    assert set(stale_assets(catalog.read_catalog(home), config)) == dependents
    run = materialize_graph(changed, instance, None, lambda _m: None)  # incremental
    assert set(run.seconds) == {k.split("/")[0] for k in dependents}
    assert {"sae [default]", "pooled [000]", "samples [001]", "token_idf"} <= set(run.up_to_date)
    assert set(_statuses(changed, instance).values()) == {"FRESH"}
    assert stale_assets(catalog.read_catalog(home), config) == {}
    # and again: nothing left to do
    again = materialize_graph(changed, instance, None, lambda _m: None)
    assert again.seconds == {} and again.run_ids == []


def settings_of(defs) -> SplatSettings:
    return defs.resources["settings"]
