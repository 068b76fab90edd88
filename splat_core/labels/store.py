"""`LabelStore`: feature labels in one SQLite file, `<home>/labels/labels.sqlite`.

Feature ids are an SAE's: each SAE variant other than the default (store/variants.py) has a
store of its own beside it, `<home>/labels/labels@<variant>.sqlite`.

For a remote home (an fsspec URL, see splat_core.store.homes) the file stays on this machine, under
the home's local directory (`homes.local_dir`): SQLite needs a local file system.

Every operation opens its own connection (WAL journal, 30 s busy timeout), so one store is
safe to share between the threads of a web server, and several processes may write the file
at once. Writes run inside `BEGIN IMMEDIATE`: the read of the current version and the write
that follows are one serialized step, so `expected_version` is a true compare-and-set. Every
write (and deletion) is also appended to `label_history`; nothing is ever lost.

Versions count writes per feature: 1 on creation, +1 on each update. A deletion is a write
too (recorded in the history as version n+1), and a label created again after a deletion
continues from there, so a stale `expected_version` can never match a newer label.

A label's `rule_score` is derived data (its rule's scores on one generation), so
`save_rule_score` replaces it without a write: no new version, no history entry, the same
`updated_at`; rescoring after a new generation never conflicts with an editor's
`expected_version`. The score written with a label (`set`) is in its history.

Schema versions (`PRAGMA user_version`): 1, the labels; 2 adds `rule` and `rule_score` (JSON
text) to `labels` and `label_history`. A version 1 file is migrated when first opened.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from splat_core.labels.consolidated import ConsolidatedMixin
from splat_core.labels.model import (
    CATEGORIES,
    LABEL_FIELDS,
    Label,
    LabelConflict,
    LabelError,
    check_expected,
    check_feature_id,
    check_rule_score,
    from_json,
    to_json,
    utc_now,
    validate,
)
from splat_core.labels.queue import QueueMixin
from splat_core.store import homes
from splat_core.store.contract import DEFAULT_SAE, SAE_SEP, check_sae_name

SCHEMA_VERSION = 2
BUSY_TIMEOUT_S = 30.0
ADDED_IN_2 = {"rule": "TEXT", "rule_score": "TEXT"}  # on labels and label_history
_COLUMNS = """
    name TEXT NOT NULL, category TEXT NOT NULL, notes TEXT NOT NULL, confidence REAL,
    source TEXT NOT NULL, importance_percentile REAL, stability_score REAL,
    research_label TEXT, research_state_path TEXT, hypothesis_confidence REAL,
    rule TEXT, rule_score TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, version INTEGER NOT NULL"""
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS labels (feature_id INTEGER PRIMARY KEY, {_COLUMNS});
CREATE TABLE IF NOT EXISTS label_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, feature_id INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('set', 'delete')), {_COLUMNS},
    written_at TEXT NOT NULL, UNIQUE (feature_id, version));
CREATE TABLE IF NOT EXISTS label_queue (
    feature_id INTEGER PRIMARY KEY, priority REAL NOT NULL, reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'skipped')),
    skip_reason TEXT NOT NULL DEFAULT '', added_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS label_queue_next ON label_queue (status, priority DESC, feature_id);
"""


