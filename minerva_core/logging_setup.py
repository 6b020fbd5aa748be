"""Process logging from MINERVA_LOG_LEVEL: one stderr handler on the root logger, a line per
record with time (UTC), level and logger name. Called once per process by the entry points
(the proxy's ASGI factory, `minerva up`); a process that already configured the root logger
(a test harness, an embedding app) keeps its own handlers and only gets the level."""

from __future__ import annotations

import logging
import sys
import time

from minerva_core.settings import Settings

FORMAT = "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s"
OWN_LOGGERS = ("minerva_core", "proxy", "flows")


def configure_logging(settings: Settings) -> None:
    level = getattr(logging, settings.log_level)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        formatter = logging.Formatter(FORMAT, datefmt="%Y-%m-%dT%H:%M:%S")
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
        root.addHandler(handler)
        root.setLevel(logging.WARNING)  # libraries stay quiet unless they warn
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)


__all__ = ["configure_logging"]
