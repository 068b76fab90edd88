"""Rules that predict where a feature fires: searched on one split of the samples, scored on
the other, beside a shuffled-label null.

The samples are split once (seeded) into a fit half and a held-out half; up to `fit_rows`
and `score_rows` of each are used. A feature has two targets: `fires` (activation > 0) and
`strong` (activation at or above the `strong_quantile` of its nonzero activations).

The search, per target, on the fit rows: every single condition of the vocabulary is scored
by F1 from counts (positives' conditions gathered, totals precomputed); the best `beam` are
extended by a second condition (AND; totals from the precomputed co-occurrence counts); then
terms are joined by OR greedily while F1 gains at least `min_gain`. The greedy rule, the
best term and the best single condition are kept (distinct ones), ranked by fit F1.

Held-out scores of a rule: precision, recall and F1 as a detector of the target; AUROC of
its margin (0 where it fails, 1 + AP above its thresholds where it holds: `InputTable.margin`);
the Spearman correlation of activation with the margin where the rule holds; coverage; and
F1 and AUROC against the same number of positives drawn at random among the held-out rows
(the null). Memory is bounded by the fit and held-out rows, never by the number of features.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
from scipy.stats import spearmanr

from splat_core.explain.inputs import InputTable, condition_vocabulary
from splat_core.explain.kernels import overlap, pack, popcount
from splat_core.explain.rules import Rule

TARGETS = ("fires", "strong")
CONFIDENCE = ("high", "medium", "low", "none")  # best first


@dataclass(frozen=True)
class ExplainConfig:
    seed: int = 0
    fit_rows: int = 200_000  # samples of the fit half the search counts on
    score_rows: int = 200_000  # samples of the held-out half the scores count on
    strong_quantile: float = 0.5  # `strong`: activation at or above this quantile of nonzeros
    beam: int = 3  # single conditions extended by a second one
    pool: int = 12  # single conditions that may join a rule by OR
    max_terms: int = 3
    min_gain: float = 0.01  # a condition or term is added only for this much more fit F1
    keep: int = 3  # rules kept per feature (over both targets)
    min_positives: int = 20  # fewer firing fit samples: the target is not explained


def config_json(config: ExplainConfig) -> str:
    return json.dumps(asdict(config), sort_keys=True)


def config_from_json(text: str | bytes) -> ExplainConfig:
    return ExplainConfig(**json.loads(text))


class Split(NamedTuple):
    """Which samples the search fits on and which it scores on (disjoint, sorted)."""

    fit: np.ndarray  # int64 sample ids
    score: np.ndarray  # int64 sample ids

    @classmethod
    def of(cls, n_samples: int, config: ExplainConfig) -> Split:
        perm = np.random.default_rng(config.seed).permutation(n_samples)
        half = n_samples // 2
        fit = np.sort(perm[:half][: config.fit_rows])
        score = np.sort(perm[half:][: config.score_rows])
        return cls(fit, score)

    def positions(self, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
        """Per sample id: its position among the fit rows and among the scored rows (-1)."""
        out = []
        for rows in (self.fit, self.score):
            pos = np.full(n_samples, -1, np.int32)
            pos[rows] = np.arange(len(rows), dtype=np.int32)
            out.append(pos)
        return out[0], out[1]


class Scores(NamedTuple):
    """A rule's held-out scores for one target."""

    precision: float
    recall: float
    f1: float
    auroc: float
    spearman: float | None  # None where the margin or the activation is constant
    coverage: float  # fraction of held-out samples where the rule holds
    null_f1: float
    null_auroc: float
    n_positive: int  # held-out samples of the target
    n_scored: int  # held-out samples

    @property
    def confidence(self) -> str:
        return confidence(self.f1, self.null_f1)


def confidence(f1: float, null_f1: float) -> str:
    """high: F1 >= 0.8; medium: >= 0.5; low: >= 0.2; each also >= 2x the null F1 and 0.1
    above it. Otherwise none."""
    if f1 < max(2 * null_f1, null_f1 + 0.1):
        return "none"
    return "high" if f1 >= 0.8 else "medium" if f1 >= 0.5 else "low" if f1 >= 0.2 else "none"


def f1_of(tp, total, n_pos):
    """F1 = 2 tp / (positives + predicted), elementwise; 0 where both are 0."""
    return 2.0 * np.asarray(tp, float) / np.maximum(np.asarray(total, float) + n_pos, 1.0)


class Explained(NamedTuple):
    target: str
    rule: Rule
    fit_f1: float
    scores: Scores