class LabelStore(QueueMixin, ConsolidatedMixin):
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._ready = False  # the file's schema checked (and made) by this object

    @staticmethod
    def location(home: str | Path, sae: str | None = DEFAULT_SAE) -> Path:
        """Where a home's label store of SAE variant `sae` lives (in the local cache, for a
        remote home)."""
        sae = sae or DEFAULT_SAE
        name = "labels" if sae == DEFAULT_SAE else f"labels{SAE_SEP}{check_sae_name(sae)}"
        return homes.local_dir(home) / "labels" / f"{name}.sqlite"

    @classmethod
    def exists(cls, home: str | Path, sae: str | None = DEFAULT_SAE) -> bool:
        return cls.location(home, sae).exists()

    @classmethod
    def open(cls, home: str | Path, sae: str | None = DEFAULT_SAE) -> LabelStore:
        """The store of a SPLAT_HOME (of its SAE variant `sae`). Its file (and tables) are
        created by the first write: reading a home that has no labels creates nothing, so
        reads work on a full or read-only disk too."""
        return cls(cls.location(home, sae))

    # --- connections and transactions ------------------------------------------------------
    def _connect(self, write: bool = True) -> sqlite3.Connection:
        if not self.path.exists():
            if not write:  # no labels yet: an empty store, in memory
                return _empty_store()
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA synchronous = FULL")  # a committed label survives a power cut
        if not self._ready:
            try:
                _create_schema(conn)
            except BaseException:
                conn.close()
                raise
            self._ready = True
        return conn

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction: BEGIN IMMEDIATE (takes the write lock now) or a read snapshot."""
        conn = self._connect(write)
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    # --- reads ------------------------------------------------------------------------------
    def get(self, feature_id: int) -> Label | None:
        f = check_feature_id(feature_id)
        conn = self._connect(write=False)
        try:
            return _get(conn, f)
        finally:
            conn.close()

    def all(self) -> list[Label]:
        """Every label, by feature id."""
        with self._tx(write=False) as conn:
            rows = conn.execute("SELECT * FROM labels ORDER BY feature_id").fetchall()
        return [_label(r) for r in rows]

    def count(self) -> int:
        with self._tx(write=False) as conn:
            return conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0]

    def search(self, text: str, limit: int = 50) -> list[Label]:
        """Labels whose name or notes contain `text` (case-insensitive), by feature id."""
        if not isinstance(text, str):
            raise LabelError(f"search text must be a string, got {text!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise LabelError(f"limit must be an integer >= 0, got {limit!r}")
        needle = text.casefold()
        found = [x for x in self.all() if needle in f"{x.name}\n{x.notes}".casefold()]
        return found[:limit]

    def history(self, feature_id: int) -> list[dict]:
        """Every write of the feature's label, oldest first: the label's fields, `action`
        ("set" or "delete": the fields of the label deleted) and `written_at`."""
        f = check_feature_id(feature_id)
        with self._tx(write=False) as conn:
            rows = conn.execute(
                "SELECT * FROM label_history WHERE feature_id = ? ORDER BY id", (f,)
            ).fetchall()
        return [{**_fields(r), "action": r["action"], "written_at": r["written_at"]} for r in rows]

    def status(self) -> dict:
        """{n_labels, by_category (every category), by_source, queue: {pending, completed,
        skipped}}."""
        with self._tx(write=False) as conn:
            n = conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0]
            by_cat = dict(conn.execute("SELECT category, COUNT(*) FROM labels GROUP BY 1"))
            by_src = dict(conn.execute("SELECT source, COUNT(*) FROM labels GROUP BY 1 ORDER BY 1"))
            queue = dict(conn.execute("SELECT status, COUNT(*) FROM label_queue GROUP BY 1"))
        return {
            "n_labels": n,
            "by_category": {c: by_cat.get(c, 0) for c in CATEGORIES},
            "by_source": by_src,
            "queue": {s: queue.get(s, 0) for s in ("pending", "completed", "skipped")},
        }

    # --- writes -----------------------------------------------------------------------------
    def set(
        self,
        feature_id: int,
        *,
        name: str,
        category: str = "none",
        notes: str = "",
        confidence: float | None = None,
        source: str = "api",
        expected_version: int | None = None,
        **optional,
    ) -> Label:
        """Create or replace the feature's label (fields not given are reset to their
        defaults). `expected_version`: write only if the label is at this version, 0 = only
        if it has none (LabelConflict otherwise). A pending queue entry becomes completed."""
        f = check_feature_id(feature_id)
        fields = validate(dict(optional, name=name, category=category, notes=notes,
                               confidence=confidence, source=source))  # fmt: skip
        expected = check_expected(expected_version)
        with self._tx() as conn:
            return self._write(conn, f, fields, expected)

    def save_rule_score(self, feature_id: int, rule: str, score: dict) -> bool:
        """Replace the label's rule_score if its rule is still `rule` (a score never lands
        on another rule); True if replaced. Not a write: see the module's docstring."""
        f = check_feature_id(feature_id)
        text = to_json(check_rule_score(score, rule))
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE labels SET rule_score = ? WHERE feature_id = ? AND rule = ?",
                (text, f, rule),
            )
            return cur.rowcount > 0

    def delete(self, feature_id: int, expected_version: int | None = None) -> bool:
        """Remove the feature's label; False if it had none. The deletion is kept in the
        history (as a write: version + 1)."""
        f = check_feature_id(feature_id)
        expected = check_expected(expected_version)
        with self._tx() as conn:
            current = _get(conn, f)
            _check_version(f, current, expected)
            if current is None:
                return False
            row = {**current.to_dict(), "version": current.version + 1}
            _append_history(conn, row, "delete", utc_now())
            conn.execute("DELETE FROM labels WHERE feature_id = ?", (f,))
            return True

    def _write(
        self,
        conn: sqlite3.Connection,
        f: int,
        fields: dict,
        expected: int | None,
        updated_at: str | None = None,
    ) -> Label:
        """Insert or update inside the caller's write transaction; history and queue too."""
        current = _get(conn, f)
        _check_version(f, current, expected)
        now = utc_now()
        updated = updated_at or now
        if current is not None:
            version, created = current.version + 1, current.created_at
        else:
            last = conn.execute(
                "SELECT MAX(version) FROM label_history WHERE feature_id = ?", (f,)
            ).fetchone()[0]
            version, created = (last or 0) + 1, updated
        label = Label(feature_id=f, **fields, created_at=created, updated_at=updated,
                      version=version)  # fmt: skip
        row = label.to_dict()
        names = ", ".join(LABEL_FIELDS)
        marks = ", ".join("?" * len(LABEL_FIELDS))
        conn.execute(f"INSERT OR REPLACE INTO labels ({names}) VALUES ({marks})",
                     _values(row))  # fmt: skip
        _append_history(conn, row, "set", now)
        conn.execute(
            "UPDATE label_queue SET status = 'completed', updated_at = ? "
            "WHERE feature_id = ? AND status != 'completed'",
            (now, f),
        )
        return label


