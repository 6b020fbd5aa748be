-- mv_cost_daily read from mv_usage_daily_by_model instead of scanning usage_ledger.
--
-- Its ledger figures per UTC day x model x provider (requests, cost_usd, cost_estimated_usd,
-- spend_usd, cost_unknown, with '' for an unknown model or provider) are exactly
-- mv_usage_daily_by_model's summed over the status classes: the same day buckets, the same
-- sentinels, the same sums. Reading the rollup (tens of thousands of rows) instead of the
-- ledger (10 M rows in the benchmark) takes one full scan of the ledger out of every refresh
-- run. The refresh flow refreshes views in dependency order (minerva_core/views.py), so this
-- view is refreshed after mv_usage_daily and mv_usage_daily_by_model in the same run.
-- Everything else (reconciliation coverage, items, the columns, the unique index) is as
-- defined in 20261128002000_analytics_views.sql.
--
-- The view is made populated at once when its source is (so an upgrade does not leave the
-- cost analytics unready until the next refresh); otherwise the refresh flow populates it.

DROP MATERIALIZED VIEW mv_cost_daily;

CREATE MATERIALIZED VIEW mv_cost_daily AS
WITH ledger AS (  -- the ledger's figures per day x model x provider, from the usage rollup
    SELECT day, model_used AS model, provider_name,
           sum(requests)::bigint                  AS requests,
           sum(cost_usd)                          AS cost_usd,
           sum(cost_estimated_usd)                AS cost_estimated_usd,
           sum(spend_usd)                         AS spend_usd,
           sum(cost_unknown)::bigint              AS cost_unknown
      FROM mv_usage_daily_by_model
     GROUP BY day, model_used, provider_name
), covered AS (
    SELECT DISTINCT ON (g.d0) g.d0::date AS day, r.id AS run_id
      FROM reconciliation_runs r
     CROSS JOIN LATERAL generate_series(
               ((r.period_from AT TIME ZONE 'UTC') + interval '1 day' - interval '1 microsecond')::date::timestamp,
               ((r.period_to AT TIME ZONE 'UTC')::date - 1)::timestamp,
               interval '1 day') AS g(d0)
     WHERE r.status = 'succeeded'
     ORDER BY g.d0, r.finished_at DESC, r.started_at DESC, r.id
), items AS (
    SELECT i.day,
           coalesce(i.model, '')                                                  AS model,
           coalesce(i.provider_name, '')                                          AS provider_name,
           coalesce(sum(i.bill_amount_usd), 0)::numeric                           AS billed_usd,
           coalesce(sum(i.bill_amount_usd) FILTER (WHERE i.classification = 'matched'), 0)::numeric
                                                                                  AS matched_usd,
           coalesce(sum(abs(i.delta_usd)) FILTER (WHERE i.classification <> 'matched'), 0)::numeric
                                                                                  AS mismatched_usd,
           coalesce(sum(i.delta_usd), 0)::numeric                                 AS delta_usd,
           count(*)                                                               AS items,
           count(*) FILTER (WHERE i.classification <> 'matched')                  AS discrepancies
      FROM reconciliation_items i
      JOIN covered c ON c.run_id = i.run_id AND c.day = i.day
     GROUP BY 1, 2, 3
)
SELECT coalesce(l.day, it.day)                         AS day,
       coalesce(l.model, it.model)                     AS model,
       coalesce(l.provider_name, it.provider_name)     AS provider_name,
       coalesce(l.requests, 0)                         AS requests,
       coalesce(l.cost_usd, 0)                         AS cost_usd,
       coalesce(l.cost_estimated_usd, 0)               AS cost_estimated_usd,
       coalesce(l.spend_usd, 0)                        AS spend_usd,
       coalesce(l.cost_unknown, 0)                     AS cost_unknown,
       c.run_id IS NOT NULL                            AS reconciled,
       c.run_id                                        AS reconciliation_run_id,
       coalesce(it.billed_usd, 0)                      AS billed_usd,
       coalesce(it.matched_usd, 0)                     AS matched_usd,
       coalesce(it.mismatched_usd, 0)                  AS mismatched_usd,
       coalesce(it.delta_usd, 0)                       AS delta_usd,
       coalesce(it.items, 0)                           AS items,
       coalesce(it.discrepancies, 0)                   AS discrepancies,
       CASE WHEN it.billed_usd <> 0 THEN it.matched_usd / it.billed_usd END AS accuracy
  FROM ledger l
  FULL JOIN items it ON it.day = l.day AND it.model = l.model AND it.provider_name = l.provider_name
  LEFT JOIN covered c ON c.day = coalesce(l.day, it.day)
WITH NO DATA;
COMMENT ON MATERIALIZED VIEW mv_cost_daily IS
    'Spend per UTC day x model_used x provider with its reconciliation status (reconciled = a '
    'succeeded run covers the whole day; amounts from that run''s items). Sentinel '''' for an '
    'unknown model or provider.';
CREATE UNIQUE INDEX mv_cost_daily_key ON mv_cost_daily (day, model, provider_name);

DO $$
BEGIN
    IF (SELECT ispopulated FROM pg_matviews
         WHERE schemaname = current_schema() AND matviewname = 'mv_usage_daily_by_model') THEN
        REFRESH MATERIALIZED VIEW mv_cost_daily;
    END IF;
END
$$;
