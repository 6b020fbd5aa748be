"""The catalog package is pure: importing it pulls in no I/O framework."""

from __future__ import annotations

import subprocess
import sys


def test_catalog_imports_no_io_frameworks() -> None:
    code = (
        "import sys, minerva_core.catalog, minerva_core.catalog.diff;"
        "bad = [m for m in ('httpx', 'sqlalchemy', 'prefect', 'fastapi', 'psycopg')"
        " if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