def _get(conn: sqlite3.Connection, f: int) -> Label | None:
    row = conn.execute("SELECT * FROM labels WHERE feature_id = ?", (f,)).fetchone()
    return None if row is None else _label(row)


def _fields(row: sqlite3.Row) -> dict:
    """A row's label fields (rule_score decoded from its JSON text)."""
    out = {k: row[k] for k in LABEL_FIELDS}
    out["rule_score"] = from_json(out["rule_score"])
    return out


def _label(row: sqlite3.Row) -> Label:
    return Label(**_fields(row))


def _values(row: dict) -> list:
    """A label's fields in LABEL_FIELDS order, as stored (rule_score as JSON text)."""
    return [to_json(row[k]) if k == "rule_score" else row[k] for k in LABEL_FIELDS]


def _check_version(f: int, current: Label | None, expected: int | None) -> None:
    if expected is None:
        return
    have = 0 if current is None else current.version
    if have == expected:
        return
    if current is None:
        message = f"feature {f} has no label (expected version {expected})"
    elif expected == 0:
        message = f"feature {f} already has a label (version {have})"
    else:
        message = f"the label of feature {f} is at version {have}, not {expected}"
    raise LabelConflict(message, current)


def _append_history(conn: sqlite3.Connection, row: dict, action: str, written_at: str) -> None:
    names = ", ".join((*LABEL_FIELDS, "action", "written_at"))
    marks = ", ".join("?" * (len(LABEL_FIELDS) + 2))
    values = _values(row) + [action, written_at]
    conn.execute(f"INSERT INTO label_history ({names}) VALUES ({marks})", values)


def _create_schema(conn: sqlite3.Connection) -> None:
    """Make the tables (WAL journal), or migrate an older file, unless the file already has
    this schema version."""
    if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:  # switching to WAL needs a moment alone with the file
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    conn.execute("BEGIN IMMEDIATE")
    try:
        _migrate(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _migrate(conn: sqlite3.Connection) -> None:
    """Inside the caller's write transaction: bring the file to SCHEMA_VERSION. Columns are
    added only where missing, so a file an older splat marked back to 1 migrates again."""
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise LabelError(
            f"the label store has schema version {found}, newer than this splat's "
            f"{SCHEMA_VERSION}: upgrade splat"
        )
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    for table in ("labels", "label_history"):
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        for name, sql_type in ADDED_IN_2.items():
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _empty_store() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    _migrate(conn)
    return conn
