"""The labelling queue ("label the next feature"), kept in the label store's database.

An entry is pending, skipped or completed. Pending entries come out highest priority first
(ties by feature id); labelling a feature completes its entry; a completed feature cannot be
queued again, a skipped one is un-skipped by adding it again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from splat_core.labels.model import MAX_TEXT, LabelError, check_feature_id, check_text, utc_now

ENTRY_FIELDS = ("feature_id", "priority", "reason", "added_at")
STATUSES = ("pending", "completed", "skipped")


class QueueMixin:
    """Queue methods of LabelStore (which provides `_tx`)."""

    def queue_add(
        self, feature_ids: int | Iterable[int], priority: float = 0.5, reason: str = ""
    ) -> int:
        """Queue features as pending (a pending one gets the new priority and reason, a
        skipped one is un-skipped). All or nothing: a completed feature is refused with
        LabelError. Returns how many entries were added or updated."""
        ids = _ids(feature_ids)
        priority = _priority(priority)
        reason = check_text("reason", reason, MAX_TEXT)
        now = utc_now()
        with self._tx() as conn:
            done = [
                f
                for f in ids
                if conn.execute(
                    "SELECT 1 FROM label_queue WHERE feature_id = ? AND status = 'completed'",
                    (f,),
                ).fetchone()
            ]
            if done:
                raise LabelError(f"feature(s) {done} already completed in the labelling queue")
            conn.executemany(
                "INSERT INTO label_queue (feature_id, priority, reason, status, added_at,"
                " updated_at) VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (feature_id) DO"
                " UPDATE SET priority = excluded.priority, reason = excluded.reason,"
                " status = 'pending', skip_reason = '', updated_at = excluded.updated_at",
                [(f, priority, reason, now, now) for f in ids],
            )
        return len(ids)

    def queue_build(self, counts, top_k: int = 50, include_labeled: bool = False) -> int:
        """Queue the `top_k` most active features not yet queued (in any state): `counts[f]`
        is feature f's number of nonzero activations, the priority count / max count.
        Features never active, and labelled ones unless `include_labeled`, are left out.
        Returns the number added."""
        counts = np.asarray(counts)
        if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.number):
            raise LabelError(f"counts must be a 1-d numeric array, got shape {counts.shape}")
        if counts.size and (not np.isfinite(counts).all() or (counts < 0).any()):
            raise LabelError("counts must be finite and >= 0")
        top = float(counts.max()) if counts.size else 0.0
        order = np.lexsort((np.arange(counts.size), -counts))  # count desc, then id
        entries = (
            (f, counts[f].item() / top, f"{counts[f].item()} nonzero activations")
            for f in order.tolist()
            if counts[f] > 0
        )
        return self.queue_fill(entries, top_k, include_labeled)

    def queue_fill(
        self, entries: Iterable[tuple[int, float, str]], top_k: int = 50,
        include_labeled: bool = False,
    ) -> int:  # fmt: skip
        """Queue the first `top_k` of `entries` (feature id, priority, reason), in their
        order, that are not yet queued (in any state), nor labelled unless
        `include_labeled`. Returns the number added."""
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
            raise LabelError(f"top_k must be an integer >= 0, got {top_k!r}")
        if top_k == 0:
            return 0
        now = utc_now()
        with self._tx() as conn:
            taken = {r[0] for r in conn.execute("SELECT feature_id FROM label_queue")}
            if not include_labeled:
                taken |= {r[0] for r in conn.execute("SELECT feature_id FROM labels")}
            rows = []
            for f, priority, reason in entries:
                if len(rows) == top_k:
                    break
                f = check_feature_id(f)
                if f not in taken:
                    taken.add(f)
                    reason = check_text("reason", reason, MAX_TEXT)
                    rows.append((f, _priority(priority), reason, now, now))
            conn.executemany(
                "INSERT INTO label_queue (feature_id, priority, reason, status, added_at,"
                " updated_at) VALUES (?, ?, ?, 'pending', ?, ?)",
                rows,
            )
        return len(rows)

    def queue_next(self, n: int = 5) -> list[dict]:
        """The first `n` pending entries: {feature_id, priority, reason, added_at}."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise LabelError(f"n must be an integer >= 0, got {n!r}")
        with self._tx(write=False) as conn:
            rows = conn.execute(
                f"SELECT {', '.join(ENTRY_FIELDS)} FROM label_queue WHERE status = 'pending'"
                " ORDER BY priority DESC, feature_id LIMIT ?",
                (n,),
            ).fetchall()
        return [dict(r) for r in rows]

    def queue_get(self, feature_id: int) -> dict | None:
        """The feature's queue entry with its status and skip_reason, or None."""
        f = check_feature_id(feature_id)
        with self._tx(write=False) as conn:
            row = conn.execute("SELECT * FROM label_queue WHERE feature_id = ?", (f,)).fetchone()
        return None if row is None else dict(row)

    def queue_skip(self, feature_id: int | None = None, reason: str = "") -> int | None:
        """Skip that feature's entry (pending or already skipped), or else the next pending
        one; returns the feature id, None when nothing is pending."""
        reason = check_text("reason", reason, MAX_TEXT)
        f = None if feature_id is None else check_feature_id(feature_id)
        with self._tx() as conn:
            if f is None:
                row = conn.execute(
                    "SELECT feature_id FROM label_queue WHERE status = 'pending'"
                    " ORDER BY priority DESC, feature_id LIMIT 1"
                ).fetchone()
                if row is None:
                    return None
                f = row[0]
            else:
                row = conn.execute(
                    "SELECT status FROM label_queue WHERE feature_id = ?", (f,)
                ).fetchone()
                if row is None:
                    raise LabelError(f"feature {f} is not in the labelling queue")
                if row[0] == "completed":
                    raise LabelError(f"feature {f} is already completed in the labelling queue")
            conn.execute(
                "UPDATE label_queue SET status = 'skipped', skip_reason = ?, updated_at = ?"
                " WHERE feature_id = ?",
                (reason, utc_now(), f),
            )
        return f

    def queue_complete(self, feature_id: int) -> bool:
        """Mark the feature's entry completed; False if it was not queued (nothing done)."""
        f = check_feature_id(feature_id)
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE label_queue SET status = 'completed', updated_at = ? WHERE feature_id = ?",
                (utc_now(), f),
            )
            return cur.rowcount > 0


def _ids(feature_ids) -> list[int]:
    if isinstance(feature_ids, int | np.integer) and not isinstance(feature_ids, bool):
        feature_ids = [feature_ids]
    if isinstance(feature_ids, str | bytes) or not isinstance(feature_ids, Iterable):
        raise LabelError(f"feature_ids must be integers, got {feature_ids!r}")
    return list(dict.fromkeys(check_feature_id(f) for f in feature_ids))


def _priority(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LabelError(f"priority must be a finite number, got {value!r}")
    return float(value)
