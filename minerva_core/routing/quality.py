"""The quality score: OpenRouter's ``benchmarks`` object -> one figure in 0..1. Pure.

The rule, first source present wins, all mapped onto the Artificial Analysis (AA)
Intelligence Index scale (0..100; the 2026-08-19 snapshot spans 5.5 .. 63.1, median 37.8):

1. ``artificial_analysis.intelligence_index`` as is.
2. else ``artificial_analysis.coding_index`` as ``0.7265 * coding + 1.65`` (least-squares fit
   over the 141 models of the 2026-08-19 snapshot that carry both; r = 0.98).
3. else Design Arena: the mean ``elo`` of the ``"models"`` arena entries (all entries when
   there are none) as ``0.1157 * elo - 99.45`` (fit over the 91 models carrying both an
   intelligence index and a models-arena elo; r = 0.92).

then ``quality = clamp(index / 70, 0, 1)`` rounded to 4 places: 70 is a fixed anchor a little
above the best model seen, so scores do not move when a snapshot adds or drops a model.

A model without benchmarks has no score (None). Rankings then use ``NEUTRAL_QUALITY`` (0.5,
close to the median measured score, 0.54: "assume a typical model") and the decision's
confidence is lowered.
"""

from __future__ import annotations

from statistics import fmean
from typing import Any, Mapping

NEUTRAL_QUALITY = 0.5
INDEX_ANCHOR = 70.0
CODING_TO_INDEX = (0.7265, 1.65)
ELO_TO_INDEX = (0.1157, -99.45)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def benchmark_index(benchmarks: Mapping[str, Any] | None) -> float | None:
    """The AA-Intelligence-equivalent index of a ``benchmarks`` object (rules 1-3) or None."""
    if not isinstance(benchmarks, Mapping):
        return None
    aa = benchmarks.get("artificial_analysis")
    if isinstance(aa, Mapping):
        index = _number(aa.get("intelligence_index"))
        if index is not None:
            return index
        coding = _number(aa.get("coding_index"))
        if coding is not None:
            slope, intercept = CODING_TO_INDEX
            return slope * coding + intercept
    arena = benchmarks.get("design_arena")
    if isinstance(arena, list):
        entries = [e for e in arena if isinstance(e, Mapping) and _number(e.get("elo")) is not None]
        models = [e for e in entries if e.get("arena") == "models"] or entries
        if models:
            slope, intercept = ELO_TO_INDEX
            return slope * fmean(float(e["elo"]) for e in models) + intercept
    return None


def quality_from_benchmarks(benchmarks: Mapping[str, Any] | None) -> float | None:
    """``clamp(index / 70, 0, 1)`` rounded to 4 places, or None without benchmarks."""
    index = benchmark_index(benchmarks)
    if index is None:
        return None
    return round(min(1.0, max(0.0, index / INDEX_ANCHOR)), 4)
