"""A key's app: blank means none, stored as NULL, so the usage views never see two spellings
of "no app" (they group "" with NULL and would refuse the pair on refresh)."""

from __future__ import annotations

from sqlalchemy import text

from minerva_core.virtual_keys import create_key


def test_blank_app_is_stored_as_null_and_a_real_one_is_kept_trimmed(db_engine) -> None:
    with db_engine.begin() as conn:
        blank = create_key(conn, name="blank-app", app="   ")
        empty = create_key(conn, name="empty-app", app="")
        named = create_key(conn, name="named-app", app=" billing ")
        apps = dict(conn.execute(text("SELECT name, app FROM api_keys WHERE id IN (:a, :b, :c)"),
                                 {"a": blank.id, "b": empty.id, "c": named.id}).all())
    assert apps == {"blank-app": None, "empty-app": None, "named-app": "billing"}
