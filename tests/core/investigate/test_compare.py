"""Two features compared, the logit histogram and the feature map, against numpy on the dense
activations and the model's weights read directly."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from splat_core.explain.table import best_rows
from splat_core.investigate.compare import compare_features, logit_histogram, map_points
from splat_core.query import MissingAssetError, Reader, UnknownFeatureError
from tests.helpers import publish_table


def _check_compare(reader, a: np.ndarray, f: int, g: int) -> dict:
    """compare_features(f, g) against numpy on the dense [N, F] activations `a`."""
    x, y = a[:, f].astype(np.float64), a[:, g].astype(np.float64)
    out = compare_features(reader, f, g, max_points=10**9)
    both = int(((x > 0) & (y > 0)).sum())
    only_f, only_g = int(((x > 0) & (y == 0)).sum()), int(((x == 0) & (y > 0)).sum())
    assert out["counts"] == {
        "both": both, "only_f": only_f, "only_g": only_g,
        "neither": len(x) - both - only_f - only_g,
    }  # fmt: skip
    nf, ng = both + only_f, both + only_g
    assert out["p_g_given_f"]["p"] == pytest.approx(both / nf)
    assert out["p_g_given_f"]["stderr"] == pytest.approx(np.sqrt(both / nf * (1 - both / nf) / nf))
    assert out["p_f_given_g"]["p"] == (pytest.approx(both / ng) if ng else None)
    assert out["jaccard"] == pytest.approx(both / (both + only_f + only_g))
    if np.ptp(x) > 0 and np.ptp(y) > 0:
        assert out["pearson_all"]["r"] == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-9)
    co = (x > 0) & (y > 0)
    if co.sum() > 2 and np.ptp(x[co]) > 0 and np.ptp(y[co]) > 0:
        assert out["pearson_cofiring"]["r"] == pytest.approx(np.corrcoef(x[co], y[co])[0, 1])
    either = np.flatnonzero((x > 0) | (y > 0))
    pts = out["scatter"]["points"]
    assert [p["sample_id"] for p in pts] == either.tolist()
    assert [p["a_f"] for p in pts] == pytest.approx(x[either].tolist())
    assert [p["a_g"] for p in pts] == pytest.approx(y[either].tolist())
    d = reader.encoder.sae.decoder_directions().detach().double().numpy()
    cos = d[:, f] @ d[:, g] / np.linalg.norm(d[:, f]) / np.linalg.norm(d[:, g])
    assert out["decoder_cosine"] == pytest.approx(cos)
    assert "samples" in out["population"] and out["definitions"]
    return out


def test_compare_on_known_activations(investigation_reader, investigation_home):
    a = investigation_home[3]
    out = _check_compare(investigation_reader, a, 0, 1)
    assert out["top_tokens"]["shared"] is None  # the hand-made home has no feature_tokens
    out = _check_compare(investigation_reader, a, 1, 3)  # 3 never fires
    assert out["p_g_given_f"]["p"] == 0.0 and out["p_f_given_g"]["p"] is None
    assert out["pearson_all"]["r"] is None  # constant


def test_compare_on_tiny_home(tiny_reader, dense):
    a = dense[0]
    counts = (a > 0).sum(axis=0)
    f, g = (int(i) for i in np.argsort(-counts, kind="stable")[:2])
    out = _check_compare(tiny_reader, a, f, g)
    tf = [r["token"] for r in tiny_reader.tokens(f) if r["kind"] == "enhancer"][:10]
    tg = [r["token"] for r in tiny_reader.tokens(g) if r["kind"] == "enhancer"][:10]
    assert out["top_tokens"]["shared"] == [t for t in tf if t in tg]


def test_compare_subsamples_the_scatter_reproducibly(investigation_reader, investigation_home):
    a = investigation_home[3]
    either = np.flatnonzero((a[:, 0] > 0) | (a[:, 2] > 0))
    one = compare_features(investigation_reader, 0, 2, max_points=10, seed=3)
    two = compare_features(investigation_reader, 0, 2, max_points=10, seed=3)
    assert one["scatter"] == two["scatter"]
    ids = [p["sample_id"] for p in one["scatter"]["points"]]
    assert len(ids) == 10 and set(ids) <= set(either.tolist()) and ids == sorted(ids)
    assert one["scatter"]["n_total"] == len(either) and "random 10" in one["scatter"]["note"]
    with pytest.raises(UnknownFeatureError):
        compare_features(investigation_reader, 0, 99)
    with pytest.raises(ValueError, match="max_points"):
        compare_features(investigation_reader, 0, 1, max_points=-1)


@pytest.mark.parametrize("which", ["investigation", "tiny"])
def test_logit_histogram_is_w_out_times_the_decoder_direction(
    which, investigation_reader, tiny_reader
):
    reader = investigation_reader if which == "investigation" else tiny_reader
    enc = reader.encoder
    w = enc.model.output_layer.weight.detach().double().numpy()
    d = enc.sae.decoder_directions().detach().double().numpy()
    toks = list(enc.content_names)
    for f in (0, 1):
        col = w[enc.content_ids] @ d[:, f]
        out = logit_histogram(reader, f, bins=7, top_k=3)
        counts, edges = np.histogram(col, bins=7)
        assert out["counts"] == counts.tolist() and out["edges"] == pytest.approx(edges)
        assert sum(out["counts"]) == len(col) == out["n_tokens"]
        assert out["mean"] == pytest.approx(col.mean())
        assert out["std"] == pytest.approx(col.std(ddof=1))
        top = np.argsort(-col, kind="stable")[:3]
        assert [r["token"] for r in out["top_positive"]] == [toks[i] for i in top]
        assert [r["value"] for r in out["top_positive"]] == pytest.approx(col[top])
        low = np.argsort(col, kind="stable")[:3]
        assert [r["value"] for r in out["top_negative"]] == pytest.approx(col[low])
    with pytest.raises(ValueError, match="bins"):
        logit_histogram(reader, 0, bins=0)


def publish_map(home, ids) -> pa.Table:
    """A hand-made feature_map (x = 2f, y = -f), method in the schema's metadata."""
    ids = np.asarray(ids, np.int32)
    table = pa.table({"feature_id": ids, "x": ids * 2.0, "y": -ids * 1.0}).replace_schema_metadata(
        {"method": "pca"}
    )
    publish_table(home, "feature_map", table)
    return table


