"""What the readers answer while faults happen, judged against answers known to be right.

A *snapshot* is the server's answers to a fixed set of requests over one generation,
checked for consistency against a direct computation (a feature's statistics and top
examples must agree with its full activation list). Every later answer is then one of:
- right: equal in content to the answer of one snapshot it may come from;
- error: a clear refusal, a JSON body with a `detail` (for damage: naming the damaged
  asset, its version and file), never numbers;
- wrong: any other 200 (numbers from no generation, or from two), or a bare error;
- no answer: the connection failed.
Content leaves out what names versions (`data_version`, `generation`) and timings, so
that a rerun that recomputed identical data counts as the same answers.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import numpy as np
import pyarrow as pa

NOT_CONTENT = ("load_time_ms", "uptime_seconds", "data_version", "generation", "versions")
HEALTH = "/health"
HEALTH_CONTENT = ("status", "n_features", "n_samples", "nnz")


def requests_for(features: list[int], samples: list[int]) -> list[str]:
    per_feature = ("/features/{f}", "/features/{f}/examples?k=20", "/features/{f}/stats",
                   "/activations/{f}/arrow?shape=splat", "/activations/{f}?limit=50")  # fmt: skip
    paths = [p.format(f=f) for f in features for p in per_feature]
    return [*paths, *(f"/samples/{s}" for s in samples), "/context/vocab", HEALTH]


def pick(n_features: int, n_samples: int, n: int = 6) -> tuple[list[int], list[int]]:
    """Evenly spread feature and sample ids (deterministic)."""
    features = sorted({int(x) for x in np.linspace(0, n_features - 1, n)})
    samples = sorted({int(x) for x in np.linspace(0, n_samples - 1, n)})
    return features, samples


def content(path: str, response: httpx.Response):
    """The comparable content of a 200 answer."""
    if "/arrow" in path:  # the IPC file form, as the reference's client reads it
        return pa.ipc.open_file(pa.py_buffer(response.content)).read_all()
    body = response.json()
    if isinstance(body, dict):
        keep = HEALTH_CONTENT if path == HEALTH else [k for k in body if k not in NOT_CONTENT]
        body = {k: body[k] for k in keep}
    return body


def digest(value) -> str:
    if isinstance(value, pa.Table):
        blob = json.dumps(value.to_pydict(), sort_keys=True).encode()
    else:
        blob = json.dumps(value, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


@dataclass
class Snapshot:
    generation: str | None
    answers: dict[str, object]
    digests: dict[str, str]


def answer(path: str, response: httpx.Response):
    """The comparable content of an answer: a 200's content, or a refusal (4xx but 503)
    with its status, which is as much an answer of its generation (a sample id that a
    new generation no longer has is a 404 there)."""
    if response.status_code == 200:
        return content(path, response)
    if 400 <= response.status_code < 500:
        return {"status": response.status_code, "body": response.text}
    return None


def snapshot(client: httpx.Client, paths: list[str]) -> Snapshot:
    """Every answer of one generation, checked against each other; retried if the server
    changes generation meanwhile."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        before = client.get(HEALTH).json()["generation"]
        answers = {}
        for path in paths:
            r = client.get(path)
            answers[path] = answer(path, r)
            if answers[path] is None:
                raise AssertionError(f"GET {path}: HTTP {r.status_code} {r.text[:300]}")
        if client.get(HEALTH).json()["generation"] == before:
            check_consistent(answers)
            return Snapshot(before, answers, {p: digest(v) for p, v in answers.items()})
        # it moved on meanwhile: take the new one at once
    raise AssertionError("the served generation kept changing for 60 s of snapshots")


def check_consistent(answers: dict[str, object]) -> None:
    """The answers of one snapshot against a direct computation from each feature's full
    activation list: count, maximum, mean over all samples and the top-20 examples."""
    n_samples = answers[HEALTH]["n_samples"]
    for path, table in answers.items():
        if "/arrow" not in path:
            continue
        base = path.split("/arrow")[0].replace("/activations/", "/features/")
        values = table.column("activation").to_numpy()
        ids = table.column("sample_id").to_numpy()
        stats = answers[f"{base}/stats"]
        if stats is None:
            assert len(values) == 0, f"{base}: no stats but {len(values)} activations"
            continue
        assert stats["nnz"] == len(values), f"{base}: stats nnz {stats['nnz']} != {len(values)}"
        assert math.isclose(stats["max"], float(values.max()), rel_tol=1e-6), base
        mean_all = float(values.astype(np.float64).sum()) / n_samples
        assert math.isclose(stats["mean_all"], mean_all, rel_tol=1e-4, abs_tol=1e-9), base
        top = answers[f"{base}/examples?k=20"]
        got = sorted((e["activation"] for e in top), reverse=True)
        assert np.allclose(got, values[:20], rtol=1e-6), f"{base}: top-20 values disagree"
        value_of = dict(zip(ids.tolist(), values.tolist(), strict=True))
        for e in top:  # ties may order differently; each pair must be in the list
            assert math.isclose(value_of[e["sample_id"]], e["activation"], rel_tol=1e-6), base


