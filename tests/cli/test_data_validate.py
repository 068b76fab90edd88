"""`splat data validate`."""

from __future__ import annotations

import json

import pytest

from splat_cli.main import main
from splat_core.domain.vocab import RUNGS, Vocab, WeaponVocab

# comeback + ninja_squid + stealth_jump mains, 9 subs of swim_speed_up: a legal full build.
FULL = ["comeback", "ninja_squid", "stealth_jump"] + [f"swim_speed_up_{r}" for r in RUNGS[:5]]


def row(tokens: list[str], weapon: int = 0) -> str:
    return f"{json.dumps(Vocab.canonical().encode(tokens))}\t{weapon}"


@pytest.fixture
def files(tmp_path):
    """Write rows into tokenized_data.csv; returns the paths and the CLI arguments."""

    def make(rows: list[str], header: str = "ability_tags\tweapon_id"):
        data, vocab, weapons = (
            tmp_path / "tokenized_data.csv",
            tmp_path / "vocab.json",
            tmp_path / "weapon_vocab.json",
        )
        data.write_text("".join(f"{line}\n" for line in [header, *rows]))
        Vocab.canonical().to_json(vocab)
        WeaponVocab.from_weapon_ids([0, 10]).to_json(weapons)
        argv = ["data", "validate", "--data", str(data), "--vocab", str(vocab)]
        return data, vocab, [*argv, "--weapon-vocab", str(weapons)]

    return make


def test_valid_file_exits_0(files, capsys):
    _, _, argv = files([row(FULL), row(FULL, 1)])
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "OK, 2 valid rows" in out and err == ""


def test_issues_are_printed_as_file_line_reason(files, capsys):
    data, _, argv = files([row(FULL), row(FULL, 5), "[0, 999]\t0"])
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"{data}:3: weapon_id 5 out of range 0..1",
        f"{data}:4: unknown token id 999 (vocab has ids 0..139)",
    ]
    assert "2 invalid row(s) of 3" in out


def test_skip_invalid_says_what_would_be_kept(files, capsys):
    data, _, argv = files([row(FULL), row(FULL, 5), "[0, 999]\t0", "[0, 998]\t1"])
    assert main([*argv, "--skip-invalid"]) == 1
    out, err = capsys.readouterr()
    assert len(err.splitlines()) == 3
    assert "would keep 1 of 4 rows; skipped 3 (unknown_token 2, weapon_out_of_range 1)" in out


def test_json_report(files, capsys):
    data, _, argv = files([row(FULL), "[0, 999]\t0"])
    assert main([*argv, "--json"]) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["valid"] is False
    assert (report["n_rows_read"], report["n_valid"], report["n_skipped"]) == (2, 1, 1)
    assert report["by_kind"] == {"unknown_token": 1}
    assert report["issues"][0]["line"] == 3 and report["issues"][0]["kind"] == "unknown_token"
    assert f"{data}:3: unknown token id 999" in err


def test_missing_column_is_reported_on_line_1(files, capsys):
    data, _, argv = files([row(FULL)], header="tags\tweapon_id")
    assert main([*argv, "--skip-invalid"]) == 1
    out, err = capsys.readouterr()
    assert err.startswith(f"{data}:1: missing column 'ability_tags'")
    assert "not readable as reference data" in out


def test_bad_vocab_names_the_vocab_file(files, capsys):
    _, vocab, argv = files([row(FULL)])
    vocab.write_text('{"comeback": 0}')
    assert main([*argv, "--json"]) == 1
    out, err = capsys.readouterr()
    assert f"{vocab}:1: vocab has no <PAD> token" in err
    assert json.loads(out)["issues"][0]["kind"] == "bad_vocab"


def test_required_arguments(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data", "validate", "--data", "x.csv"])
    assert exc.value.code == 2


def test_a_header_only_file_is_refused(files, capsys):
    data, _, argv = files([])
    assert main(argv) != 0
    _, err = capsys.readouterr()
    assert f"{data}:2: no data rows after the header" in err


def test_an_absurd_weapon_id_is_a_file_line_error(files, capsys):
    data, _, argv = files([row(FULL), row(FULL, 0).split("\t")[0] + "\t" + "9" * 5000])
    assert main(argv) == 1
    _, err = capsys.readouterr()
    assert err.startswith(f"{data}:3: weapon_id 99999999999999999999... out of range 0..1")
    assert "Traceback" not in err
