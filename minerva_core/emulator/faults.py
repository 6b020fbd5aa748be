"""Faults on demand: which kinds exist, and the book of armed per-target faults.

A target is a model id (chat requests for it fail) or an /api/v1 path such as "/models".
Each armed fault fails `count` requests, then the target recovers; count None never recovers
until cleared. Pure bookkeeping: the responses themselves live in fault_responses.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Fail with an HTTP status and an OpenRouter error body.
STATUS_FAULTS = {"429": 429, "500": 500, "502": 502, "503": 503, "context_length": 400}
#: Misbehave on the wire instead.
WIRE_FAULTS = frozenset({"hang", "reset", "midstream", "malformed", "drip"})
FAULT_KINDS = frozenset(STATUS_FAULTS) | WIRE_FAULTS
#: Faults a `models[]` fallback list can route around (the model answered with an error).
FALLBACK_FAULTS = frozenset(STATUS_FAULTS)


@dataclass(slots=True)
class ArmedFault:
    target: str
    kind: str
    remaining: int | None
    fired: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"target": self.target, "fault": self.kind, "remaining": self.remaining, "fired": self.fired}


class FaultBook:
    """Armed faults by target; `take` consumes one firing."""

    def __init__(self) -> None:
        self._armed: dict[str, ArmedFault] = {}

    def arm(self, target: str, kind: str, count: int | None = 1) -> ArmedFault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1, or null for 'until cleared'")
        fault = ArmedFault(target=target, kind=kind, remaining=count)
        self._armed[target] = fault
        return fault

    def peek(self, target: str) -> str | None:
        fault = self._armed.get(target)
        return fault.kind if fault is not None else None

    def take(self, target: str) -> str | None:
        """The fault kind to apply to this request for `target`, or None; counts it down."""
        fault = self._armed.get(target)
        if fault is None:
            return None
        fault.fired += 1
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self._armed[target]
        return fault.kind

    def clear(self, target: str | None = None) -> int:
        if target is None:
            cleared = len(self._armed)
            self._armed.clear()
            return cleared
        return 1 if self._armed.pop(target, None) is not None else 0

    def listing(self) -> list[dict[str, object]]:
        return [fault.as_dict() for fault in self._armed.values()]

    def __bool__(self) -> bool:
        return bool(self._armed)
