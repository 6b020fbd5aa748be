"""MINERVA_LOG_LEVEL reaches Minerva's own loggers in a fresh process; libraries stay at WARNING."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import logging
from minerva_core.logging_setup import configure_logging
from minerva_core.settings import load_settings
configure_logging(load_settings({"MINERVA_ENV": "test", "MINERVA_LOG_LEVEL": LEVEL}))
logging.getLogger("proxy.gateway.reload").info("own info line")
logging.getLogger("minerva_core.ledger").debug("own debug line")
logging.getLogger("aiohttp.client").info("library info line")
logging.getLogger("aiohttp.client").warning("library warning line")
"""


def _stderr(level: str) -> str:
    done = subprocess.run([sys.executable, "-c", f"LEVEL = {level!r}\n" + SCRIPT],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stderr


def test_info_level_shows_own_info_and_library_warnings_only() -> None:
    err = _stderr("INFO")
    assert "INFO proxy.gateway.reload: own info line" in err
    assert "own debug line" not in err and "library info line" not in err
    assert "WARNING aiohttp.client: library warning line" in err
    assert err.splitlines()[0][:4].isdigit() and "Z INFO" in err  # UTC timestamp first


def test_debug_and_error_levels() -> None:
    assert "own debug line" in _stderr("DEBUG")
    quiet = _stderr("ERROR")
    assert "own info line" not in quiet and "library warning line" in quiet
