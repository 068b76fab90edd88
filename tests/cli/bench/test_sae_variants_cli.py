"""`splat bench sae-variants` on the tiny home: --out and --json hold the core rows (whose
numbers tests/core/pipeline/test_sae_variants.py checks), --save-dir keeps SAEs that load,
the table prints, and a bad variant exits 2 naming it."""

from __future__ import annotations

import json

import pytest

from splat_cli.main import main
from splat_core.sae import load_sae, read_metrics


def test_rows_saved_saes_and_table(capsys, tiny_home, tmp_path):
    argv = ["bench", "sae-variants", "--home", str(tiny_home), "--profile", "tiny",
            "--variant", "a arch=topk epochs=2", "--variant", "b arch=batchtopk epochs=2",
            "--out", str(tmp_path / "rows.json"), "--save-dir", str(tmp_path / "saes")]  # fmt: skip
    assert main([*argv, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == json.loads((tmp_path / "rows.json").read_text())
    assert [(r["variant"], r["arch"]) for r in rows] == [("a", "topk"), ("b", "batchtopk")]
    for row in rows:
        saved = tmp_path / "saes" / row["variant"]
        sae = load_sae(saved)
        assert sae.arch == row["arch"] and sae.n_features == row["n_features"]
        assert read_metrics(saved)["explained_variance"] == pytest.approx(row["explained_variance"])
    assert main(argv) == 0  # the table
    out = capsys.readouterr().out
    assert "variant" in out and "batchtopk" in out and ("yes" in out or "no" in out)


def test_a_bad_variant_exits_2_naming_it(capsys, tiny_home):
    code = main(["bench", "sae-variants", "--home", str(tiny_home), "--profile", "tiny",
                 "--variant", "odd nonsense=1"])  # fmt: skip
    assert code == 2 and "variant 'odd'" in capsys.readouterr().err
