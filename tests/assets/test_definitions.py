"""The Dagster definitions are the asset contract: keys, dependencies, groups, IO managers,
partitions, descriptions and checks, read back from Dagster's own asset graph."""

from __future__ import annotations

import dagster as dg
import pytest

from splat_assets import definitions
from splat_assets.resources import SplatSettings
from splat_core.pipeline.analysis_steps import ANALYSIS_STEPS
from splat_core.store import contract


@pytest.fixture(scope="module")
def defs(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    return definitions.build_definitions(SplatSettings(home=str(home), profile="tiny"))


def test_every_asset_of_the_contract_and_no_other(defs):
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == set(contract.ASSET_NAMES)


@pytest.mark.parametrize("name", contract.ASSET_NAMES)
def test_each_asset_agrees_with_its_spec(defs, name):
    spec = contract.spec(name)
    node = defs.resolve_asset_graph().get(dg.AssetKey(name))
    assert {k.to_user_string() for k in node.parent_keys} == set(spec.deps)
    assert node.group_name == spec.group
    assert _dimensions(node.partitions_def) == ({"sae"} if spec.per_sae else set()) | (
        {"shard"} if spec.partitioned else set()
    )
    assert node.description == spec.description
    assets_def = node.assets_def
    assert assets_def.get_io_manager_key_for_asset_key(dg.AssetKey(name)) == spec.io_manager
    checks = {
        k.name for k in defs.resolve_asset_graph().asset_check_keys if k.asset_key == node.key
    }
    assert checks == {c.name for c in spec.checks}


def _dimensions(partitions: dg.PartitionsDefinition | None) -> set[str]:
    """The partition dimensions Dagster shows: "sae" (the home's SAE variants), "shard"."""
    if partitions is None:
        return set()
    if isinstance(partitions, dg.MultiPartitionsDefinition):
        assert partitions.get_partition_keys() == [f"default|{k}" for k in contract.shard_keys(2)]
        return {d.name for d in partitions.partitions_defs}
    if partitions.get_partition_keys() == ["default"]:  # a new home has the default variant
        return {"sae"}
    assert partitions.get_partition_keys() == contract.shard_keys(2)  # tiny: 2 shards
    return {"shard"}


def test_per_sae_assets_are_sae_and_everything_computed_from_it():
    per_sae = set(contract.PER_SAE_ASSETS)
    assert "sae" in per_sae and not per_sae & {"vocab", "builds", "base_model", "samples",
                                                "pooled", "token_idf"}  # fmt: skip
    for spec in contract.ASSETS:  # closed downwards: an asset reading a per-SAE one is one,
        # unless it reads every variant at once (the comparison of the home's SAEs)
        assert spec.per_sae == (spec.name == "sae" or bool(per_sae & set(spec.deps))
                                and not spec.across_saes)  # fmt: skip
    assert [s.name for s in contract.ASSETS if s.across_saes] == ["sae_comparison"]


def test_one_analysis_step_per_analysis_asset():
    assert list(ANALYSIS_STEPS) == list(contract.ANALYSIS_ASSETS)


def test_io_managers_store_the_contract_kinds(defs):
    for key in ("parquet_io", "zarr_io", "checkpoint_io"):
        assert defs.resources[key].key == key