def test_map_points_joins_per_feature(home):
    with Reader.open(home) as r:
        n = r.n_features
    publish_map(home, range(n))
    with Reader.open(home) as r:
        labels = {1: "Swim stacker"}
        out = map_points(r, "family", labels)
        stats = {x["feature_id"]: x["density"] for x in r.table("feature_stats").table.to_pylist()}
        tokens = r.table("feature_tokens").table.to_pylist()
        best = {x["feature_id"]: x["f1"] for x in best_rows(r.table("feature_explanations").table)
                .to_pylist()}  # fmt: skip
    assert out["method"] == "pca" and out["color"] == "family" and out["n_features"] == n
    for p in out["points"]:
        f = p["feature_id"]
        assert (p["x"], p["y"]) == (2.0 * f, -1.0 * f)
        assert p["label"] == labels.get(f)
        first = [
            t["token"]
            for t in tokens
            if t["feature_id"] == f and t["kind"] == "enhancer" and t["rank"] == 1
        ]
        assert p["top_token"] == (first[0] if first else None)
        if first and first[0] != "<NULL>":
            assert first[0].startswith(p["family"])
        assert p["explanation_f1"] == (pytest.approx(best[f]) if f in best else None)
        assert p["firing_rate"] == pytest.approx(stats[f])
    assert any(p["family"] for p in out["points"]) and any(p["explanation_f1"]
                                                           for p in out["points"])  # fmt: skip


def test_map_points_without_the_asset(investigation_reader):
    with pytest.raises(MissingAssetError, match="feature_map"):
        map_points(investigation_reader)
    with pytest.raises(ValueError, match="color"):
        map_points(investigation_reader, "weapon")
