"""flow_enabled(area): may this flow run here? For flows, which run rarely: it reads the
overrides directly (no cache) and falls back to the environment when the database is away.

    ok, reason = flow_enabled("analytics", conn=conn)
    if not ok:
        logger.info("skipped: %s", reason)
        return {"status": "skipped", "reason": reason}
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine

from minerva_core.flags.definitions import deployment_name, flag_name, resolve
from minerva_core.flags.store import load_overrides
from minerva_core.settings import Settings, load_settings

log = logging.getLogger(__name__)

# The area of each flow (by its deployment name in deployments/prefect.yaml); None: the
# flow runs whatever the flags say. Documented in minerva_core.flags.
FLOW_AREAS: dict[str, str | None] = {
    "discover": "provider",
    "pricing": "provider",
    "backfill": "provider",
    "reconcile": "provider",
    "refresh": "analytics",
    "guardrails": "migration",
    "alerts": None,
}


def flow_enabled(
    area: str, *, settings: Settings | None = None, conn: Connection | None = None,
    engine: Engine | None = None, deployment: str | None = None,
) -> tuple[bool, str]:
    """(enabled, reason): the reason names the flag, the deployment and what decided, e.g.
    "ENABLE_OPENROUTER_ANALYTICS is off for deployment 'default' (database override for
    every deployment ('*') by admin: maintenance)"."""
    settings = settings or load_settings()
    name = flag_name(area)
    deployment = deployment or deployment_name(settings)
    note = ""
    try:
        if conn is not None:
            overrides = load_overrides(conn)
        else:
            own = engine is None
            if own:
                from minerva_core.db import get_engine

                engine = get_engine(settings, pool_size=1)
            try:
                with engine.connect() as c:
                    overrides = load_overrides(c)
            finally:
                if own:
                    engine.dispose()
    except Exception as exc:
        overrides = {}
        note = f"; database overrides unreadable ({exc.__class__.__name__}), the environment decided"
        log.warning("flow_enabled(%s): %s", area, note.lstrip("; "))
    state = resolve(settings, deployment, overrides)[name]
    return state.enabled, state.describe() + note


__all__ = ["FLOW_AREAS", "flow_enabled"]
