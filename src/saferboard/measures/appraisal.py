"""Options appraisal (seed 003, Table 4): options scored against weighted criteria on a
High/Medium/Low (or numeric) scale, ranked by weighted score, with how the ranking changes when
each criterion's weight moves by -50% and +50% (one at a time)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from saferboard.sources.appraisal_model import DEFAULT_SCALE, Appraisal, Criterion, Option

__all__ = ["DEFAULT_SCALE", "Appraisal", "Criterion", "Option"]

METHOD = (
    "Weighted score = sum of weight x score over criteria / sum of weights (H = 3, M = 2, "
    "L = 1 unless the file gives another scale). Rank 1 = highest score; equal scores share "
    "a rank. Weight sensitivity: each criterion's weight is multiplied by 0.5 and by 1.5 in "
    "turn, the others unchanged, and the ranking recomputed."
)


@dataclass(frozen=True)
class RankedOption:
    rank: int
    name: str
    score: float  # weighted mean score
    labels: tuple[str, ...]


@dataclass(frozen=True)
class WeightChange:
    criterion: str
    factor: float  # 0.5 or 1.5
    ranking: tuple[str, ...]  # options best first
    moved: tuple[tuple[str, int, int], ...]  # (option, rank before, rank after) that changed
    top_changes: bool


@dataclass(frozen=True)
class AppraisalResult:
    name: str
    criteria: tuple[Criterion, ...]
    ranked: tuple[RankedOption, ...]
    changes: tuple[WeightChange, ...]
    robust: bool  # no weight change moves any option
    method: str = METHOD


def weighted_scores(options: tuple[Option, ...], weights: tuple[float, ...]
                    ) -> dict[str, float]:
    total = sum(weights)
    if total <= 0:
        raise ValueError("criterion weights must add up to more than 0")
    return {o.name: sum(w * s for w, s in zip(weights, o.scores, strict=True)) / total
            for o in options}


def rank(scores: Mapping[str, float]) -> dict[str, int]:
    """Competition ranking, highest first: equal scores (to 1e-9) share a rank."""
    ordered = sorted(scores.items(), key=lambda kv: -kv[1])
    ranks: dict[str, int] = {}
    for i, (name, score) in enumerate(ordered):
        prev = ordered[i - 1] if i else None
        ranks[name] = ranks[prev[0]] if prev and abs(prev[1] - score) < 1e-9 else i + 1
    return ranks


def appraise(a: Appraisal, factors: tuple[float, ...] = (0.5, 1.5)) -> AppraisalResult:
    weights = tuple(c.weight for c in a.criteria)
    scores = weighted_scores(a.options, weights)
    ranks = rank(scores)
    by_name = {o.name: o for o in a.options}
    ranked = tuple(RankedOption(ranks[n], n, scores[n], by_name[n].labels)
                   for n in sorted(scores, key=lambda n: (ranks[n], a.options.index(by_name[n]))))
    top = {r.name for r in ranked if r.rank == 1}
    changes: list[WeightChange] = []
    for i, c in enumerate(a.criteria):
        for f in factors:
            w = tuple(x * f if j == i else x for j, x in enumerate(weights))
            s = weighted_scores(a.options, w)
            rk = rank(s)
            moved = tuple((o.name, ranks[o.name], rk[o.name]) for o in a.options
                          if rk[o.name] != ranks[o.name])
            order = tuple(sorted(s, key=lambda n: (rk[n], a.options.index(by_name[n]))))
            changes.append(WeightChange(c.name, f, order, moved,
                                        {n for n in rk if rk[n] == 1} != top))
    return AppraisalResult(a.name, a.criteria, ranked, tuple(changes),
                           not any(ch.moved for ch in changes))
