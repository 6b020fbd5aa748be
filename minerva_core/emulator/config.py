"""The emulator's settings: one frozen value, passed to create_app and serve."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from minerva_core.emulator.faults import FAULT_KINDS

DATA_DIR = Path(__file__).parent / "data"
#: The newest real snapshot (549 models, all output modalities), shipped with the package.
DEFAULT_SNAPSHOT = DATA_DIR / "models-all-modalities-2026-08-19.json.gz"
READY_PREFIX = "MINERVA_EMULATOR_READY"


@dataclass(frozen=True, slots=True)
class FaultRule:
    """Fail requests for `target` (a model id, or an /api/v1 path such as "/models")."""

    target: str
    kind: str
    #: How many requests fail before the target recovers; None = until cleared.
    count: int | None = 1

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {', '.join(sorted(FAULT_KINDS))}")
        if self.count is not None and self.count < 1:
            raise ValueError("fault count must be >= 1 (or None for 'until cleared')")


def parse_fault_rule(text: str) -> FaultRule:
    """Read "TARGET=KIND[:COUNT]", e.g. "openai/gpt-4o=429:2" or "/models=503"."""
    target, sep, rest = text.rpartition("=")
    if not sep or not target:
        raise ValueError(f"fault {text!r} is not TARGET=KIND[:COUNT]")
    kind, _, count = rest.partition(":")
    if count in ("", None):
        return FaultRule(target=target, kind=kind, count=None)
    return FaultRule(target=target, kind=kind, count=int(count))


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 4010
    #: A /models snapshot file (enveloped or bare array, .json or .json.gz); None = newest.
    snapshot: Path | None = None
    seed: int = 0
    #: Delay before the first token, and between tokens, unless a request header overrides.
    ttft_ms: int = 0
    token_ms: int = 0
    #: Only this bearer key is accepted; None accepts any non-empty key.
    require_key: str | None = None
    #: How long GET /generation answers 404 after a request finished.
    generation_delay_ms: int = 500
    #: Whitespace before non-stream bodies and ": OPENROUTER PROCESSING" before streams.
    padding: bool = True
    #: While waiting, one padding unit / processing comment every this many ms.
    keepalive_ms: int = 1000
    #: Interval between the tiny chunks of the `drip` fault.
    drip_ms: int = 250
    #: Retry-After seconds sent with a 429 fault.
    retry_after_s: int = 1
    total_credits: Decimal = Decimal(100)
    #: Add the keys today's spec requires that older snapshots lack (links, supported_voices...).
    fill_required: bool = False
    #: Remember prompt prefixes so repeats report cached tokens (for models with a cache price).
    prompt_cache: bool = True
    #: Default completion length range (tokens), before max_tokens bounds it.
    reply_tokens: tuple[int, int] = (16, 64)
    faults: tuple[FaultRule, ...] = field(default=())
    log_level: str = "warning"

    def __post_init__(self) -> None:
        for name in ("ttft_ms", "token_ms", "generation_delay_ms", "drip_ms", "retry_after_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.keepalive_ms <= 0:
            raise ValueError("keepalive_ms must be > 0")
        low, high = self.reply_tokens
        if not 1 <= low <= high:
            raise ValueError("reply_tokens must be (low, high) with 1 <= low <= high")

    @property
    def snapshot_path(self) -> Path:
        return self.snapshot if self.snapshot is not None else DEFAULT_SNAPSHOT

    def base_url(self, port: int | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port if port is not None else self.port}/api/v1"
