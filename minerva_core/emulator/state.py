"""Everything one running emulator holds, built from its config (no module globals)."""

from __future__ import annotations

import asyncio
import os
import random
import string
from dataclasses import dataclass, field

from minerva_core.emulator.activity import Ledger
from minerva_core.emulator.catalog import Catalog
from minerva_core.emulator.config import EmulatorConfig
from minerva_core.emulator.endpoints import EndpointIndex
from minerva_core.emulator.faults import FaultBook
from minerva_core.emulator.generations import Generation, GenerationStore
from minerva_core.emulator.listing import Listing
from minerva_core.emulator.planner import PlanContext

_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass(slots=True)
class EmulatorState:
    config: EmulatorConfig
    catalog: Catalog
    listing: Listing
    faults: FaultBook
    generations: GenerationStore
    ledger: Ledger
    plan: PlanContext
    #: Open connections by client (host, port), filled by the emulator's own server; the
    #: `reset` fault aborts the one a request came in on.
    connections: dict[tuple[str, int], asyncio.Transport] = field(default_factory=dict)
    #: Random source for ids (generation, request, upstream); never for reply content.
    ids: random.Random = field(default_factory=lambda: random.Random(os.urandom(32)))

    def new_id(self, length: int = 20) -> str:
        return "".join(self.ids.choices(_ID_ALPHABET, k=length))

    def record(self, generation: Generation) -> None:
        """A finished generation: visible to /generation after the delay, billed at once."""
        self.generations.add(generation)
        self.ledger.add(generation)

    def reset(self) -> None:
        """Forget faults, generations, spend and cached prompts; keep the catalog."""
        self.faults.clear()
        for rule in self.config.faults:
            self.faults.arm(rule.target, rule.kind, rule.count)
        self.generations.clear()
        self.ledger.clear()
        if self.plan.prompt_cache is not None:
            self.plan.prompt_cache.clear()


def build_state(config: EmulatorConfig) -> EmulatorState:
    catalog = Catalog.from_file(config.snapshot_path, complete=config.fill_required)
    faults = FaultBook()
    state = EmulatorState(
        config=config,
        catalog=catalog,
        listing=Listing(catalog),
        faults=faults,
        generations=GenerationStore(config.generation_delay_ms),
        ledger=Ledger(),
        plan=PlanContext(
            catalog=catalog,
            endpoints=EndpointIndex(config.seed),
            faults=faults,
            seed=config.seed,
            reply_tokens=config.reply_tokens,
            retry_after_s=config.retry_after_s,
            prompt_cache=set() if config.prompt_cache else None,
        ),
    )
    state.reset()
    return state
