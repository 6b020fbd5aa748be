"""``CatalogCache``: the savings analysis' parsed catalog, prices and candidate pools, kept
while the catalog is unchanged. Pure (the caller reads the version and loads the catalog).

Parsing the catalog (~500 models) and sorting out, per used model, which models may stand
in for it cost more than analysing a period's groups; both depend on the catalog alone. The
cache holds the entry of one catalog version (the newest seen) and is safe to share between
threads: a concurrent miss may load twice, and the last load wins.
"""

from __future__ import annotations

import threading
from typing import Callable, Hashable

from minerva_core.optimisation.candidates import CandidatePool
from minerva_core.optimisation.report import SavingsPolicy
from minerva_core.pricing import Pricing
from minerva_core.routing import Catalog

Loaded = tuple[Catalog, dict[str, Pricing]]


class CatalogCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: Hashable | None = None
        self._loaded: Loaded | None = None
        self._pools: dict[SavingsPolicy, CandidatePool] = {}
        self.loads = 0  # how many times ``load`` was called: a figure for tests and benches

    def get(
        self, version: Hashable, load: Callable[[], Loaded], policy: SavingsPolicy
    ) -> tuple[Catalog, dict[str, Pricing], CandidatePool]:
        """(catalog, prices, the pool for ``policy``) of catalog ``version``; ``load`` runs
        only when the version differs from the one held."""
        with self._lock:
            loaded = self._loaded if self._version == version else None
        if loaded is None:
            loaded = load()
            with self._lock:
                self.loads += 1
                self._version, self._loaded, self._pools = version, loaded, {}
        catalog, prices = loaded
        with self._lock:
            pool = self._pools.get(policy) if self._loaded is loaded else None
            if pool is None:
                pool = CandidatePool(catalog, prices, policy)
                if self._loaded is loaded:
                    self._pools[policy] = pool
        return catalog, prices, pool
