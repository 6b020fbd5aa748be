"""Database access: the engine for the configured or embedded PostgreSQL, and migrations."""

from minerva_core.db.engine import database_url, get_engine

__all__ = ["database_url", "get_engine"]
