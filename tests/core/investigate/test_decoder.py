"""The decoder analysis: W_out times the decoder direction, checked directly."""

from __future__ import annotations

import numpy as np
import pytest

from splat_core import investigate as inv
from tests.helpers import VOCAB, F

# --- decoder ----------------------------------------------------------------------------------


def test_decoder_analysis_is_w_out_times_the_decoder_direction(investigation_reader):
    enc = investigation_reader.encoder
    w = enc.model.output_layer.weight.detach().double().numpy()
    d = enc.sae.decoder_directions().detach().double().numpy()
    content = VOCAB.content_ids()
    infl = w[content] @ d  # [138, F]
    names_ = [VOCAB.id_to_token[i] for i in content]
    for f in range(F):
        r = inv.decoder_analysis(investigation_reader, f, top_k=5, n_similar=2)
        order = np.argsort(-infl[:, f], kind="stable")
        assert [p["token"] for p in r["promoted"]] == [names_[i] for i in order[:5]]
        assert [p["value"] for p in r["promoted"]] == pytest.approx(infl[order[:5], f])
        assert [s["token"] for s in r["suppressed"]] == [names_[i] for i in order[::-1][:5]]
        norms = np.linalg.norm(infl, axis=0)
        assert r["influence_norm"] == pytest.approx(norms[f])
        assert r["influence_norm_percentile"] == pytest.approx(100 * (norms <= norms[f]).mean())
        assert r["decoder_norm"] == pytest.approx(1.0) and r["decoder_norms_equal"]
        cos = d.T @ d[:, f]
        cos[f] = -np.inf
        assert [s["feature_id"] for s in r["similar"]] == np.argsort(-cos)[:2].tolist()
        stats = investigation_reader.stats(f)
        typical = (
            np.array([investigation_reader.stats(g)["mean_nonzero"] or 0 for g in range(F)]) * norms
        )
        assert r["importance"] == pytest.approx((stats["mean_nonzero"] or 0) * norms[f])
        assert r["importance_percentile"] == pytest.approx(100 * (typical <= typical[f]).mean())
        ssu = next(x for x in r["families"] if x["ability"] == "swim_speed_up")
        rows = [i for i, t in enumerate(names_) if t.startswith("swim_speed_up_")]
        assert ssu["mean"] == pytest.approx(infl[rows, f].mean()) and ssu["n_tokens"] == 9
    r = inv.decoder_analysis(investigation_reader, 0, top_k=200, exclude=["SSU"])
    assert all(p["ability"] != "swim_speed_up" for p in r["promoted"] + r["suppressed"])
    assert all(p["ability"] == "swim_speed_up" for p in r["excluded_promoted"])
