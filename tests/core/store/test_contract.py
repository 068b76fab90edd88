"""The asset contract: the asset keys and files outside readers rely on, in graph order."""

from __future__ import annotations

import pytest

from splat_core.store import contract

# DESIGN.md's asset keys, written out: renaming one breaks the Dagster UI's history, `splat
# info --json` readers and every home on disk.
KEYS = ["vocab", "builds", "base_model", "samples", "pooled", "sae", "activations",
        "feature_store", "feature_stats", "feature_histograms", "token_idf", "feature_tokens",
        "feature_weapons", "feature_influence", "feature_neighbors",
        "feature_explanations", "feature_correlations", "feature_map",
        "sae_comparison"]  # fmt: skip


def test_asset_keys_in_graph_order():
    assert list(contract.ASSET_NAMES) == KEYS
    seen: set[str] = set()
    for spec in contract.ASSETS:
        assert set(spec.deps) <= seen, f"{spec.name} comes before what it is computed from"
        seen.add(spec.name)


def test_partitions_groups_and_io_managers():
    assert contract.SHARD_ASSETS == ("samples", "pooled", "activations")
    assert tuple(KEYS[8:]) == contract.ANALYSIS_ASSETS
    assert contract.kinds("checkpoint_io") == ("model", "sae")
    assert contract.kinds("zarr_io") == ("pooled", "activations", "feature_store")
    assert contract.kinds("parquet_io") == ("vocab", "builds", "samples", *KEYS[8:])
    assert {s.group for s in contract.ASSETS} == {"data", "model", "sae", "analysis"}


def test_files_of_a_version_directory():
    files = {s.name: s.files for s in contract.ASSETS}
    assert files["feature_store"] == ("csc.zarr",) and files["activations"] == ("csr.zarr",)
    assert files["pooled"] == ("pooled.zarr",)
    assert files["vocab"] == ("vocab.json", "weapon_vocab.json", "weapons.parquet")
    assert files["base_model"] == ("model.safetensors", "model_params.json", "metrics.json")
    assert files["sae"] == ("sae.safetensors", "sae_config.json", "metrics.json")
    assert files["feature_influence"] == ("feature_influence.parquet", "influence.zarr")
    for name in KEYS[8:]:
        spec = contract.spec(name)
        assert spec.table_file == f"{name}.parquet" == spec.files[0]
        keys = {"token_idf": "token_id", "sae_comparison": None}  # one row per SAE variant
        assert spec.key == keys.get(name, "feature_id")
        assert [c.name for c in spec.checks] == [f"{name}_valid", f"{name}_intact"]


def test_feature_table_parts():
    assert contract.TABLE_OF_PART == {
        "stats": "feature_stats", "histogram": "feature_histograms", "tokens": "feature_tokens",
        "weapons": "feature_weapons", "influence": "feature_influence",
        "neighbors": "feature_neighbors", "explanations": "feature_explanations",
        "correlations": "feature_correlations", "map": "feature_map",
    }  # fmt: skip
    assert tuple(contract.TABLE_OF_PART.values()) == contract.FEATURE_TABLES


def test_kinds_and_unknown_names():
    assert contract.spec("base_model").kind == "model" and contract.BY_KIND["model"].name == (
        "base_model"
    )
    with pytest.raises(KeyError, match="unknown asset 'nope'; known: vocab, builds"):
        contract.spec("nope")
    with pytest.raises(ValueError, match="not an analysis table"):
        _ = contract.spec("sae").table_file