def error_verdict(response: httpx.Response, damaged: str | None) -> str:
    """A non-200 answer: "error" when it is a clear JSON refusal (naming the damaged asset,
    version and file when `damaged` is known), else "wrong"."""
    try:
        body = response.json()
    except ValueError:
        return "wrong"  # a bare error page
    if not isinstance(body, dict) or not body.get("detail"):
        return "wrong"
    if damaged and response.status_code >= 500 and response.status_code != 503:
        named = body.get("asset") == damaged and body.get("version") and body.get("file")
        return "error" if named else "wrong"
    return "error"


@dataclass
class Tally:
    """Answers counted by verdict, with the generations the right ones came from."""

    counts: Counter = field(default_factory=Counter)
    by_snapshot: Counter = field(default_factory=Counter)
    server_errors: int = 0  # answers with a 5xx status
    examples: list[str] = field(default_factory=list)  # the first wrong answers

    def add(self, verdict: str, what: str = "") -> None:
        self.counts[verdict] += 1
        if verdict in ("wrong", "no answer") and len(self.examples) < 5:
            self.examples.append(what)

    def merge(self, other: Tally) -> Tally:
        self.counts += other.counts
        self.by_snapshot += other.by_snapshot
        self.server_errors += other.server_errors
        self.examples += other.examples[: 5 - len(self.examples)]
        return self

    def as_dict(self) -> dict:
        return {"answers": sum(self.counts.values()), "right": self.counts["right"],
                "error": self.counts["error"], "wrong": self.counts["wrong"],
                "no_answer": self.counts["no answer"],
                "server_errors": self.server_errors, "by_snapshot": dict(self.by_snapshot),
                "wrong_examples": self.examples}  # fmt: skip


class Poller:
    """Asks every path in turn, in a thread, until stopped; keeps each answer's content
    digest (judged later, against snapshots that may be taken only after the fact)."""

    def __init__(
        self, url: str, paths: list[str], damaged: str | None = None, pause_s: float = 0.2
    ):
        self.url, self.paths, self.damaged, self.pause_s = url, paths, damaged, pause_s
        self.records: list[tuple[str, int, str | None, str]] = []  # see ask()
        self._stop = threading.Event()
        self._rounds = threading.Condition()
        self.rounds = 0  # complete passes over `paths`
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self._stop.is_set():
                for path in self.paths:
                    self.records.append(self.ask(client, path))
                with self._rounds:
                    self.rounds += 1
                    self._rounds.notify_all()
                self._stop.wait(self.pause_s)  # leave the run most of the CPU

    def more_rounds(self, n: int = 2, timeout: float = 60) -> None:
        """Wait until `n` more complete passes are recorded (answers after an event)."""
        with self._rounds:
            want = self.rounds + n
            if not self._rounds.wait_for(lambda: self.rounds >= want, timeout):
                raise TimeoutError(f"the poller made no {n} more rounds in {timeout} s")

    def ask(self, client: httpx.Client, path: str) -> tuple[str, int, str | None, str]:
        """(path, status, digest of the answer or None, verdict if it matches no snapshot)."""
        try:
            r = client.get(path)
        except httpx.HTTPError as e:
            return path, 0, None, f"no answer: {type(e).__name__}"
        value = answer(path, r)
        if path == HEALTH and r.status_code == 200 and value["status"] == "damaged":
            return path, 200, None, "error" if self.damaged else "wrong: reported damage"
        if r.status_code == 200:
            return path, 200, digest(value), "wrong: matches no snapshot"
        fallback = f"{error_verdict(r, self.damaged)}: {r.text[:160]}"
        return path, r.status_code, None if value is None else digest(value), fallback

    def judge(self, allowed: dict[str, Snapshot]) -> Tally:
        """Each recorded answer against the snapshots it may match (by name)."""
        tally = Tally()
        for path, status, got, fallback in self.records:
            if status >= 500:
                tally.server_errors += 1
            names = [n for n, s in allowed.items() if got is not None and s.digests[path] == got]
            if names:
                tally.add("right")
                tally.by_snapshot["=".join(names)] += 1
            else:
                tally.add(fallback.split(":", 1)[0], f"GET {path}: HTTP {status} {fallback}")
        return tally
