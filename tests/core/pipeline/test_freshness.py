"""Which shards the schedule backfills: from lineage, not timestamps."""

from splat_core.pipeline.config import load_config
from splat_core.pipeline.freshness import stale_partitions, why_stale, why_stale_asset
from splat_core.store.lineage import config_fingerprint

CONFIG = load_config("tiny")


def entry(version: str, fp: str, inputs: dict[str, str], asset: str | None = None) -> dict:
    """A catalog entry whose inputs are {key: fingerprint} (versions are named after them)."""
    return {"version": version, "fingerprint": fp,
            "inputs": {k: {"version": f"v-{f}", "fingerprint": f} for k, f in inputs.items()},
            "config": config_fingerprint(asset, CONFIG) if asset else None}  # fmt: skip


def home(parts=("000", "001"), sae="s1", samples_fp=None) -> dict:
    cat = {"builds": entry("v-b1", "b1", {}), "base_model": entry("v-m1", "m1", {"builds": "b1"}),
           "sae": entry(f"v-{sae}", sae, {})}  # fmt: skip
    for asset in ("samples", "pooled", "activations"):
        cat[asset] = {"partitions": {}}
    for p in parts:
        s = (samples_fp or {}).get(p, f"s{p}")
        cat["samples"]["partitions"][p] = entry(f"v-{s}", s, {"builds": "b1"}, "samples")
        cat["pooled"]["partitions"][p] = entry(
            f"v-p{p}", f"p{p}", {"base_model": "m1", f"samples/{p}": f"s{p}"}, "pooled"
        )
        cat["activations"]["partitions"][p] = entry(
            f"v-a{p}", f"a{p}", {"sae": "s1", f"pooled/{p}": f"p{p}"}, "activations"
        )
    return cat


def test_fresh_shards_are_left_alone():
    assert stale_partitions(home(), ["000", "001"], CONFIG) == []


def test_missing_and_changed_inputs_make_shards_stale():
    assert why_stale(home(parts=("000",)), "001") == "samples/001 is not materialized"
    # a new SAE (other content) leaves the shared shards alone: the schedule backfills
    # samples and pooled; each SAE variant's activations follow their SAE (stale_assets)
    assert stale_partitions(home(sae="s2"), ["000", "001"]) == []
    assert "sae changed since" in why_stale_asset(home(sae="s2"), "activations", "000")
    # one shard's samples recomputed with other content: only that shard
    changed = home(samples_fp={"001": "other"})
    assert stale_partitions(changed, ["000", "001"]) == ["001"]
    assert why_stale(changed, "001").startswith("pooled/001: samples/001 changed since")


def test_other_settings_make_shards_stale():
    other = load_config("tiny", ["samples.instances=2"])
    assert why_stale(home(), "000", other) == "samples/000 was computed with other settings"
    assert why_stale(home(), "000", load_config("tiny", ["analysis.top_n=5"])) is None


def test_versions_without_lineage_are_recomputed():
    legacy = home()
    del legacy["samples"]["partitions"]["000"]["inputs"]
    assert why_stale(legacy, "000") == "samples/000: published without lineage"


def test_the_feature_map_follows_its_own_config_section():
    """feature_map reads only the `feature_map` section; the other analysis tables only
    `analysis`."""
    fp = lambda asset, *o: config_fingerprint(asset, load_config("tiny", list(o)))  # noqa: E731
    assert fp("feature_map", "analysis.k_neighbors=3") == fp("feature_map")
    assert fp("feature_map", "feature_map.seed=1") != fp("feature_map")
    assert fp("feature_correlations", "feature_map.seed=1") == fp("feature_correlations")
    assert fp("feature_correlations", "analysis.k_correlations=3") != fp("feature_correlations")


def test_explanations_follow_the_explain_section():
    """feature_explanations' step reads only `explain`: its settings make it stale, the
    other analysis tables' do not."""
    fp = lambda asset, *o: config_fingerprint(asset, load_config("tiny", list(o)))  # noqa: E731
    assert fp("feature_explanations", "explain.seed=1") != fp("feature_explanations")
    assert fp("feature_explanations", "analysis.k_neighbors=3") == fp("feature_explanations")
    assert fp("feature_stats", "explain.seed=1") == fp("feature_stats")
