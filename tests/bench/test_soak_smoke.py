"""bench/soak.py still works: a short run at a low rate through real processes (emulator,
scratch database, proxy) must answer every request, give every answered request exactly
one ledger row, exercise the injected faults and the fallback chain, and clean up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support.database import server_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_short_soak_matches_ledger_rows_to_responses(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    argv = [sys.executable, str(ROOT / "bench" / "soak.py"), "--duration", "8", "--warmup", "2",
            "--rate", "20", "--bucket-s", "4", "--database-url", server_url(), "--json", str(out),
            # 10 s measure start-up settling, not a leak: the growth bound is the 10-minute run's.
            "--max-rss-growth-pct", "25"]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())

    ledger = result["ledger"]
    assert ledger["match"] is True
    assert ledger["rows"] == ledger["responses_with_request_id"] == result["sent"] == 200
    assert ledger["missing"] == ledger["doubled"] == ledger["extra"] == 0
    assert result["served"] == result["sent"]

    classes = result["by_class"]
    assert classes["clean"].get("error", 0) == 0 and classes["clean"]["ok"] > 100
    # The fault header goes upstream on every attempt, so no faulted request succeeds.
    assert classes["faults"].get("ok", 0) == 0 and classes["faults"]["error"] == sum(result["faults_sent"].values())
    assert result["fallbacks"]["chain_responses"] > 0 and classes["chain"].get("error", 0) == 0
    assert set(result["errors_by_cause"]) <= {"upstream_error", "upstream_timeout", "upstream_rate_limited",
                                              "models_cooling_down", "502"}
    assert len(result["per_bucket"]) == 2 and all(b["proxy_mb"] and b["flusher_mb"] for b in result["per_bucket"])
    assert result["memory"]["proxy_growth_pct"] is not None

    name = result["database"]
    admin = make_url(server_url()).set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
