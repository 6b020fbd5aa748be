"""The in-memory snapshot the hot path reads: catalog for routing, current prices, strategies
by name and alias, keys by hash, model health (measured, else the endpoints'). Pure: built from plain rows by
``build.build_snapshot``; ``loader`` fetches the rows and ``reload`` swaps snapshots on change.

A snapshot is immutable once built except for its memo caches (restricted catalogs per
allowed-model set, /v1/models bodies, routing decisions), which only ever grow and are
dropped with the snapshot. Swapping ``app.state.gateway.snapshot`` is one attribute store,
so a request sees one consistent snapshot from start to end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from minerva_core.pricing import Pricing
from minerva_core.routing import BUILTIN_STRATEGIES, Catalog, Strategy

AUTO_ALIAS = "minerva/auto"
BUILTIN_NAMES = frozenset(BUILTIN_STRATEGIES)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: str
    name: str
    allowed_models: frozenset[str] | None = None
    default_strategy: str | None = None
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    budget_usd: Decimal | None = None
    budget_period: str | None = None
    queue_when_limited: bool = False
    max_queue_wait_ms: int = 30_000
    app: str | None = None
    expires_at: datetime | None = None
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class StrategyEntry:
    strategy: Strategy
    alias: str | None
    version: int = 1
    is_default: bool = False
    is_enabled: bool = True

    @property
    def name(self) -> str:
        return self.strategy.name


@dataclass(slots=True)
class SnapshotRows:
    """What the loader reads; plain Python values (Decimal for money)."""

    models: list[dict[str, Any]] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    health: dict[str, dict[str, Any]] = field(default_factory=dict)  # measured: {model id: ModelHealth fields}
    strategies: list[dict[str, Any]] = field(default_factory=list)
    keys: list[dict[str, Any]] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    catalog_loaded: bool = True  # False: the catalog tables were not read (unchanged)


@dataclass(frozen=True, slots=True)
class KeyScope:
    """What a key's allowed_models means (see ``Snapshot.scope_of``)."""

    model_ids: frozenset[str] | None  # None: any model
    aliases: frozenset[str]
    any_strategy: bool

    def allows_model(self, model_id: str) -> bool:
        return self.model_ids is None or model_id in self.model_ids

    def allows_strategy(self, entry: StrategyEntry, via_auto: bool) -> bool:
        """``via_auto``: the client sent minerva/auto or no model (the key's default)."""
        if self.any_strategy:
            return True
        return (via_auto and AUTO_ALIAS in self.aliases) or entry.alias in self.aliases


class Snapshot:
    def __init__(
        self,
        *,
        catalog: Catalog,
        prices: dict[str, Pricing],
        strategies: dict[str, StrategyEntry],
        keys: dict[str, KeyInfo],
        listing: list[dict[str, Any]],
        versions: dict[str, int],
        serial: int,
    ) -> None:
        self.catalog = catalog
        self.prices = prices
        self.strategies = strategies
        self.aliases = {e.alias: e for e in strategies.values() if e.alias and e.is_enabled}
        self.keys = keys
        self.listing = listing
        self.versions = versions
        self.serial = serial
        self.loaded_at = time.time()
        defaults = [e for e in strategies.values() if e.is_default and e.is_enabled]
        fallback = strategies.get("balanced") or StrategyEntry(BUILTIN_STRATEGIES["balanced"], "minerva/balanced")
        self.default_strategy: StrategyEntry = defaults[0] if defaults else fallback
        self.key_ids = {k.id: k for k in keys.values()}
        self._catalogs: dict[frozenset[str], Catalog] = {}
        self._listings: dict[Any, bytes] = {}
        self._scopes: dict[str, KeyScope] = {}
        self.decisions: dict[Any, Any] = {}

    # -- keys and strategies ----------------------------------------------------------------
    def strategy_for_key(self, key: KeyInfo | None) -> StrategyEntry:
        """The key's default strategy when it names an enabled one, else the default."""
        if key is not None and key.default_strategy:
            entry = self.strategies.get(key.default_strategy)
            if entry is not None and entry.is_enabled:
                return entry
        return self.default_strategy

    def scope_of(self, key: KeyInfo | None) -> KeyScope:
        """allowed_models NULL: anything. Otherwise its entries that are strategy aliases (or
        minerva/auto) allow those strategies, the rest are model ids. Named models are the only
        candidates any route may use; a list of models only (no alias) allows every strategy
        over them; a list of aliases only allows those strategies over the whole catalog."""
        if key is None or key.allowed_models is None:
            return _ANYTHING
        scope = self._scopes.get(key.id)
        if scope is None:
            aliases = frozenset(m for m in key.allowed_models if m == AUTO_ALIAS or m in self.aliases)
            ids = key.allowed_models - aliases
            scope = KeyScope(
                model_ids=ids if ids or not aliases else None,
                aliases=aliases,
                any_strategy=bool(ids) and not aliases,
            )
            if not key.allowed_models:
                scope = KeyScope(model_ids=frozenset(), aliases=frozenset(), any_strategy=False)
            self._scopes[key.id] = scope
        return scope

    def catalog_for(self, scope: KeyScope) -> Catalog:
        """The catalog restricted to the scope's models (memoised per model set)."""
        if scope.model_ids is None:
            return self.catalog
        restricted = self._catalogs.get(scope.model_ids)
        if restricted is None:
            models = [m for m in self.catalog.models if m.id in scope.model_ids]
            restricted = Catalog(models, self.catalog.health)
            self._catalogs[scope.model_ids] = restricted
        return restricted

    # -- /v1/models ----------------------------------------------------------------------
    def models_body(self, scope: KeyScope, key: KeyInfo | None, dumps: Any) -> bytes:
        """The OpenAI list body of the strategy aliases and models a key may use."""
        default = self.strategy_for_key(key)
        cache_key = (scope, default.name)
        body = self._listings.get(cache_key)
        if body is None:
            aliases = [AUTO_ALIAS] if scope.allows_strategy(default, True) else []
            aliases += [a for a, e in sorted(self.aliases.items()) if scope.allows_strategy(e, False)]
            data = [{"id": a, "object": "model", "created": 0, "owned_by": "minerva"} for a in aliases]
            data += [m for m in self.listing if scope.allows_model(m["id"])]
            body = dumps({"object": "list", "data": data})
            self._listings[cache_key] = body
        return body


_ANYTHING = KeyScope(model_ids=None, aliases=frozenset(), any_strategy=True)


__all__ = [
    "AUTO_ALIAS",
    "BUILTIN_NAMES",
    "KeyInfo",
    "KeyScope",
    "Snapshot",
    "SnapshotRows",
    "StrategyEntry",
]
