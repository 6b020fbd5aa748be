"""A real proxy process killed with SIGKILL under load (the whole process group: the server
and its ledger flusher child), then restarted on the same spool directory: every request
that got a response has exactly one ledger row, none doubled.

The flusher moves rows only once a second here, so at the kill some answered requests are
still only in the spool; the test checks that they are missing from the table before the
restart (so it is the restart's replay that brings them, not luck).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine, text

from tests.gateway import support
from tests.gateway.support import A
from tests.reliability.ledger_checks import await_exactly_one_row_each, ledger_counts, problems
from tests.support.chat_load import ChatLoad
from tests.support.proxy_runner import running_proxy

pytestmark = pytest.mark.slow


def test_sigkill_under_load_loses_and_doubles_no_answered_request(rel_db_url, rel_engine: Engine, plain_upstream,
                                                                   tmp_path) -> None:
    key, key_id = support.new_key(rel_engine, "sigkill")
    with running_proxy(rel_db_url, plain_upstream, tmp_path / "proxy", ledger_flush_interval_s=1.0) as proxy:
        assert len(proxy.group_pids()) >= 2  # the server and its flusher child
        assert re.search(r"Z INFO proxy\.gateway\.reload: gateway snapshot \d+ loaded", proxy.log()), proxy.log()
        with ChatLoad(proxy.url, key, A, threads=4) as load:
            load.wait_for_more(150)
            proxy.kill()
            assert proxy.group_pids() == []
        answered = [a.request_id for a in load.answers if a.status == 200]
        assert len(answered) == len(load.answers) >= 150 and len(set(answered)) == len(answered)
        assert {a.stream for a in load.answers} == {True, False}

        waiting = list(proxy.spool_dir.iterdir())
        missing = [rid for rid, n in ledger_counts(rel_engine, answered).items() if n == 0]
        assert waiting and missing, "nothing was left in the spool at the kill: the test proves nothing"

        proxy.start()  # same spool directory: the new flusher claims the dead one's segments
        counts = await_exactly_one_row_each(rel_engine, answered, timeout=30)
        assert not problems(counts), (problems(counts), proxy.log())
    with rel_engine.connect() as conn:
        rows, ids = conn.execute(text("SELECT count(*), count(DISTINCT request_id) FROM usage_ledger "
                                      "WHERE api_key_id = :k"), {"k": key_id}).one()
    assert rows == ids  # no request doubled, answered or not
