"""Read and write SplatNLP's reference dataset: tokenized_data.csv + vocab.json + weapon_vocab.json.

`tokenized_data.csv` is TAB-separated despite its name; columns `ability_tags` (a JSON list of
ability-vocab ids) and `weapon_id` (a dense index into weapon_vocab.json). Every id is read
through the file's own vocab.json: nothing here assumes a fixed id order.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

from splat_core.atomic import atomic_file
from splat_core.builds.table import BuildTable
from splat_core.domain.legality import IllegalBuildError, full_build_ap, is_full_build
from splat_core.domain.tokenizer import TokenSetError
from splat_core.domain.vocab import (
    Vocab,
    WeaponVocab,
    read_json_object,
)

DATA_FILE, VOCAB_FILE, WEAPON_VOCAB_FILE = "tokenized_data.csv", "vocab.json", "weapon_vocab.json"
REQUIRED_COLUMNS = ("ability_tags", "weapon_id")
# Problems with a whole file: they always raise, even with skip_invalid.
FILE_KINDS = frozenset(
    ["unreadable", "empty_file", "bad_header", "missing_column", "duplicate_column", "no_rows"]
    + ["bad_vocab", "bad_weapon_vocab"]
)
MAX_INT_DIGITS = 18  # longer ids are out of every range (and int() refuses 4,300+ digits)
MAX_LISTED = 20
_INT = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class ValidationIssue:
    """One problem, at a 1-based line of a file (the data file's header is line 1)."""

    file: str
    line: int
    reason: str
    kind: str  # short machine-readable category, e.g. "unknown_token"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class ReferenceDataError(ValueError):
    """Invalid reference data; `.issues` holds every problem found."""

    def __init__(self, issues: list[ValidationIssue]):
        self.issues = list(issues)
        shown = "\n".join(f"  {i}" for i in self.issues[:MAX_LISTED])
        rest = len(self.issues) - MAX_LISTED
        more = f"\n  ... and {rest} more issue(s)" if rest > 0 else ""
        super().__init__(f"{len(self.issues)} issue(s) in reference data:\n{shown}{more}")


@dataclass
class ImportReport:
    n_rows_read: int = 0
    n_valid: int = 0
    n_skipped: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    issues: list[ValidationIssue] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class _RowError(Exception):
    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind, self.reason = kind, reason


# --- vocabularies ------------------------------------------------------------------------------


def _load_vocab(path: Path, cls: type[Vocab] | type[WeaponVocab], kind: str):
    """(vocab, None) or (None, issue naming the file); json silently keeps the last duplicate."""
    try:
        raw = read_json_object(path)
    except json.JSONDecodeError as e:
        return None, ValidationIssue(str(path), e.lineno, f"invalid JSON: {e.msg}", kind)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return None, ValidationIssue(str(path), 1, f"cannot read vocabulary: {e}", kind)
    # bool is an int subclass; an id of `true` is still wrong.
    bad = [k for k, v in raw.items() if type(v) is not int]
    if bad:
        return None, ValidationIssue(str(path), 1, f"ids must be integers: {bad[:5]}", kind)
    try:
        return cls(raw), None
    except ValueError as e:
        return None, ValidationIssue(str(path), 1, str(e), kind)


# --- rows --------------------------------------------------------------------------------------


def _parse_tags(text: str) -> tuple[int, ...]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise _RowError("not_a_list", f"ability_tags is not valid JSON: {text[:60]!r}") from None
    if not isinstance(value, list):
        raise _RowError("not_a_list", f"ability_tags is not a JSON list: {text[:60]!r}")
    bad = [v for v in value if type(v) is not int]  # excludes bools and floats
    if bad:
        raise _RowError("not_a_list", f"ability_tags holds non-integer entries: {bad[:3]!r}")
    return tuple(value)


def _make_build_checker(vocab: Vocab) -> Callable[[tuple[int, ...]], _RowError | None]:
    """Legality of a token-id tuple, cached: real data repeats the same builds a lot."""

    @cache
    def check(ids: tuple[int, ...]) -> _RowError | None:
        unknown = [i for i in ids if i not in vocab.id_to_token]
        if unknown:
            reason = f"unknown token id {unknown[0]} (vocab has ids 0..{len(vocab) - 1})"
            return _RowError("unknown_token", reason)
        tokens = tuple(vocab.id_to_token[i] for i in ids)
        if is_full_build(tokens):
            return None
        try:  # only to learn why
            full_build_ap(tokens)
        except TokenSetError as e:
            return _RowError(e.kind, str(e))
        except IllegalBuildError as e:
            return _RowError("illegal_build", str(e))
        raise AssertionError(f"is_full_build and full_build_ap disagree on {tokens}")

    return check


def _parse_weapon(text: str, n_weapons: int) -> int:
    text = text.strip()
    if not _INT.fullmatch(text):
        raise _RowError("weapon_not_int", f"weapon_id is not an integer: {text[:30]!r}")
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _RowError(
            "weapon_out_of_range", f"weapon_id {text[:20]}... out of range 0..{n_weapons - 1}"
        )
    w = int(text)
    if not 0 <= w < n_weapons:
        raise _RowError("weapon_out_of_range", f"weapon_id {w} out of range 0..{n_weapons - 1}")
    return w


# --- the data file -----------------------------------------------------------------------------


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    # The default limit (128 KiB) makes csv raise on a runaway quote; we report it per row instead.
    old = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _records(fh) -> Iterator[tuple[int, list[str] | None]]:
    """(first line, fields) per record; fields is None when a quoted field spans lines."""
    reader = csv.reader(fh, delimiter="\t")
    last = 0
    for row in reader:
        start, last = last + 1, reader.line_num
        if row:  # csv yields [] for a blank line; pandas skips those too
            yield start, (row if last == start else None)


def read_reference_dataset(
    data_path: str | Path,
    vocab_path: str | Path,
    weapon_vocab_path: str | Path,
    *,
    skip_invalid: bool = False,
) -> tuple[BuildTable, ImportReport]:
    """Read and validate a reference tokenized_data.csv with its two vocabularies.

    Raises ReferenceDataError on any issue, or only on file-level issues if skip_invalid
    (then invalid rows are dropped and counted in the report).
    """
    data = str(data_path)
    vocab, v_issue = _load_vocab(Path(vocab_path), Vocab, "bad_vocab")
    weapons, w_issue = _load_vocab(Path(weapon_vocab_path), WeaponVocab, "bad_weapon_vocab")
    if v_issue or w_issue:
        raise ReferenceDataError([i for i in (v_issue, w_issue) if i])

    check_build = _make_build_checker(vocab)
    report = ImportReport()
    token_lists: list[tuple[int, ...]] = []
    weapon_idx: list[int] = []

    def fail(line: int, kind: str, reason: str) -> None:
        report.issues.append(ValidationIssue(data, line, reason, kind))
        if kind in FILE_KINDS:
            raise ReferenceDataError(report.issues)

    # errors="replace": a bad byte then fails its own row's checks, at the right line.
    try:
        with (
            _csv_field_limit(2**31 - 1),
            open(data, encoding="utf-8-sig", errors="replace", newline="") as fh,
        ):
            records = _records(fh)
            _, header = next(records, (1, []))
            if header == []:
                fail(1, "empty_file", "empty file: expected a header 'ability_tags<TAB>weapon_id'")
            if header is None:
                fail(1, "bad_header", "header has a quoted field that spans lines")
            header = [h.strip() for h in header]
            for col in REQUIRED_COLUMNS:
                if col not in header:
                    fail(1, "missing_column", f"missing column {col!r} (header: {header})")
                if header.count(col) > 1:
                    fail(1, "duplicate_column", f"column {col!r} appears twice")
            tags_col, weapon_col = (header.index(c) for c in REQUIRED_COLUMNS)
            for line, row in records:
                report.n_rows_read += 1
                try:
                    if row is None:
                        raise _RowError("malformed_row", "quoted field spans lines (stray quote?)")
                    if len(row) != len(header):
                        raise _RowError(
                            "malformed_row", f"{len(row)} fields, header has {len(header)}"
                        )
                    ids = _parse_tags(row[tags_col])
                    problem = check_build(ids)
                    if problem:
                        raise problem
                    w = _parse_weapon(row[weapon_col], len(weapons))
                except _RowError as e:
                    fail(line, e.kind, e.reason)
                    continue
                token_lists.append(ids)
                weapon_idx.append(w)
            if report.n_rows_read == 0:
                fail(2, "no_rows", "no data rows after the header: nothing to import")
    except (OSError, csv.Error) as e:
        fail(1, "unreadable", f"cannot read data file: {e}")

    report.n_valid = len(token_lists)
    report.n_skipped = report.n_rows_read - report.n_valid
    report.by_kind = dict(Counter(i.kind for i in report.issues))
    if report.issues and (not skip_invalid or report.n_valid == 0):
        raise ReferenceDataError(report.issues)  # skipping every row would leave nothing
    table = BuildTable.from_lists([list(t) for t in token_lists], weapon_idx, vocab, weapons)
    return table, report


# --- writing -----------------------------------------------------------------------------------


def _write_rows(table: BuildTable) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write("ability_tags\tweapon_id\n")
            for tokens, w in zip(table.token_lists(), table.weapon.tolist(), strict=True):
                fh.write(f"[{','.join(map(str, tokens))}]\t{w}\n")

    return write


def write_reference_dataset(out_dir: str | Path, table: BuildTable) -> dict[str, Path]:
    """Write tokenized_data.csv, vocab.json and weapon_vocab.json; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "data": out / DATA_FILE,
        "vocab": out / VOCAB_FILE,
        "weapon_vocab": out / WEAPON_VOCAB_FILE,
    }
    for key, write in (
        ("data", _write_rows(table)),
        ("vocab", table.vocab.to_json),
        ("weapon_vocab", table.weapon_vocab.to_json),
    ):
        with atomic_file(paths[key]) as tmp:
            write(tmp)
    return paths
