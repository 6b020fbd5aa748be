"""The soak benchmark's report: per-bucket figures, the summary, the table, the verdict."""

from __future__ import annotations

import argparse
import os
import platform
from collections import Counter

from _harness import _pct


def per_bucket(results: list[dict], samples: list[dict], bucket_s: float, last: dict) -> list[dict]:
    """One row per `bucket_s` of scheduled time; RSS as read at the bucket's end."""
    buckets: dict[int, list[dict]] = {}
    for r in results:
        buckets.setdefault(int(r["t"] // bucket_s), []).append(r)
    rows = []
    for b in sorted(buckets):
        rs = buckets[b]
        lat = [r["latency_ms"] for r in rs if r["status"]]
        clean = [r["latency_ms"] for r in rs if r["cls"] == "clean" and r["cause"] is None]
        mem = next((s for s in samples if s["t"] >= (b + 1) * bucket_s - 0.5), last)
        rows.append({
            "bucket": b, "from_s": b * bucket_s, "sent": len(rs), "ok": sum(r["cause"] is None for r in rs),
            "errors": sum(r["cause"] is not None for r in rs), "fallbacks": sum(r["fallback_depth"] > 0 for r in rs),
            "p50_ms": _pct(lat, 0.5), "p99_ms": _pct(lat, 0.99),
            "clean_p50_ms": _pct(clean, 0.5), "clean_p99_ms": _pct(clean, 0.99),
            "proxy_mb": mem["proxy_mb"], "flusher_mb": mem["flusher_mb"],
        })
    return rows


def growth(start: float | None, end: float | None) -> float | None:
    return None if not start or end is None else 100 * (end - start) / start


def summarise(args: argparse.Namespace, run: dict, rows: Counter, ledger_fallbacks: int) -> dict:
    results = run["results"]
    measured = [r for r in results if r["phase"] == "run"]
    ids = Counter(r["request_id"] for r in results if r["request_id"])
    missing = sum(1 for rid in ids if rid not in rows)
    doubled = sum(1 for rid in ids if rows.get(rid, 0) > 1)
    extra = sum(1 for rid in rows if rid not in ids)
    start, end = run["rss_start"], run["rss_end"]
    return {
        "config": {k: v for k, v in vars(args).items() if k not in ("json", "database_url")},  # it may hold a password
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "sent": len(results), "sent_measured": len(measured), "warmup_sent": len(results) - len(measured),
        "served": sum(1 for r in results if r["status"]), "served_measured": sum(1 for r in measured if r["status"]),
        "achieved_rate": round(len(measured) / run["send_span_s"], 2) if run["send_span_s"] > 0 else None,
        "client_lag_p99_ms": _pct([r["lag_ms"] for r in measured], 0.99),
        "client_lag_max_ms": max((r["lag_ms"] for r in measured), default=None),
        "by_status": dict(sorted(Counter(str(r["status"]) for r in measured).items())),
        "by_class": {c: dict(Counter("ok" if r["cause"] is None else "error" for r in measured if r["cls"] == c))
                     for c in ("clean", "chain", "faults")},
        "errors_by_cause": dict(Counter(r["cause"] for r in measured if r["cause"]).most_common()),
        "errors_by_class_and_cause": {c: dict(Counter(r["cause"] for r in measured
                                                      if r["cls"] == c and r["cause"]).most_common())
                                      for c in ("clean", "chain", "faults")},
        "faults_sent": dict(Counter(r["fault"] for r in measured if r["fault"]).most_common()),
        "fallbacks": {"responses": sum(r["fallback_depth"] > 0 for r in measured),
                      "chain_responses": sum(r["fallback_depth"] > 0 for r in measured if r["cls"] == "chain"),
                      "ledger_rows_all_phases": ledger_fallbacks},
        "latency_ms": {"p50": _pct([r["latency_ms"] for r in measured if r["status"]], 0.5),
                       "p99": _pct([r["latency_ms"] for r in measured if r["status"]], 0.99)},
        "ledger": {"responses_with_request_id": sum(ids.values()), "distinct_request_ids": len(ids),
                   "rows": sum(rows.values()), "missing": missing, "doubled": doubled, "extra": extra,
                   "responses_without_request_id": sum(1 for r in results if not r["request_id"]),
                   "missing_sample": sorted(rid for rid in ids if rid not in rows)[:20],
                   "match": missing == 0 and doubled == 0 and extra == 0 and sum(rows.values()) == sum(ids.values())},
        "memory": {"start": start, "end": end,
                   "proxy_growth_pct": growth(start["proxy_mb"], end["proxy_mb"]),
                   "flusher_growth_pct": growth(start["flusher_mb"], end["flusher_mb"]),
                   "flusher_restarted": start["flusher_pid"] != end["flusher_pid"]},
        "per_bucket": per_bucket(measured, run["samples"], args.bucket_s, end),
        "memory_samples": run["samples"],
    }


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None or value != value else format(value, spec)


def print_report(s: dict) -> None:
    print(f"\nsoak: {s['config']['rate']} req/s for {s['config']['duration']} s after a {s['config']['warmup']} s "
          f"warm-up; {s['machine']}")
    print("| from s | sent  | ok    | errors | fallbacks | p50 ms  | p99 ms   | clean p50 | clean p99 | proxy MB | flusher MB |")
    print("|--------|-------|-------|--------|-----------|---------|----------|-----------|-----------|----------|------------|")
    for b in s["per_bucket"]:
        print(f"| {b['from_s']:>6.0f} | {b['sent']:>5} | {b['ok']:>5} | {b['errors']:>6} | {b['fallbacks']:>9} "
              f"| {fmt(b['p50_ms']):>7} | {fmt(b['p99_ms']):>8} | {fmt(b['clean_p50_ms']):>9} "
              f"| {fmt(b['clean_p99_ms']):>9} | {fmt(b['proxy_mb']):>8} | {fmt(b['flusher_mb']):>10} |")
    led, mem = s["ledger"], s["memory"]
    print(f"\nsent {s['sent_measured']} (+{s['warmup_sent']} warm-up), served {s['served_measured']}; "
          f"achieved {s['achieved_rate']} req/s, client lag p99 {fmt(s['client_lag_p99_ms'])} ms")
    print(f"answers by status: {s['by_status']}")
    print(f"by class: {s['by_class']}")
    print(f"errors by cause: {s['errors_by_cause']}")
    for cls, causes in s["errors_by_class_and_cause"].items():
        if causes:
            print(f"  {cls}: {causes}")
    print(f"header faults sent: {s['faults_sent']}")
    fb = s["fallbacks"]
    print(f"fallbacks: {fb['responses']} responses ({fb['chain_responses']} on the chain), "
          f"{fb['ledger_rows_all_phases']} ledger rows with fallback_depth > 0 (warm-up included)")
    print(f"ledger: {led['rows']} rows for {led['responses_with_request_id']} responses with a request id "
          f"(warm-up included): missing {led['missing']}, doubled {led['doubled']}, extra {led['extra']} "
          f"-> {'MATCH' if led['match'] else 'MISMATCH'}")
    if led["missing_sample"]:
        print(f"  missing, e.g.: {', '.join(led['missing_sample'][:5])}")
    log = s.get("proxy_log") or {}
    print(f"proxy log: {log.get('lines', 0)} lines {log.get('by_level', {})}")
    for line in log.get("problems", []):
        print(f"  {line[:300]}")
    print(f"RSS proxy {fmt(mem['start']['proxy_mb'])} -> {fmt(mem['end']['proxy_mb'])} MB "
          f"({fmt(mem['proxy_growth_pct'], '+.1f')}%), flusher {fmt(mem['start']['flusher_mb'])} -> "
          f"{fmt(mem['end']['flusher_mb'])} MB ({fmt(mem['flusher_growth_pct'], '+.1f')}%)"
          + ("; the flusher was restarted" if mem["flusher_restarted"] else ""))


def verdict(s: dict, max_growth: float) -> int:
    mem = s["memory"]
    grew = [g for g in (mem["proxy_growth_pct"], mem["flusher_growth_pct"]) if g is None or g >= max_growth]
    if not s["ledger"]["match"] or grew or mem["flusher_restarted"]:
        return 1
    return 0
