"""`splat export report`: writes the page the core renders (whose numbers
tests/core/investigate/test_report.py checks), prints its path and size, and refuses unknown
feature ids and malformed lists with exit 2, writing nothing."""

from __future__ import annotations

import argparse
import json

import pytest

from splat_cli import export_report
from tests.core.investigate.test_report import check_page


def parser() -> argparse.ArgumentParser:
    """`splat export report` as splat_cli/export.py registers it (independent of main.py)."""
    p = argparse.ArgumentParser(prog="splat")
    sub = p.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export").add_subparsers(dest="export_command", required=True)
    export_report.register(export)
    return p


def splat(capsys, *argv) -> tuple[int, str, str]:
    args = parser().parse_args([str(a) for a in argv])
    code = args.run(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_writes_one_self_contained_page(capsys, tiny_home, tiny_reader, tmp_path):
    target = tmp_path / "out" / "report.html"
    code, out, err = splat(capsys, "export", "report", "--features", "3, 7,3", "--home",
                           tiny_home, "-o", target, "--title", "Swim <features>")  # fmt: skip
    assert code == 0, err
    size = target.stat().st_size
    assert out.strip() == (f"wrote {target} ({size:,} bytes; 2 features, data version "
                           f"{tiny_reader.data_version})")  # fmt: skip
    html = target.read_text()
    check_page(html)
    assert "<h1>Swim &lt;features&gt;</h1>" in html
    assert 'id="feature-3"' in html and 'id="feature-7"' in html
    assert not [p.name for p in target.parent.iterdir() if p.name != "report.html"]  # no temp
    code, out, _ = splat(capsys, "export", "report", "--features", 5, "--home", tiny_home,
                         "-o", target, "--examples", 0, "--json")  # fmt: skip
    got = json.loads(out)
    assert code == 0 and got["features"] == [5] and got["bytes"] == target.stat().st_size
    assert got["generation"] == tiny_reader.generation
    assert "splat feature report: feature 5" in target.read_text()


def test_unknown_features_exit_2_and_write_nothing(capsys, tiny_home, tmp_path):
    target = tmp_path / "report.html"
    code, out, err = splat(capsys, "export", "report", "--features", "1,99999", "--home",
                           tiny_home, "-o", target)  # fmt: skip
    assert code == 2 and not out and not target.exists()
    assert "unknown feature id 99999" in err
    for bad in ("a,b", ",", "1.5"):
        with pytest.raises(SystemExit) as e:
            parser().parse_args(["export", "report", "--features", bad])
        assert e.value.code == 2
    with pytest.raises(SystemExit):
        parser().parse_args(["export", "report"])  # --features is required
    assert "--features" in capsys.readouterr().err
