"""The gradual, measured, reversible migration of platform features to OpenRouter.

Pure (no I/O, tested on literal data):
    bucketing    deterministic arm assignment: sha256(feature, user) -> 0..9999 < rollout bp
    stats        Welch's t-test, two-proportion z-test, percentiles (standard library only)
    arms         one arm's figures (requests, errors, latency, ttft, p95, cost, quality)
    experiments  the comparison of the arms and the verdict (winner only when significant)
    guardrails   limits (absolute or vs control) and the breach decision
Over SQLAlchemy Core, in the caller's transaction:
    registry     features: register, update, rollout / pause / resume / rollback (audited)
    exposures    assignments served, quality feedback, per-arm figures from the ledger
    evaluation   experiment_report(conn, name, now), evaluate_guardrails(conn, now)
    audit        the append-only migration_audit trail
    legacy       migrate_legacy(conn, source): legacy configs and usage, with counts and checksums
"""
