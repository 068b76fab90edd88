"""`splat match-saes A B`: two SAEs trained on the tiny home's pooled vectors, matched; the
answer is the core functions' (sae/matching.py and analysis/absorption.py, whose numbers
their own tests check directly) on activations encoded here, and bad paths exit 2."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from splat_cli.main import main
from splat_core.analysis.absorption import absorption, rung_families, token_presence
from splat_core.pipeline.analysis_steps import sample_meta
from splat_core.pipeline.config import load_config
from splat_core.pipeline.sae_variants import load_home_inputs
from splat_core.sae import encode_csr, save_sae, train_sae
from splat_core.sae.matching import match_features
from splat_core.store.artifacts import open_current


@pytest.fixture(scope="module")
def two_saes(tiny_home, tmp_path_factory):
    x = load_home_inputs(tiny_home).pooled
    base = load_config("tiny").sae.resolved(x.shape[1])
    out = tmp_path_factory.mktemp("saes")
    saes = {}
    for name, width in (("small", 32), ("large", 128)):
        config = replace(base, n_features=width, epochs=4)
        saes[name] = train_sae(x, config, lambda _m: None).sae
        save_sae(out / name, saes[name], config)
    return out, saes, x


def test_match_saes_json_is_the_core_answer(capsys, tiny_home, two_saes):
    out, saes, x = two_saes
    code = main(["match-saes", str(out / "small"), str(out / "large"), "--home", str(tiny_home),
                 "--json", "--examples", "2"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    got = json.loads(captured.out)
    acts = [encode_csr(s, x) for s in (saes["small"], saes["large"])]
    decs = [s.decoder_directions().detach().numpy() for s in (saes["small"], saes["large"])]
    want = match_features(*decs, *acts)
    assert got["n_features"] == [32, 128]
    assert got["counts"] == json.loads(json.dumps(want.counts))
    a_categories = ("one_to_one", "split", "one_to_many", "absorbed", "partial",
                    "unmatched_a", "dead")  # fmt: skip
    assert sum(got["counts"][c] for c in a_categories) == 32
    for category, rows in got["examples"].items():
        assert 1 <= len(rows) <= 2 and all(r["category"] == category for r in rows)
    meta = sample_meta(open_current(tiny_home, "samples"))
    presence, families = token_presence(meta), rung_families(meta.vocab)
    for got_a, act, dec in zip(got["absorption"], acts, decs, strict=True):
        direct = absorption(act, dec, presence, families)
        assert got_a["mean_absorption_rate"] == pytest.approx(direct["mean_absorption_rate"])
        assert got_a["n_supported"] == direct["n_supported"]


def test_match_saes_text_and_bad_paths(capsys, tiny_home, two_saes, tmp_path):
    out, _, _ = two_saes
    assert main(["match-saes", str(out / "small"), str(out / "large"),
                 "--home", str(tiny_home)]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "SAE A (32 features) against SAE B (128)" in text and "absorption A" in text
    assert main(["match-saes", str(tmp_path / "nope"), str(out / "large"),
                 "--home", str(tiny_home)]) == 2  # fmt: skip
    assert "nope" in capsys.readouterr().err
