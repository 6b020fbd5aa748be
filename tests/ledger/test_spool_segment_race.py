"""A live writer's open segment never looks orphaned to another process, not even in the
moment it is created (a flusher claiming it then would lose the rows written after)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from minerva_core.ledger.spool import _orphaned

WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from minerva_core.ledger.spool import Spool
    spool = Spool(Path(sys.argv[1]))
    until = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < until:
        spool._rows_in_open = 1  # rotate() only seals a segment that holds rows
        spool.rotate()
    spool.close()
""")


def test_segments_of_live_writers_under_fast_rotation_are_never_orphans(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(spool_dir), "2.5"]) for _ in range(2)]
    time.sleep(0.5)  # both writers started
    claimed, checked = [], 0
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        for path in spool_dir.glob("*.open"):
            checked += 1
            # Still named .open after the check: its writer had not sealed it.
            if _orphaned(path) and path.exists():
                claimed.append(path.name)
        for path in spool_dir.glob("*.sealed"):
            path.unlink(missing_ok=True)
    assert [w.wait(timeout=30) for w in writers] == [0, 0]
    assert checked > 100
    assert claimed == []


def test_a_creating_file_left_by_a_killed_writer_is_removed_and_a_live_one_kept(tmp_path: Path) -> None:
    import fcntl
    import os

    from minerva_core.ledger.spool import Spool

    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    dead = spool_dir / "1-dead-000000000001.creating"
    dead.touch()
    live = spool_dir / "2-live-000000000001.creating"
    fd = os.open(live, os.O_WRONLY | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # its writer is between open and rename
    try:
        Spool(spool_dir).close()
        assert not dead.exists() and live.exists()
    finally:
        os.close(fd)
