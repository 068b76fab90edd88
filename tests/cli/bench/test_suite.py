"""`splat bench suite` on a small seed store made by the suite itself: the report's numbers
are checked against direct computation (bytes on disk, the per-scale figures, the ratios
from the report's own medians) and the markdown against the numbers. Nothing is timed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from splat_cli.bench import suite as suite_mod
from splat_cli.bench.report import render_markdown
from splat_cli.bench.suite import REQUIRED, analysis_section, run_suite, seed_store
from splat_cli.bench.transpose import check_args
from splat_cli.main import main
from splat_core.query import Reader
from splat_core.store import catalog
from tests.helpers import seed_map_by_pca

# the targets, written out here rather than imported, so the report is checked
TARGETS = {"feature_read_ratio_vs_dense_zarr": lambda v: v >= 40,
           "bytes_per_nnz": lambda v: v <= 10, "build_nnz_per_s": lambda v: v >= 20e6,
           "build_peak_rss_ratio_2x_vs_1x": lambda v: v <= 1.10,
           "encode_fraction_of_roofline": lambda v: v >= 0.5}  # fmt: skip


def _quiet(_message: str) -> None:
    pass


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    home, out = root / "home", root / "out"
    with seed_map_by_pca():
        report = run_suite(home, make_store=True, small=True, out_dir=out, repeats=2,
                           json_repeats=1, encode_samples=64, encode_repeats=1, scan_batches=5,
                           scan_repeats=1, size_probes=4, progress=_quiet)  # fmt: skip
    return home, out, report


def _files_bytes(path: Path) -> int:
    return sum(os.path.getsize(Path(d) / f) for d, _, files in os.walk(path) for f in files)


def test_files_and_required_keys(suite):
    home, out, report = suite
    saved = json.loads((out / "bench.json").read_text())
    assert saved["bytes_per_nnz"] == report["bytes_per_nnz"]
    for key in REQUIRED:
        assert key in saved
    numeric = [k for k in REQUIRED if k != "api_arrow_500k_median_ms"]
    assert all(isinstance(saved[k], int | float) and saved[k] > 0 for k in numeric)
    # the small store has no feature near 500K activations: null, and a note says why
    assert saved["api_arrow_500k_median_ms"] is None
    assert any("500K" in n for n in saved["notes"])
    assert saved["machine"]["cpu_count"] >= 1 and saved["machine"]["torch_threads"] >= 1
    assert (home / "bench" / "seed_store.json").is_file()
    assert saved["analysis"]["measured"] and set(saved["analysis"]["assets"]) >= {
        "feature_stats", "feature_neighbors"}  # fmt: skip


def test_bytes_per_nnz_is_the_files_on_disk(suite):
    home, _, report = suite
    root = catalog.current_path(home, "feature_store") / "csc.zarr"
    on_disk = _files_bytes(root / "indices") + _files_bytes(root / "data")
    with Reader.open(home) as reader:
        nnz = int(reader.feature_counts().sum())
    assert nnz == report["store"]["nnz"] == 20_000 * 64 + 10_000 + 2_000
    assert report["bytes_per_nnz"] == pytest.approx(on_disk / nnz, rel=1e-12)


def test_build_figures_come_from_the_scales(suite):
    _, _, report = suite
    scales = report["transpose"]["scales"]
    assert [s["scale"] for s in scales] == [1, 2]
    assert scales[1]["n_samples"] == 2 * scales[0]["n_samples"]
    assert report["build_peak_rss_bytes"] == max(s["peak_rss_bytes"] for s in scales)
    assert report["build_nnz_per_s"] == scales[0]["nnz_per_s"]
    ratio = round(scales[1]["peak_rss_bytes"] / scales[0]["peak_rss_bytes"], 3)
    assert report["build_peak_rss_ratio_2x_vs_1x"] == ratio


def test_ratios_are_dense_over_ours_from_the_report(suite):
    _, _, report = suite
    reads = report["api"]["raw"]["reads"]
    ratios = []
    for f, r in reads.items():
        expect = r["dense_zarr"]["median_ms"] / r["ours"]["median_ms"]
        assert report["api"]["read_ratios"][f]["ratio"] == pytest.approx(expect)
        ratios.append(expect)
    assert report["feature_read_ratio_vs_dense_zarr"] == pytest.approx(np.median(ratios))
    scan = report["batch_scan"]
    assert (scan["batches_scanned"], scan["batches_total"], scan["extrapolated"]) == (5, 20, True)
    for f, v in scan["features"].items():
        full = v["measured"]["median_ms"] * 20 / 5
        assert v["full_scan_median_ms"] == pytest.approx(full, abs=1e-3)
        assert v["ratio_vs_ours"] == pytest.approx(full / reads[f]["ours"]["median_ms"], rel=1e-3)


def test_sample_major_bytes_count_the_written_rows(suite):
    home, _, report = suite
    major = report["bytes"]["sample_major"]
    with Reader.open(home) as reader:
        shards = reader.activation_shards()
        rows = [np.diff(s.indptr.read(0, s.n_rows + 1)) for s in shards]
    nnz = int(np.concatenate(rows)[: major["rows_written"]].sum())
    assert major["rows_written"] == 5_000 and major["nnz_written"] == nnz
    assert major["bytes_per_nnz"] == pytest.approx(major["bytes_written"] / nnz)
    dense = report["bytes"]["dense_transposed"]
    assert dense["estimated_total_bytes"] > 0 and dense["measured_bytes_per_nnz"] > 0


def _verdicts(md: str) -> dict[str, str]:
    out = {}
    for line in md.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[0] in TARGETS:
            out[cells[0]] = cells[3]
    return out


def test_markdown_shows_each_metric_and_an_honest_verdict(suite):
    _, out, report = suite
    md = (out / "bench.md").read_text()
    assert md == render_markdown(report)
    for key in REQUIRED:
        assert f"| {key} |" in md
    verdicts = _verdicts(md)
    assert set(verdicts) == set(TARGETS)
    for metric, ok in TARGETS.items():
        value = report[metric]
        assert verdicts[metric] == ("n/a" if value is None else "PASS" if ok(value) else "FAIL")
        assert report["targets"][metric]["result"] == verdicts[metric]


def test_markdown_verdict_follows_the_value(suite):
    report = json.loads(json.dumps(suite[2]))
    for value, verdict in ((9.99, "PASS"), (10.01, "FAIL"), (None, "n/a")):
        report["bytes_per_nnz"] = value
        assert _verdicts(render_markdown(report))["bytes_per_nnz"] == verdict


def test_a_reused_home_reads_its_saved_report_back(suite, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(suite[0], home)
    report, source = seed_store(home, True, True, None, _quiet)  # not made again
    assert report["nnz"] == suite[2]["store"]["nnz"] and "when the store was made" in source
    saved = home / "bench" / "seed_store.json"
    stale = {**json.loads(saved.read_text()), "nnz": 1}
    saved.write_text(json.dumps(stale))
    report, source = seed_store(home, False, False, None, _quiet)
    assert report is None and source == "not measured in this run"
    assert "not measured in this run" in analysis_section(report, source)["note"]


def test_cli_passes_its_options_and_prints_the_table(suite, monkeypatch, capsys, tmp_path):
    seen = {}

    def fake(home, **kwargs):
        seen.update(home=home, **kwargs)
        return suite[2]

    monkeypatch.setattr(suite_mod, "run_suite", fake)
    code = main(["bench", "suite", "--home", str(tmp_path), "--make-store", "--small",
                 "--out", str(tmp_path / "o"), "--encode-samples", "100",
                 "--load-seconds", "2"])  # fmt: skip
    assert code == 0
    assert seen["make_store"] and seen["small"] and seen["encode_samples"] == 100
    assert seen["load_seconds"] == 2.0 and seen["out_dir"] == str(tmp_path / "o")
    assert "| bytes_per_nnz |" in capsys.readouterr().out


def test_bad_counts_are_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="scales must be integers >= 1"):
        run_suite(tmp_path / "home", make_store=True, scales=(1, 0))
    assert not (tmp_path / "home").exists()  # refused before the store was started
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        check_args((1, 2), 256, 0)
    with pytest.raises(SystemExit):  # the CLI refuses it at parse time
        main(["bench", "transpose", "--repeats", "0"])
