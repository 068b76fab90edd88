"""Reading, validating and writing SplatNLP's reference data files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from splat_core.builds.reference import (
    ReferenceDataError,
    read_reference_dataset,
    write_reference_dataset,
)
from splat_core.builds.table import BuildTable
from splat_core.domain.legality import Build, IllegalBuildError, full_build_ap, is_full_build
from splat_core.domain.tokenizer import TokenSetError
from splat_core.domain.vocab import (
    MAIN_ONLY,
    MAIN_ONLY_SLOT,
    NULL,
    PAD,
    PIECES,
    RUNGS,
    STANDARD,
    Vocab,
    WeaponVocab,
    canonical_tokens,
)
from tests.helpers import FIXTURE

FIXTURES = FIXTURE

# comeback + ninja_squid + stealth_jump mains, 9 subs of swim_speed_up (27 AP).
FULL = ["comeback", "ninja_squid", "stealth_jump"] + [f"swim_speed_up_{r}" for r in RUNGS[:5]]
# 3 mains + 9 subs of swim_speed_up (57 AP).
ALL_SWIM = [f"swim_speed_up_{r}" for r in RUNGS]
# 3 run_speed_up mains (30 AP) + 9 ink_saver_main subs (27 AP).
RUN_INK = [f"run_speed_up_{r}" for r in RUNGS[:6]] + [f"ink_saver_main_{r}" for r in RUNGS[:5]]
WEAPONS = WeaponVocab.from_weapon_ids([0, 10, 8000])


def write_files(
    tmp_path: Path,
    rows: list[str],
    vocab: Vocab | None = None,
    weapons: WeaponVocab = WEAPONS,
    header: str = "ability_tags\tweapon_id",
) -> tuple[Path, Path, Path]:
    """Hand-written data rows (already formatted lines) plus the two vocab files."""
    data, v, w = tmp_path / "tokenized_data.csv", tmp_path / "vocab.json", tmp_path / "wv.json"
    data.write_text("".join(f"{line}\n" for line in [header, *rows]), encoding="utf-8")
    (vocab or Vocab.canonical()).to_json(v)
    weapons.to_json(w)
    return data, v, w


def row(tokens: list[str], weapon: int = 0, vocab: Vocab | None = None) -> str:
    ids = (vocab or Vocab.canonical()).encode(tokens)
    return f"{json.dumps(ids)}\t{weapon}"


def read(paths, **kw):
    return read_reference_dataset(*paths, **kw)


def only_issue(paths):
    with pytest.raises(ReferenceDataError) as exc:
        read(paths)
    assert len(exc.value.issues) == 1, exc.value.issues
    return exc.value.issues[0]


def decoded(table: BuildTable) -> list[list[str]]:
    return [table.vocab.decode(t) for t in table.token_lists()]


# --- happy paths -------------------------------------------------------------------------------


def test_round_trip(tmp_path):
    vocab = Vocab.canonical()
    table = BuildTable.from_lists(
        [vocab.encode(t) for t in (FULL, ALL_SWIM, RUN_INK)], [2, 0, 1], vocab, WEAPONS
    )
    paths = write_reference_dataset(tmp_path / "out", table)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "tokenized_data.csv",
        "vocab.json",
        "weapon_vocab.json",
    ]
    lines = paths["data"].read_text().splitlines()
    assert lines[0] == "ability_tags\tweapon_id"
    assert lines[1] == f"[{','.join(map(str, vocab.encode(FULL)))}]\t2"

    back, report = read_reference_dataset(paths["data"], paths["vocab"], paths["weapon_vocab"])
    assert back.token_lists() == table.token_lists()
    assert back.weapon.tolist() == [2, 0, 1]
    assert back.vocab.token_to_id == vocab.token_to_id
    assert back.weapon_vocab.key_to_index == WEAPONS.key_to_index
    assert (report.n_rows_read, report.n_valid, report.n_skipped) == (3, 3, 0)
    assert report.issues == [] and report.by_kind == {}


def test_write_replaces_atomically(tmp_path, monkeypatch):
    vocab = Vocab.canonical()
    table = BuildTable.from_lists([vocab.encode(FULL)], [0], vocab, WEAPONS)
    out = tmp_path / "out"
    paths = write_reference_dataset(out, table)
    before = paths["vocab"].read_text()

    def crash(path):
        Path(path).write_text('{"half": ')
        raise RuntimeError("disk full")

    monkeypatch.setattr(Vocab, "to_json", lambda self, path: crash(path))
    with pytest.raises(RuntimeError):
        write_reference_dataset(out, table)
    assert paths["vocab"].read_text() == before  # old file intact, no temp file left behind
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths.values())


def test_shuffled_vocab_reads_to_same_tokens(tmp_path):
    tokens = canonical_tokens()
    random.Random(1).shuffle(tokens)
    shuffled = Vocab({t: i for i, t in enumerate(tokens)})
    assert shuffled.encode(FULL) != Vocab.canonical().encode(FULL)
    paths = write_files(tmp_path, [row(FULL, 1, shuffled), row(ALL_SWIM, 2, shuffled)], shuffled)
    table, _ = read(paths)
    assert decoded(table) == [FULL, ALL_SWIM]
    assert table.vocab.pad_id == shuffled.pad_id


def test_reference_fixture_vocabs_load(tmp_path):
    vocab = Vocab.from_json(FIXTURES / "vocab.json")
    data = tmp_path / "tokenized_data.csv"
    data.write_text(f"ability_tags\tweapon_id\n{row(FULL, 25, vocab)}\n")
    table, report = read_reference_dataset(
        data, FIXTURES / "vocab.json", FIXTURES / "weapon_vocab.json"
    )
    assert len(table.vocab) == 140 and table.vocab.pad_id == 139
    assert len(table.weapon_vocab) == 26 and table.weapon_vocab.weapon_ids[-1] == 8010
    assert decoded(table) == [FULL] and report.n_valid == 1


def test_tolerates_quoting_crlf_blank_lines_and_extra_columns(tmp_path):
    ids = Vocab.canonical().encode(FULL)
    data, v, w = write_files(tmp_path, [])
    data.write_bytes(
        (
            f"period\tability_tags\tweapon_id\tgame-ver\r\n"
            f'7\t"{json.dumps(ids)}"\t1\t"6.0.0"\r\n'
            f"8\t{json.dumps(ids)}\t2\t6.0.1\r\n"
            "\r\n"
        ).encode()
    )
    table, report = read((data, v, w))
    assert decoded(table) == [FULL, FULL] and table.weapon.tolist() == [1, 2]
    assert report.n_rows_read == 2


@pytest.mark.parametrize("skip", [False, True])
def test_a_file_without_rows_is_refused(tmp_path, skip):
    with pytest.raises(ReferenceDataError) as exc:
        read(write_files(tmp_path, []), skip_invalid=skip)
    [issue] = exc.value.issues
    assert (issue.line, issue.kind) == (2, "no_rows") and "no data rows" in issue.reason


def test_skipping_every_row_is_refused(tmp_path):
    with pytest.raises(ReferenceDataError) as exc:
        read(write_files(tmp_path, [row(FULL, weapon=99)]), skip_invalid=True)
    assert [i.kind for i in exc.value.issues] == ["weapon_out_of_range"]


def test_an_absurd_integer_is_a_row_error(tmp_path):
    huge = "9" * 5000
    with pytest.raises(ReferenceDataError) as exc:
        read(write_files(tmp_path, [row(FULL), row(FULL).split("\t")[0] + "\t" + huge]))
    [issue] = exc.value.issues
    assert (issue.line, issue.kind) == (3, "weapon_out_of_range")


# --- row-level issues: the line is 1-based with the header on line 1 -----------------------------

V = Vocab.canonical()
BAD_ROWS = [
    # (row, kind, words the reason must contain)
    ("[12, 13\t0", "not_a_list", "not valid JSON"),
    ('{"a": 1}\t0', "not_a_list", "not a JSON list"),
    ("17\t0", "not_a_list", "not a JSON list"),
    ("[0, true]\t0", "not_a_list", "non-integer"),
    ("[0, 1.0]\t0", "not_a_list", "non-integer"),
    ('["comeback"]\t0', "not_a_list", "non-integer"),
    ("[0, 999]\t0", "unknown_token", "unknown token id 999"),
    ("[0, -1]\t0", "unknown_token", "unknown token id -1"),
    (row([*FULL, PAD]), "special_token", "<PAD>"),
    (row([NULL]), "special_token", "<NULL>"),
    (row([*FULL, "swim_speed_up_3"]), "duplicate_token", "swim_speed_up_3 appears twice"),
    (row([t for t in FULL if t != "swim_speed_up_6"]), "non_cumulative", "swim_speed_up_6"),
    (row([*FULL, "tenacity"]), "main_only_clash", "comeback and tenacity"),
    (row(FULL, 3), "weapon_out_of_range", "weapon_id 3 out of range 0..2"),
    (row(FULL, -1), "weapon_out_of_range", "weapon_id -1"),
    (row(FULL)[:-1] + "x", "weapon_not_int", "not an integer: 'x'"),
    (row(FULL)[:-1] + "1.5", "weapon_not_int", "not an integer"),
    (row(FULL)[:-1], "weapon_not_int", "not an integer: ''"),
    (row(["swim_speed_up_3"]), "illegal_build", "no legal 57-AP build"),
    ("[]\t0", "illegal_build", "no legal 57-AP build"),
    (row(FULL[1:]), "illegal_build", "no legal 57-AP build"),
    (row(FULL) + "\textra", "malformed_row", "3 fields, header has 2"),
]


@pytest.mark.parametrize(("bad", "kind", "words"), BAD_ROWS, ids=[k for _, k, _ in BAD_ROWS])
def test_bad_row_names_line_and_problem(tmp_path, bad, kind, words):
    paths = write_files(tmp_path, [row(FULL), bad, row(ALL_SWIM)])
    issue = only_issue(paths)
    assert (issue.file, issue.line, issue.kind) == (str(paths[0]), 3, kind)
    assert words in issue.reason
    assert str(issue) == f"{paths[0]}:3: {issue.reason}"


def test_stray_quote_is_reported_on_its_first_line(tmp_path):
    paths = write_files(tmp_path, [row(FULL), '"[0, 1]\t0', '[0]"\t0', row(ALL_SWIM)])
    issue = only_issue(paths)
    assert (issue.line, issue.kind) == (3, "malformed_row")


def test_huge_field_is_a_row_issue_not_a_csv_crash(tmp_path):
    paths = write_files(tmp_path, [json.dumps([0] * 100_000) + "\t0"])
    assert only_issue(paths).kind == "duplicate_token"


def test_bad_utf8_and_deep_nesting_are_row_issues(tmp_path):
    data, v, w = write_files(tmp_path, [])
    rows = [row(FULL), "[0, 1\xff]\t0", "[" * 100_000 + "\t0", row(ALL_SWIM)]
    data.write_bytes("\n".join(["ability_tags\tweapon_id", *rows]).encode("latin-1"))
    _, report = read((data, v, w), skip_invalid=True)
    assert [(i.line, i.kind) for i in report.issues] == [(3, "not_a_list"), (4, "not_a_list")]
    assert report.n_valid == 2


def test_strict_error_lists_first_twenty_and_counts_the_rest(tmp_path):
    paths = write_files(tmp_path, [row(FULL, 9)] * 25)
    with pytest.raises(ReferenceDataError) as exc:
        read(paths)
    assert len(exc.value.issues) == 25
    assert isinstance(exc.value, ValueError)
    message = str(exc.value)
    assert f"{paths[0]}:2: weapon_id 9" in message and f"{paths[0]}:21:" in message
    assert f"{paths[0]}:22:" not in message and "5 more" in message


def test_skip_invalid_keeps_exactly_the_valid_rows(tmp_path):
    rows = [
        row(FULL, 0),
        row(FULL, 7),  # weapon_out_of_range
        row(ALL_SWIM, 1),
        "[0, 999]\t0",  # unknown_token
        "[0, 999]\t1",  # unknown_token
        "not json\t0",  # not_a_list
        row(RUN_INK, 2),
        row(["swim_speed_up_3"]),  # illegal_build
    ]
    table, report = read(write_files(tmp_path, rows), skip_invalid=True)
    assert decoded(table) == [FULL, ALL_SWIM, RUN_INK]
    assert table.weapon.tolist() == [0, 1, 2]
    assert (report.n_rows_read, report.n_valid, report.n_skipped) == (8, 3, 5)
    assert report.by_kind == {
        "weapon_out_of_range": 1,
        "unknown_token": 2,
        "not_a_list": 1,
        "illegal_build": 1,
    }
    assert [i.line for i in report.issues] == [3, 5, 6, 7, 9]


# --- file-level issues: always raise ------------------------------------------------------------


@pytest.mark.parametrize("skip", [False, True])
def test_missing_column_raises_even_with_skip_invalid(tmp_path, skip):
    paths = write_files(tmp_path, [row(FULL)], header="tags\tweapon_id")
    with pytest.raises(ReferenceDataError) as exc:
        read(paths, skip_invalid=skip)
    [issue] = exc.value.issues
    assert (issue.line, issue.kind) == (1, "missing_column")
    assert "'ability_tags'" in issue.reason


def test_empty_file(tmp_path):
    data, v, w = write_files(tmp_path, [])
    data.write_text("")
    with pytest.raises(ReferenceDataError) as exc:
        read((data, v, w), skip_invalid=True)
    [issue] = exc.value.issues
    assert (issue.line, issue.kind) == (1, "empty_file") and "header" in issue.reason


def test_missing_data_file(tmp_path):
    data, v, w = write_files(tmp_path, [])
    with pytest.raises(ReferenceDataError, match="cannot read data file"):
        read((tmp_path / "nope.csv", v, w), skip_invalid=True)


BAD_VOCABS = [
    ('{"<PAD>": 0,\n  "comeback": }', 2, "invalid JSON"),
    ('["<PAD>"]', 1, "not a JSON object"),
    ('{"<PAD>": 0, "comeback": 2}', 1, "contiguous"),
    ('{"<PAD>": 0, "swim_speed_up_41": 1}', 1, "not ability tokens"),
    ('{"comeback": 0}', 1, "no <PAD>"),
    ('{"<PAD>": false, "comeback": true}', 1, "integers"),
    ('{"<PAD>": 0, "comeback": 1, "comeback": 2}', 1, "duplicate keys"),
]


@pytest.mark.parametrize(("text", "line", "words"), BAD_VOCABS)
def test_bad_vocab_names_the_file(tmp_path, text, line, words):
    data, v, w = write_files(tmp_path, [row(FULL)])
    v.write_text(text)
    with pytest.raises(ReferenceDataError) as exc:
        read((data, v, w), skip_invalid=True)
    [issue] = exc.value.issues
    assert (issue.file, issue.line, issue.kind) == (str(v), line, "bad_vocab")
    assert words in issue.reason and str(v) in str(exc.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{", "invalid JSON"),
        ("[1]", "not a JSON object"),
        ('{"weapon_id_0": 1}', "contiguous"),
        ('{"splattershot": 0}', "weapon_id_<int>"),
    ],
)
def test_bad_weapon_vocab_names_the_file(tmp_path, text, words):
    data, v, w = write_files(tmp_path, [row(FULL)])
    w.write_text(text)
    with pytest.raises(ReferenceDataError) as exc:
        read((data, v, w), skip_invalid=True)
    [issue] = exc.value.issues
    assert (issue.file, issue.kind) == (str(w), "bad_weapon_vocab") and words in issue.reason


# --- the fast legality test agrees with the domain rules ----------------------------------------


def _random_token_sets(n: int, seed: int = 0):
    """Random legal builds and near misses: a family's top rung moved, a token dropped, a
    main-only added."""
    rng = random.Random(seed)
    for _ in range(n):
        mains = tuple(
            rng.choice(STANDARD + tuple(a for a in MAIN_ONLY if MAIN_ONLY_SLOT[a] == piece))
            for piece in PIECES
        )
        subs = tuple(rng.choice(STANDARD[: rng.randint(1, 14)]) for _ in range(9))
        tokens = Build(mains, subs).tokens()
        yield tokens
        family = rng.choice(STANDARD)
        top = rng.choice((0, *RUNGS))
        moved = [t for t in tokens if not t.startswith(family + "_")]
        yield moved + [f"{family}_{r}" for r in RUNGS if r <= top]
        yield [t for t in tokens if t != rng.choice(tokens)]
        yield [*tokens, rng.choice(MAIN_ONLY)]


def test_fast_legality_matches_full_build_ap():
    n_legal = n_seen = 0
    for tokens in _random_token_sets(1500):
        try:
            full_build_ap(tokens)
            legal = True
        except (TokenSetError, IllegalBuildError):
            legal = False
        assert is_full_build(tokens) == legal, tokens
        n_legal, n_seen = n_legal + legal, n_seen + 1
    assert 0.2 < n_legal / n_seen < 0.8  # both outcomes well exercised


def test_bulk_read_keeps_the_rows_the_domain_rules_accept(tmp_path):
    vocab = Vocab.canonical()
    token_sets = list(_random_token_sets(1000, seed=1))
    table = BuildTable.from_lists(
        [vocab.encode(t) for t in token_sets], np.zeros(len(token_sets), int), vocab, WEAPONS
    )
    back, report = read_reference_dataset(
        *write_reference_dataset(tmp_path, table).values(), skip_invalid=True
    )
    expected = []
    for tokens in token_sets:
        try:
            full_build_ap(tokens)
            expected.append(tokens)
        except (TokenSetError, IllegalBuildError):
            pass
    assert decoded(back) == expected
    assert report.n_rows_read == 4000 and sum(report.by_kind.values()) == report.n_skipped
