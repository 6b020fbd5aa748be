"""The catalog's PostgreSQL side: read the live state, apply a normalised batch as a diff,
record sync jobs and quarantined batches. The flows call this; the proxy only reads."""

from minerva_core.catalog_store.jobs import SyncJob, create_job, finish_job, update_progress
from minerva_core.catalog_store.state import LiveCatalogState, load_live_state
from minerva_core.catalog_store.writer import apply_catalog, write_endpoints
from minerva_core.catalog_store.quarantine import quarantine_batch

__all__ = [
    "LiveCatalogState",
    "SyncJob",
    "apply_catalog",
    "create_job",
    "finish_job",
    "load_live_state",
    "quarantine_batch",
    "update_progress",
    "write_endpoints",
]
