"""Lineage and generations: every version records what it was computed from; readers serve
only lineage-consistent generations, and move to a new one only when it is complete."""

from __future__ import annotations

import json

import pytest

from splat_core.query import Reader
from splat_core.store import catalog, generations, lineage
from splat_core.store.publishing import publish_asset


def _write(text: str):
    def write(d):
        (d / "value.txt").write_text(text)
        return {"text": text}

    return write


def _publish(home, asset, text, partition=None):
    return publish_asset(home, asset, _write(text), partition)


def test_a_version_records_its_inputs_exactly(tmp_path):
    _publish(tmp_path, "vocab", "v1")
    _publish(tmp_path, "builds", "b1")
    for part in ("000", "001"):
        _publish(tmp_path, "samples", f"s{part}", part)
    cat = catalog.read_catalog(tmp_path)
    vocab, builds = cat["vocab"], cat["builds"]
    assert vocab["inputs"] == {}
    assert builds["inputs"] == {"vocab": {"version": vocab["version"],
                                          "fingerprint": vocab["fingerprint"]}}  # fmt: skip
    shard = cat["samples"]["partitions"]["001"]
    assert set(shard["inputs"]) == {"builds"}  # a shard: the unpartitioned inputs
    assert lineage.input_keys("sae", None, cat) == [  # no pooled shards yet
        "samples/000",
        "samples/001",
        "builds",
        "base_model",
    ]
    assert lineage.input_keys("pooled", "001", cat) == ["base_model", "samples/001"]
    # the manifest holds the same lineage
    manifest = json.loads((catalog.current_path(tmp_path, "builds") / "MANIFEST.json").read_text())
    assert manifest["inputs"] == builds["inputs"] and manifest["code"] == builds["code"]
    with pytest.raises(lineage.StaleInputError, match="its input base_model is not materialized"):
        _publish(tmp_path, "pooled", "p", "000")


def test_readers_keep_the_old_generation_until_the_new_one_is_complete(tmp_path):
    _publish(tmp_path, "vocab", "v1")
    _publish(tmp_path, "builds", "b1")
    first = generations.served(tmp_path)
    assert set(first["versions"]) == {"vocab", "builds"}
    with Reader.open(tmp_path) as reader:
        assert reader.generation == first["id"]
    _publish(tmp_path, "vocab", "v2")  # new content: builds was made from the old vocab
    assert generations.served(tmp_path)["id"] == first["id"]  # still the old, whole
    with Reader.open(tmp_path) as reader:
        assert (reader.path("vocab") / "value.txt").read_text() == "v1"
    _publish(tmp_path, "builds", "b2")
    second = generations.served(tmp_path)
    assert second["id"] != first["id"]
    with Reader.open(tmp_path) as reader:
        assert (reader.path("vocab") / "value.txt").read_text() == "v2"
        assert (reader.path("builds") / "value.txt").read_text() == "b2"


def test_an_identical_rerun_keeps_the_dependents_consistent(tmp_path):
    _publish(tmp_path, "vocab", "v1")
    _publish(tmp_path, "builds", "b1")
    before = generations.served(tmp_path)
    _publish(tmp_path, "vocab", "v1")  # same content: same fingerprint
    after = generations.served(tmp_path)
    assert after["id"] != before["id"] and after["fingerprints"] == before["fingerprints"]


def test_the_consistent_set_drops_stale_versions_and_orphan_shards():
    def e(version, fp, **inputs):
        recorded = {k: {"version": "?", "fingerprint": f} for k, f in inputs.items()}
        return {"version": version, "fingerprint": fp, "inputs": recorded}

    cat = {
        "builds": e("b", "B"),
        "samples": {
            "partitions": {
                "000": e("s0", "S0", builds="B"),
                "001": e("s1", "S1", builds="B"),
                "002": e("s2", "S2", builds="OLD"),
            }
        },  # fmt: skip
        "token_idf": e("t", "T", **{"samples/000": "S0", "samples/001": "S1"}),
        "feature_tokens": e("f", "F", token_idf="T-old"),
    }
    chosen = generations.consistent_set(cat)
    # 002 is stale (made from other builds) and read by nothing; feature_tokens is stale
    assert sorted(chosen) == ["builds", "samples/000", "samples/001", "token_idf"]
    cat["samples"]["partitions"]["002"] = e("s2", "S2", builds="B")  # fresh but an orphan
    assert "samples/002" not in generations.consistent_set(cat)


def test_a_home_without_generations_is_frozen_before_its_first_publish(tmp_path):
    for asset in ("vocab", "builds"):
        (tmp_path / asset / "v1-legacy").mkdir(parents=True)
        (tmp_path / asset / "CURRENT.json").write_text(json.dumps(
            {"version": "v1-legacy", "metadata": {}}))  # fmt: skip
    with Reader.open(tmp_path) as reader:  # read from its CURRENT pointers
        assert reader.generation is None and set(reader.versions) == {"vocab", "builds"}
    _publish(tmp_path, "vocab", "new")  # builds has no lineage: no consistent new generation
    gen = generations.served(tmp_path)
    assert gen["legacy"] and gen["versions"] == {"vocab": "v1-legacy", "builds": "v1-legacy"}
    with Reader.open(tmp_path) as reader:
        assert reader.versions == gen["versions"]
