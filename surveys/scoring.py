"""Scoring: scale scores and bands from answers. Pure functions.

Rules (per scale in the instrument file):
- an item's points are its option's ``points`` (or numeric value); a reverse item gives
  ``lo + hi - points`` where ``lo``/``hi`` are the item's lowest and highest points;
- skipped and hidden items are not answered; with fewer than ``min_answered`` answered items
  the scale has no score;
- ``mean`` and ``sum`` aggregate points; ``percent`` is
  ``100 * (sum - n*lo) / (n*(hi - lo))`` over the answered items, and ``invert`` turns it
  into ``100 - that`` (so "0 = no difficulty" items give a percent of mastery).
"""

from __future__ import annotations

from dataclasses import dataclass

from surveys.engine import Answers, effective_answers
from surveys.schema import Aggregation, Band, Instrument, Scale


@dataclass(frozen=True)
class ScaleScore:
    scale_id: str
    score: float | None
    band: Band | None
    answered: int


def item_points(
    instrument: Instrument, scale: Scale, question_id: str, value: object
) -> float | None:
    question = instrument.question(question_id)
    for option in instrument.options(question):
        if option.value == value:
            points = option.score
            if points is None:
                return None
            if question_id in scale.reverse:
                lo, hi = instrument.item_points_range(question_id)
                return lo + hi - points
            return points
    return None


def band_for(scale: Scale, score: float) -> Band:
    for band in scale.bands:
        if band.contains_below(score):
            return band
    return scale.bands[-1]


def score_scale(instrument: Instrument, scale: Scale, answers: Answers) -> ScaleScore:
    effective = effective_answers(instrument, answers)
    points: list[float] = []
    lows: list[float] = []
    highs: list[float] = []
    for item in scale.items:
        if item not in effective or effective[item] is None:
            continue
        p = item_points(instrument, scale, item, effective[item])
        if p is None:
            continue
        lo, hi = instrument.item_points_range(item)
        points.append(p)
        lows.append(lo)
        highs.append(hi)
    n = len(points)
    if n < scale.min_answered:
        return ScaleScore(scale.id, None, None, n)
    total = sum(points)
    if scale.aggregation == Aggregation.SUM:
        score = total
    elif scale.aggregation == Aggregation.MEAN:
        score = total / n
    else:
        span = sum(highs) - sum(lows)
        score = 100.0 * (total - sum(lows)) / span if span else 0.0
        if scale.invert:
            score = 100.0 - score
    score = round(score, 2)
    return ScaleScore(scale.id, score, band_for(scale, score), n)


def score_instrument(instrument: Instrument, answers: Answers) -> list[ScaleScore]:
    return [score_scale(instrument, scale, answers) for scale in instrument.scales]