class Explainer:
    """The precomputed counts of one set of samples; `explain` then costs about the
    number of the feature's firing fit samples times the vocabulary size."""

    def __init__(self, table: InputTable, config: ExplainConfig = ExplainConfig()):
        self.config = config
        self.inputs = table
        self.n_samples = table.n_samples
        self.split = Split.of(table.n_samples, config)
        self.fit_pos, self.score_pos = self.split.positions(table.n_samples)
        self.vocabulary = condition_vocabulary(table)
        self.fit = table.take(self.split.fit)
        self.held = table.take(self.split.score)

    # The search's bitmaps, made on first use (scoring a given rule needs none of them).
    @functools.cached_property
    def bits(self) -> np.ndarray:
        """uint64 [conditions, fit words]: where each condition holds among the fit rows."""
        return pack(np.stack([self.fit.condition(c) for c in self.vocabulary]))

    @functools.cached_property
    def count(self) -> np.ndarray:
        """[conditions]: fit rows where each holds."""
        return overlap(self.bits, np.full(self.bits.shape[1], ~np.uint64(0)))

    @functools.cached_property
    def cooc(self) -> np.ndarray:
        """[conditions, conditions]: fit rows where both hold."""
        return np.stack([overlap(self.bits, row) for row in self.bits])

    def targets(self, ids: np.ndarray, values: np.ndarray) -> dict[str, np.ndarray]:
        """The sample ids of each target."""
        ids = np.asarray(ids, np.int64)
        values = np.asarray(values)
        if len(values) == 0:
            return {t: ids for t in TARGETS}
        cut = np.quantile(values, self.config.strong_quantile)
        return {"fires": ids, "strong": ids[values >= cut]}

    def explain(self, feature: int, ids: np.ndarray, values: np.ndarray) -> list[Explained]:
        """The best rules for the feature whose nonzero activations are `values` at `ids`,
        ranked by fit F1 (at most `keep`), with their held-out scores."""
        found: list[tuple[float, str, Rule]] = []
        targets = self.targets(ids, values)
        for target, tids in targets.items():
            rows = self.fit_pos[tids]
            rows = np.sort(rows[rows >= 0])
            if len(rows) < self.config.min_positives:
                continue
            found += [(f1, target, rule) for f1, rule in self.search(rows)]
        found.sort(key=lambda x: (-x[0], TARGETS.index(x[1]), str(x[2])))
        out, seen = [], set()
        for f1, target, rule in found:
            if (target, rule.key) in seen:
                continue
            seen.add((target, rule.key))
            scores = self.score(rule, targets[target], ids, values, feature)
            out.append(Explained(target, rule, round(float(f1), 6), scores))
            if len(out) == self.config.keep:
                break
        return out

    # --- the search ------------------------------------------------------------------------

    def search(self, rows: np.ndarray) -> list[tuple[float, Rule]]:
        """(fit F1, rule) of the greedy rule, its first term and the best single condition.

        Sequential covering: each term (joined by OR) is the condition, or pair of
        conditions, that most raises the rule's F1, scored on what the rule does not cover
        yet; a pair must beat the best condition by `min_gain`, as must each new term the
        rule so far. All counts are exact (bitmaps of the fit rows)."""
        cfg, n_pos = self.config, len(rows)
        positive = np.zeros(len(self.split.fit), bool)
        positive[rows] = True
        positive = pack(positive)
        f1 = f1_of(overlap(self.bits, positive), self.count, n_pos)
        best_single = int(np.argmax(f1))
        inside = np.zeros_like(positive)  # fit rows the rule holds on
        tp, total, score, terms = 0, 0, 0.0, []
        while len(terms) < cfg.max_terms:
            term, new_score = self._next_term(positive, inside, tp, total, score, n_pos)
            if term is None:
                break
            terms.append(term)
            inside = inside | self._term_bits(term)
            tp, total, score = popcount(inside & positive), popcount(inside), new_score
        if not terms:  # nothing beats chance by min_gain: the best condition, to be seen
            terms, score = [(best_single,)], float(f1[best_single])
        first = self._term_bits(terms[0])
        first_f1 = float(f1_of(popcount(first & positive), popcount(first), n_pos))
        v = self.vocabulary
        return [
            (score, Rule.of(*[tuple(v[i] for i in t) for t in terms])),
            (first_f1, Rule.of(tuple(v[i] for i in terms[0]))),
            (float(f1[best_single]), Rule.of(v[best_single])),
        ]

    def _term_bits(self, term: tuple[int, ...]) -> np.ndarray:
        out = self.bits[term[0]]
        for i in term[1:]:
            out = out & self.bits[i]
        return out

    def _next_term(self, positive, inside, tp, total, score, n_pos):
        """(term, the rule's F1 with it) for the term whose OR most raises F1, or (None, 0)
        if none raises it by `min_gain`. Upper bounds (every new row a positive) skip the
        counts that cannot win."""
        cfg = self.config
        rest = positive & ~inside  # positives not covered yet
        grown = overlap(self.bits, rest)  # new positives each condition would add
        need = score + cfg.min_gain
        if f1_of(tp + grown, total + grown, n_pos).max() < need:
            return None, 0.0
        added = self.count - overlap(self.bits, inside) if total else self.count
        f1 = f1_of(tp + grown, total + added, n_pos)
        single = int(np.argmax(f1))
        best, best_f1 = (single,), float(f1[single])
        bar = max(best_f1 + cfg.min_gain, need)  # what a pair must reach

        def partners(a: int) -> np.ndarray:
            """F1 of the rule OR (a AND each condition)."""
            # rows of (a AND b) not yet covered: all of them minus those inside (few words)
            new_rows = self.cooc[a] - (overlap(self.bits, self.bits[a] & inside) if total else 0)
            out = f1_of(tp + overlap(self.bits, self.bits[a] & rest), total + new_rows, n_pos)
            out[a] = -1
            return out

        # extend the best conditions by F1 and those holding the most uncovered positives
        # (broad ones a second condition can make precise), unless they cannot reach the bar
        by_f1, by_grown = np.argsort(-f1, kind="stable"), np.argsort(-grown, kind="stable")
        seeds = dict.fromkeys([*by_f1[: cfg.beam].tolist(), *by_grown[: cfg.beam].tolist()])
        for a in seeds:
            if f1_of(tp + grown[a], total + grown[a], n_pos) <= bar:
                continue
            pf1 = partners(a)
            b = int(np.argmax(pf1))
            if pf1[b] > bar:
                best, bar = (a, b), float(pf1[b])
        if len(best) == 2:  # refine the first condition given the second
            pf1 = partners(best[1])
            a = int(np.argmax(pf1))
            if pf1[a] > bar:
                best, bar = (best[1], a), float(pf1[a])
            return best, bar
        return (best, best_f1) if best_f1 >= need else (None, 0.0)

    # --- held-out scores -------------------------------------------------------------------

    def score(self, rule: Rule, target_ids, ids, values, feature: int = 0) -> Scores:
        """`rule`'s held-out scores as a detector of `target_ids` (sample ids); `ids` and
        `values` are all the feature's nonzero activations (for the Spearman correlation)."""
        n = len(self.split.score)
        label = np.zeros(n, bool)
        tpos = self.score_pos[np.asarray(target_ids, np.int64)]
        label[tpos[tpos >= 0]] = True
        n_pos = int(label.sum())
        holds = np.flatnonzero(self.held.evaluate(rule))
        margin = self.held.margin(rule, holds)
        acts = np.zeros(len(holds), np.float32)
        where = self.score_pos[np.asarray(ids, np.int64)]
        keep = where >= 0
        lookup = np.searchsorted(holds, where[keep])
        inside = lookup < len(holds)
        inside[inside] = holds[lookup[inside]] == where[keep][inside]
        acts[lookup[inside]] = np.asarray(values)[keep][inside]
        hit = label[holds]
        tp = int(hit.sum())
        p = tp / len(holds) if len(holds) else 0.0
        r = tp / n_pos if n_pos else 0.0
        rng = np.random.default_rng([self.config.seed, int(feature)])
        null = np.zeros(n, bool)
        null[rng.choice(n, size=n_pos, replace=False)] = True
        null_hit = null[holds]
        null_tp = int(null_hit.sum())
        return Scores(
            precision=round(p, 6), recall=round(r, 6),
            f1=round(float(f1_of(tp, len(holds), n_pos)), 6),
            auroc=round(_auroc(hit, margin, n_pos, n), 6),
            spearman=_spearman(acts, margin),
            coverage=round(len(holds) / n, 6) if n else 0.0,
            null_f1=round(float(f1_of(null_tp, len(holds), n_pos)), 6),
            null_auroc=round(_auroc(null_hit, margin, n_pos, n), 6),
            n_positive=n_pos, n_scored=n,
        )  # fmt: skip


def _auroc(hit: np.ndarray, margin: np.ndarray, n_pos: int, n: int) -> float:
    """AUROC of the score 0 where the rule fails and 1 + margin where it holds, over `n`
    rows of which `n_pos` are positive; `hit` marks the positives among the rows where the
    rule holds. Ties count half (Mann-Whitney)."""
    n_neg = n - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    levels, inverse = np.unique(margin, return_inverse=True)
    pos = np.bincount(inverse[hit], minlength=len(levels)).astype(float)
    neg = np.bincount(inverse[~hit], minlength=len(levels)).astype(float)
    pos0, neg0 = n_pos - pos.sum(), n_neg - neg.sum()  # where the rule fails: score 0
    below = neg0 + np.cumsum(neg) - neg
    wins = (pos * (below + 0.5 * neg)).sum() + pos0 * 0.5 * neg0
    return float(wins / (n_pos * n_neg))


def _spearman(acts: np.ndarray, margin: np.ndarray) -> float | None:
    if len(acts) < 3 or np.ptp(acts) == 0 or np.ptp(margin) == 0:
        return None
    return round(float(spearmanr(acts, margin).statistic), 6)
