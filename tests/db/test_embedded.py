"""The embedded PostgreSQL path (pgserver): started on demand, migrated, reused, stopped."""

from __future__ import annotations

from typer.testing import CliRunner
from sqlalchemy import create_engine, text

from minerva_core.cli import app
from minerva_core.db import embedded, migrate
from minerva_core.db.engine import database_url
from minerva_core.settings import load_settings


def test_embedded_database_starts_migrates_is_reused_and_stops(tmp_path):
    home = tmp_path / "h"
    settings = load_settings({"MINERVA_HOME": str(home)})
    assert settings.uses_embedded_database
    try:
        url = database_url(settings)
        assert f"host={home / 'pgdata'}" in url
        assert embedded.is_running(home)

        engine = create_engine(url)
        try:
            applied = migrate.upgrade(engine)
            assert applied
            with engine.connect() as conn:
                version = conn.execute(text("SHOW server_version")).scalar()
                assert version.startswith("16")
                assert conn.execute(text("SELECT to_regclass('usage_ledger') IS NOT NULL")).scalar()
        finally:
            engine.dispose()

        # A second start reuses the same server and data.
        assert database_url(settings) == url
        engine = create_engine(url)
        try:
            assert migrate.upgrade(engine) == []
        finally:
            engine.dispose()

        runner = CliRunner()
        result = runner.invoke(app, ["db", "url"], env={"MINERVA_HOME": str(home), "MINERVA_DATABASE_URL": ""})
        assert result.exit_code == 0, result.output
        assert result.output.strip() == url
    finally:
        assert embedded.stop(home) is True
    assert not embedded.is_running(home)
    assert embedded.stop(home) is False


def test_too_long_home_is_a_clear_error(tmp_path):
    import pytest

    from minerva_core.errors import EmbeddedDatabaseError

    home = tmp_path / ("x" * 120)
    with pytest.raises(EmbeddedDatabaseError, match="too long"):
        embedded.start(home)
