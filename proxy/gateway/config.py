"""The gateway's own knobs, read from MINERVA_GATEWAY_* environment variables.

These are not (yet) fields of ``minerva_core.settings.Settings``; they live in this small
pydantic-settings model so the gateway can be configured without touching Settings. Every
field can be passed explicitly too (tests build a ``GatewayConfig(...)`` by hand).

    MINERVA_GATEWAY_MAX_BODY_BYTES          2097152   larger request bodies answer 413
    MINERVA_GATEWAY_MAX_TOKENS_LIMIT        1000000   max_tokens above this answers 400
    MINERVA_GATEWAY_DEFAULT_MAX_TOKENS      1024      completion estimate when max_tokens is absent
    MINERVA_GATEWAY_TOTAL_DEADLINE_S        60        all attempts of one request (to the first byte
                                                       of a stream, to the whole body otherwise)
    MINERVA_GATEWAY_CONNECT_TIMEOUT_S       5         TCP/TLS connect to the upstream
    MINERVA_GATEWAY_FIRST_BYTE_TIMEOUT_S    10        per attempt: response headers, then the first
                                                       SSE data event (stream) or the body from its
                                                       first non-padding byte (non-stream); a request
                                                       may lower it with X-Minerva-First-Byte-Timeout-Ms
    MINERVA_GATEWAY_READ_IDLE_TIMEOUT_S     60        longest silence while reading a body or stream
    MINERVA_GATEWAY_POOL_LIMIT              512       upstream connections kept by the one aiohttp session
    MINERVA_GATEWAY_MAX_QUEUE_WAITERS       64        queued requests per key (queue_when_limited keys)
    MINERVA_GATEWAY_COOLDOWN_THRESHOLD      3         failures within the window that start a cooldown
    MINERVA_GATEWAY_COOLDOWN_WINDOW_S       30
    MINERVA_GATEWAY_COOLDOWN_S              30        how long a failing model is skipped
    MINERVA_GATEWAY_RELOAD_POLL_S           5         catalog_versions poll (fallback to LISTEN/NOTIFY)
    MINERVA_GATEWAY_RELOAD_DEBOUNCE_S       0.05      coalesce a burst of notifications into one reload
    MINERVA_GATEWAY_SPOOL_DIR               MINERVA_HOME/spool/ledger
    MINERVA_GATEWAY_LEDGER_DATABASE_URL     unset = the app's database
    MINERVA_GATEWAY_LEDGER_FLUSH_INTERVAL_S 0.2
    MINERVA_GATEWAY_LEDGER_ENABLED          true      false: no spool, no ledger rows (benchmarks only)
    MINERVA_GATEWAY_RECORD_DELAY_MS         0         0: rows spooled before the answer completes;
                                                       >0: batched this long later (a crash then loses them)
    MINERVA_GATEWAY_LEDGER_FLUSHER          process   process: COPY into PostgreSQL from a child process
                                                       (off the event loop); inline: in this process
    MINERVA_GATEWAY_FORWARD_HEADERS         http-referer,x-title   client headers passed upstream
    MINERVA_GATEWAY_DECISION_CACHE_SIZE     4096      memoised routing decisions per snapshot
    MINERVA_GATEWAY_GC_FREEZE               true      gc.freeze() after each snapshot load, so the
                                                       collector never walks the catalog (process-wide)
    MINERVA_GATEWAY_SHARED_LIMITS_PREFIX    minerva:limits:   key prefix in the shared store
                                                       (MINERVA_REDIS_URL, a Settings field; unset:
                                                       each process keeps its own limits)
    MINERVA_GATEWAY_SHARED_LIMITS_TIMEOUT_MS 50       per call to the shared store; slower or failed
                                                       calls fall back to in-process limits
    MINERVA_GATEWAY_SHARED_LIMITS_RETRY_S   1         after a failure, skip the store this long
    MINERVA_GATEWAY_SHARED_LIMITS_CONNECTIONS 32      connections to the store per process
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from minerva_core.errors import ConfigError

FIRST_BYTE_TIMEOUT_HEADER = "x-minerva-first-byte-timeout-ms"


class GatewayConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINERVA_GATEWAY_", extra="ignore", frozen=True)

    max_body_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    max_tokens_limit: int = Field(default=1_000_000, gt=0)
    default_max_tokens: int = Field(default=1024, gt=0)
    total_deadline_s: float = Field(default=60.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    first_byte_timeout_s: float = Field(default=10.0, gt=0)
    read_idle_timeout_s: float = Field(default=60.0, gt=0)
    pool_limit: int = Field(default=512, ge=1)
    max_queue_waiters: int = Field(default=64, ge=0)
    cooldown_threshold: int = Field(default=3, ge=1)
    cooldown_window_s: float = Field(default=30.0, gt=0)
    cooldown_s: float = Field(default=30.0, ge=0)
    reload_poll_s: float = Field(default=5.0, gt=0)
    reload_debounce_s: float = Field(default=0.05, ge=0)
    spool_dir: Path | None = None
    ledger_database_url: str | None = None
    ledger_flush_interval_s: float = Field(default=0.2, gt=0)
    ledger_enabled: bool = True
    record_delay_ms: float = Field(default=0.0, ge=0)
    ledger_flusher: str = Field(default="process", pattern="^(process|inline)$")
    forward_headers: str = "http-referer,x-title"
    decision_cache_size: int = Field(default=4096, ge=0)
    gc_freeze: bool = True
    shared_limits_prefix: str = Field(default="minerva:limits:", min_length=1)
    shared_limits_timeout_ms: float = Field(default=50.0, gt=0)
    shared_limits_retry_s: float = Field(default=1.0, ge=0)
    shared_limits_connections: int = Field(default=32, ge=1)

    @property
    def forwarded_header_names(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.forward_headers.split(",") if h.strip())


def load_gateway_config(environ: Mapping[str, str] | None = None, **overrides: Any) -> GatewayConfig:
    """GatewayConfig from the process environment (or only `environ` when given); a bad value
    raises ConfigError naming the variable."""
    try:
        if environ is None:
            return GatewayConfig(**overrides)
        values: dict[str, Any] = {}
        for name in GatewayConfig.model_fields:
            env = "MINERVA_GATEWAY_" + name.upper()
            if env in environ:
                values[name] = environ[env]
        values.update(overrides)
        return _MappingOnly(**values)
    except ValidationError as exc:
        problems = [
            f"MINERVA_GATEWAY_{str(err['loc'][0]).upper()}: {err['msg']}" if err["loc"] else err["msg"]
            for err in exc.errors()
        ]
        raise ConfigError("invalid gateway configuration: " + "; ".join(problems)) from None


class _MappingOnly(GatewayConfig):
    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, *args, **kwargs):  # type: ignore[override]
        return (init_settings,)


__all__ = ["FIRST_BYTE_TIMEOUT_HEADER", "GatewayConfig", "load_gateway_config"]
