"""Migrations on real PostgreSQL: from empty, re-run, the edited-file refusal, bad names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from minerva_core.db import migrate
from minerva_core.errors import MigrationChecksumError, MigrationError


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_from_empty_applies_every_file_in_order_and_rerun_changes_nothing(empty_db_url):
    engine = create_engine(empty_db_url)
    try:
        files = migrate.discover()
        assert files, "sql/ holds migrations"
        assert [m.version for m in files] == sorted(m.version for m in files)

        applied = migrate.upgrade(engine)
        assert [m.version for m in applied] == [m.version for m in files]
        tables_after_first = _tables(engine)
        assert {"schema_migrations", "ai_models", "usage_ledger"} <= tables_after_first

        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT version, checksum FROM schema_migrations ORDER BY version")
            ).all()
        assert [(r.version, r.checksum) for r in rows] == [(m.version, m.checksum) for m in files]

        assert migrate.upgrade(engine) == []
        assert _tables(engine) == tables_after_first
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM schema_migrations")).scalar() == len(files)
    finally:
        engine.dispose()


def _write(dir_: Path, name: str, sql: str) -> Path:
    path = dir_ / name
    path.write_text(sql)
    return path


def test_edited_applied_migration_is_refused_with_a_clear_message(empty_db_url, tmp_path):
    sql_dir = tmp_path / "sql"
    sql_dir.mkdir()
    first = _write(sql_dir, "20260101000000_first.sql", "CREATE TABLE t_one (id int);")
    engine = create_engine(empty_db_url)
    try:
        assert len(migrate.upgrade(engine, sql_dir)) == 1
        first.write_text("CREATE TABLE t_one (id bigint);")
        with pytest.raises(MigrationChecksumError) as info:
            migrate.upgrade(engine, sql_dir)
        assert "20260101000000_first.sql was edited after it was applied" in str(info.value)
        with pytest.raises(MigrationChecksumError):
            migrate.pending(engine, sql_dir)
    finally:
        engine.dispose()


def test_failing_migration_rolls_back_whole_file_and_names_it(empty_db_url, tmp_path):
    sql_dir = tmp_path / "sql"
    sql_dir.mkdir()
    _write(sql_dir, "20260101000000_ok.sql", "CREATE TABLE t_ok (id int);")
    _write(
        sql_dir,
        "20260102000000_broken.sql",
        "CREATE TABLE t_half (id int);\nSELECT * FROM no_such_table;",
    )
    engine = create_engine(empty_db_url)
    try:
        with pytest.raises(MigrationError) as info:
            migrate.upgrade(engine, sql_dir)
        assert "20260102000000_broken.sql failed" in str(info.value)
        tables = _tables(engine)
        assert "t_ok" in tables
        assert "t_half" not in tables, "the failed file left nothing behind"
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version FROM schema_migrations")).scalars().all()
        assert versions == ["20260101000000"]
    finally:
        engine.dispose()


def test_percent_signs_in_sql_run_as_written(empty_db_url, tmp_path):
    sql_dir = tmp_path / "sql"
    sql_dir.mkdir()
    _write(
        sql_dir,
        "20260101000000_percent.sql",
        "CREATE TABLE t_p (s text); INSERT INTO t_p VALUES ('100%'); "
        "CREATE VIEW v_p AS SELECT s FROM t_p WHERE s LIKE '%\\%%' ESCAPE '\\';",
    )
    engine = create_engine(empty_db_url)
    try:
        migrate.upgrade(engine, sql_dir)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT s FROM v_p")).scalar() == "100%"
    finally:
        engine.dispose()


def test_badly_named_file_and_missing_file_are_refused(empty_db_url, tmp_path):
    sql_dir = tmp_path / "sql"
    sql_dir.mkdir()
    bad = _write(sql_dir, "001_init.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="YYYYMMDDHHMMSS"):
        migrate.discover(sql_dir)
    bad.unlink()
    only = _write(sql_dir, "20260101000000_a.sql", "CREATE TABLE t_a (id int);")
    engine = create_engine(empty_db_url)
    try:
        migrate.upgrade(engine, sql_dir)
        only.unlink()
        with pytest.raises(MigrationError, match="no such file"):
            migrate.upgrade(engine, sql_dir)
    finally:
        engine.dispose()


def test_real_migrations_apply_on_top_of_a_copy(empty_db_url, tmp_path):
    """Applying the first half, then all, equals applying all at once (incremental upgrades)."""
    files = migrate.discover()
    sql_dir = tmp_path / "sql"
    sql_dir.mkdir()
    half = max(1, len(files) // 2)
    for migration in files[:half]:
        shutil.copy(migration.path, sql_dir / migration.path.name)
    engine = create_engine(empty_db_url)
    try:
        assert len(migrate.upgrade(engine, sql_dir)) == half
        for migration in files[half:]:
            shutil.copy(migration.path, sql_dir / migration.path.name)
        assert len(migrate.upgrade(engine, sql_dir)) == len(files) - half
    finally:
        engine.dispose()
