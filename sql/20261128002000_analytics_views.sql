-- Analytics rollups: the materialized views the analytics API, the dashboards and the proxy's
-- health figures read. Nothing that answers an analytics request scans usage_ledger.
--
-- Refreshed by the refresh flow (flows/refresh.py, every 5 minutes): REFRESH MATERIALIZED VIEW
-- CONCURRENTLY on each mv_* view, so each needs a UNIQUE index over plain columns covering
-- every row. Nullable grouping columns are therefore mapped to sentinels inside the views and
-- back to NULL by the queries (minerva_core/analytics):
--     api_key_id  NULL -> '00000000-0000-0000-0000-000000000000'
--     app, model_used/model, provider_name  NULL -> ''
--
-- Time is UTC everywhere, whatever the session's TimeZone: hours and days are
-- date_bin(width, created_at, '2000-01-01 00:00+00'), plain integer arithmetic on the instant
-- (cheap per ledger row, unlike AT TIME ZONE), and a day becomes a date only after the
-- aggregation, on the few rolled-up rows. For the same reason the inner aggregates group by
-- the raw (nullable) columns and the sentinels are applied outside, once per group.
--
-- Status classes (the views group by class, not by the five statuses, to keep row counts
-- low; the kinds inside a class are counted in columns):
--     ok         status ok
--     error      status error, timeout, rate_limited (timeouts / rate_limited counted apart)
--     cancelled  status cancelled (the client went away: not the model's fault)
--
-- Refresh cost, and why the windows are what they are (measured by bench/analytics_10m.py):
--   * mv_usage_hourly keeps only the recent window: hours from analytics_hourly_since(now()),
--     i.e. from UTC midnight 35 days before the refresh. Hourly buckets older than a month
--     are rarely wanted, and at one row per hour x key x app x model x provider x class an
--     all-history hourly view would grow without bound and be rebuilt every 5 minutes. The
--     WHERE on created_at lets the planner prune to the last two monthly partitions at
--     executor start. The API refuses bucket=hour before analytics_hourly_since(now()) (400);
--     that bound only moves forward, so every hour it allows is in the view.
--   * mv_usage_daily and mv_cost_daily cover all history: week and month buckets roll up from
--     days, budgets and cost reports need whole months and more. Their refresh reads the whole
--     ledger: the cost grows linearly with history (about 10 M rows in a few seconds on two
--     cores, see the bench). When history outgrows that, the remedy is to freeze closed
--     months into a plain rollup table once (the rows of a closed month no longer change: the
--     cost backfill touches recent rows only) and keep these views over the open months
--     only, behind a UNION ALL view; not needed at the volumes measured.
--   * mv_model_performance reads the last 14 days (two weeks: this week and the previous one
--     for trends), pruned to at most two partitions.

-- The first instant mv_usage_hourly holds when refreshed at `at`: UTC midnight 35 days before.
CREATE FUNCTION analytics_hourly_since(at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT date_trunc('day', at - interval '35 days', 'UTC')
$$;
COMMENT ON FUNCTION analytics_hourly_since(timestamptz) IS
    'Start of mv_usage_hourly''s window when refreshed at `at` (UTC midnight, 35 days before). '
    'The analytics API calls it with now() to bound bucket=hour requests.';

CREATE FUNCTION analytics_status_class(status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status WHEN 'ok' THEN 'ok' WHEN 'cancelled' THEN 'cancelled' ELSE 'error' END
$$;
COMMENT ON FUNCTION analytics_status_class(text) IS
    'usage_ledger.status -> ok | error (error, timeout, rate_limited) | cancelled.';

-- ---------------------------------------------------------------------------------------
-- mv_usage_hourly / mv_usage_daily: usage per bucket x key x app x model x provider x class.
-- Every measure is additive (sums and counts; averages are sum / count at query time), so
-- any grouping of the five dimensions and any coarser bucket (week, month from days) is a
-- plain SUM over these rows.
--   cost_usd            sum of the upstream charges known so far (0 when none known)
--   cost_estimated_usd  sum of Minerva's own estimates (0 when none)
--   spend_usd           sum of coalesce(cost_usd, cost_estimated_usd): what budgets count
--   cost_unknown        requests whose upstream charge (cost_usd) is still NULL
--   latency_ms_sum / latency_count, ttft_ms_sum / ttft_count: for averages over the requests
--   that recorded one (any status)
-- ---------------------------------------------------------------------------------------
CREATE MATERIALIZED VIEW mv_usage_hourly AS
SELECT r.bucket_start,
       coalesce(r.api_key_id, '00000000-0000-0000-0000-000000000000'::uuid) AS api_key_id,
       coalesce(r.app, '')                                                  AS app,
       coalesce(r.model_used, '')                                           AS model_used,
       coalesce(r.provider_name, '')                                        AS provider_name,
       r.status_class, r.requests, r.timeouts, r.rate_limited,
       r.prompt_tokens, r.completion_tokens, r.reasoning_tokens, r.cached_tokens, r.cache_write_tokens,
       r.cost_usd, r.cost_estimated_usd, r.spend_usd, r.cost_unknown, r.fallbacks, r.streamed,
       r.latency_ms_sum, r.latency_count, r.ttft_ms_sum, r.ttft_count
  FROM (SELECT date_bin('1 hour', l.created_at, '2000-01-01 00:00+00') AS bucket_start,
               l.api_key_id, l.app, l.model_used, l.provider_name,
               analytics_status_class(l.status) AS status_class,
       count(*)                                                              AS requests,
       count(*) FILTER (WHERE l.status = 'timeout')                          AS timeouts,
       count(*) FILTER (WHERE l.status = 'rate_limited')                     AS rate_limited,
       sum(l.prompt_tokens)::bigint                                          AS prompt_tokens,
       sum(l.completion_tokens)::bigint                                      AS completion_tokens,
       sum(l.reasoning_tokens)::bigint                                       AS reasoning_tokens,
       sum(l.cached_tokens)::bigint                                          AS cached_tokens,
       sum(l.cache_write_tokens)::bigint                                     AS cache_write_tokens,
       coalesce(sum(l.cost_usd), 0)::numeric                                 AS cost_usd,
       coalesce(sum(l.cost_estimated_usd), 0)::numeric                       AS cost_estimated_usd,
       coalesce(sum(coalesce(l.cost_usd, l.cost_estimated_usd)), 0)::numeric AS spend_usd,
       count(*) FILTER (WHERE l.cost_usd IS NULL)                            AS cost_unknown,
       count(*) FILTER (WHERE l.fallback_depth > 0)                          AS fallbacks,
       count(*) FILTER (WHERE l.streamed)                                    AS streamed,
       coalesce(sum(l.latency_ms), 0)::bigint                                AS latency_ms_sum,
       count(l.latency_ms)                                                   AS latency_count,
       coalesce(sum(l.ttft_ms), 0)::bigint                                   AS ttft_ms_sum,
       count(l.ttft_ms)                                                      AS ttft_count
          FROM usage_ledger l
         WHERE l.created_at >= analytics_hourly_since(now())
         GROUP BY 1, 2, 3, 4, 5, 6) r
WITH NO DATA;
COMMENT ON MATERIALIZED VIEW mv_usage_hourly IS
    'Usage per UTC hour x api key x app x model_used x provider x status class, for the hours '
    'since analytics_hourly_since(refresh time) only. Sentinels: no key = 00000000-..., '
    'unknown app/model/provider = ''''.';
CREATE UNIQUE INDEX mv_usage_hourly_key
    ON mv_usage_hourly (bucket_start, api_key_id, app, model_used, provider_name, status_class);

CREATE MATERIALIZED VIEW mv_usage_daily AS
SELECT (r.day_start AT TIME ZONE 'UTC')::date                                AS day,
       date_trunc('week', r.day_start AT TIME ZONE 'UTC')::date             AS week_start,
       date_trunc('month', r.day_start AT TIME ZONE 'UTC')::date            AS month_start,
       coalesce(r.api_key_id, '00000000-0000-0000-0000-000000000000'::uuid) AS api_key_id,
       coalesce(r.app, '')                                                  AS app,
       coalesce(r.model_used, '')                                           AS model_used,
       coalesce(r.provider_name, '')                                        AS provider_name,
       r.status_class, r.requests, r.timeouts, r.rate_limited,
       r.prompt_tokens, r.completion_tokens, r.reasoning_tokens, r.cached_tokens, r.cache_write_tokens,
       r.cost_usd, r.cost_estimated_usd, r.spend_usd, r.cost_unknown, r.fallbacks, r.streamed,
       r.latency_ms_sum, r.latency_count, r.ttft_ms_sum, r.ttft_count
  FROM (SELECT date_bin('1 day', l.created_at, '2000-01-01 00:00+00') AS day_start,
               l.api_key_id, l.app, l.model_used, l.provider_name,
               analytics_status_class(l.status) AS status_class,
       count(*)                                                              AS requests,
       count(*) FILTER (WHERE l.status = 'timeout')                          AS timeouts,
       count(*) FILTER (WHERE l.status = 'rate_limited')                     AS rate_limited,
       sum(l.prompt_tokens)::bigint                                          AS prompt_tokens,
       sum(l.completion_tokens)::bigint                                      AS completion_tokens,
       sum(l.reasoning_tokens)::bigint                                       AS reasoning_tokens,
       sum(l.cached_tokens)::bigint                                          AS cached_tokens,
       sum(l.cache_write_tokens)::bigint                                     AS cache_write_tokens,
       coalesce(sum(l.cost_usd), 0)::numeric                                 AS cost_usd,
       coalesce(sum(l.cost_estimated_usd), 0)::numeric                       AS cost_estimated_usd,
       coalesce(sum(coalesce(l.cost_usd, l.cost_estimated_usd)), 0)::numeric AS spend_usd,
       count(*) FILTER (WHERE l.cost_usd IS NULL)                            AS cost_unknown,
       count(*) FILTER (WHERE l.fallback_depth > 0)                          AS fallbacks,
       count(*) FILTER (WHERE l.streamed)                                    AS streamed,
       coalesce(sum(l.latency_ms), 0)::bigint                                AS latency_ms_sum,
       count(l.latency_ms)                                                   AS latency_count,
       coalesce(sum(l.ttft_ms), 0)::bigint                                   AS ttft_ms_sum,
       count(l.ttft_ms)                                                      AS ttft_count
          FROM usage_ledger l
         GROUP BY 1, 2, 3, 4, 5, 6) r
WITH NO DATA;
COMMENT ON MATERIALIZED VIEW mv_usage_daily IS
    'Usage per UTC day x api key x app x model_used x provider x status class, all history. '
    'week_start (ISO week, Monday) and month_start are the day''s week and month, so weeks '
    'and months roll up from it. Same measures and sentinels as mv_usage_hourly.';
CREATE UNIQUE INDEX mv_usage_daily_key
    ON mv_usage_daily (day, api_key_id, app, model_used, provider_name, status_class);

-- ---------------------------------------------------------------------------------------
-- Coarser rollups of the two usage views, for the common questions that do not need all five
-- dimensions (aggregate navigation: analytics/usage reads the smallest view holding every
-- dimension it groups or filters by). They are derived from mv_usage_daily/_hourly, not from
-- the ledger: the refresh flow refreshes views in name order, and these names sort right
-- after their source, so each refresh reads its source as just refreshed in the same run.
--   _by_model  bucket x model x provider x status class (no key, no app)
--   _by_key    bucket x api key x app x status class      (no model, no provider)
-- At 10 M rows / 90 days they are 10-20x smaller than their source (bench/analytics_10m.py).
-- ---------------------------------------------------------------------------------------
CREATE MATERIALIZED VIEW mv_usage_daily_by_key AS
SELECT day, week_start, month_start, api_key_id, app, status_class,
       sum(requests)::bigint AS requests, sum(timeouts)::bigint AS timeouts,
       sum(rate_limited)::bigint AS rate_limited, sum(prompt_tokens)::bigint AS prompt_tokens,
       sum(completion_tokens)::bigint AS completion_tokens,
       sum(reasoning_tokens)::bigint AS reasoning_tokens,
       sum(cached_tokens)::bigint AS cached_tokens,
       sum(cache_write_tokens)::bigint AS cache_write_tokens, sum(cost_usd) AS cost_usd,
       sum(cost_estimated_usd) AS cost_estimated_usd, sum(spend_usd) AS spend_usd,
       sum(cost_unknown)::bigint AS cost_unknown, sum(fallbacks)::bigint AS fallbacks,
       sum(streamed)::bigint AS streamed, sum(latency_ms_sum)::bigint AS latency_ms_sum,
       sum(latency_count)::bigint AS latency_count, sum(ttft_ms_sum)::bigint AS ttft_ms_sum,
       sum(ttft_count)::bigint AS ttft_count
  FROM mv_usage_daily
 GROUP BY day, week_start, month_start, api_key_id, app, status_class
WITH NO DATA;
COMMENT ON MATERIALIZED VIEW mv_usage_daily_by_key IS
    'mv_usage_daily summed over model and provider (per day x key x app x status class).';
CREATE UNIQUE INDEX mv_usage_daily_by_key_key
    ON mv_usage_daily_by_key (day, api_key_id, app, status_class);

CREATE MATERIALIZED VIEW mv_usage_daily_by_model AS
SELECT day, week_start, month_start, model_used, provider_name, status_class,
       sum(requests)::bigint AS requests, sum(timeouts)::bigint AS timeouts,
       sum(rate_limited)::bigint AS rate_limited, sum(prompt_tokens)::bigint AS prompt_tokens,
       sum(completion_tokens)::bigint AS completion_tokens,
       sum(reasoning_tokens)::bigint AS reasoning_tokens,
       sum(cached_tokens)::bigint AS cached_tokens,
       sum(cache_write_tokens)::bigint AS cache_write_tokens, sum(cost_usd) AS cost_usd,
       sum(cost_estimated_usd) AS cost_estimated_usd, sum(spend_usd) AS spend_usd,
       sum(cost_unknown)::bigint AS cost_unknown, sum(fallbacks)::bigint AS fallbacks,
       sum(streamed)::bigint AS streamed, sum(latency_ms_sum)::bigint AS latency_ms_sum,
       sum(latency_count)::bigint AS latency_count, sum(ttft_ms_sum)::bigint AS ttft_ms_sum,
       sum(ttft_count)::bigint AS ttft_count
  FROM mv_usage_daily
 GROUP BY day, week_start, month_start, model_used, provider_name, status_class
WITH NO DATA;
COMMENT ON MATERIALIZED VIEW mv_usage_daily_by_model IS
    'mv_usage_daily summed over key and app (per day x model x provider x status class).';
CREATE UNIQUE INDEX mv_usage_daily_by_model_key
    ON mv_usage_daily_by_model (day, model_used, provider_name, status_class);

CREATE MATERIALIZED VIEW mv_usage_hourly_by_key AS
SELECT bucket_start, api_key_id, app, status_class,
       sum(requests)::bigint AS requests, sum(timeouts)::bigint AS timeouts,
       sum(rate_limited)::bigint AS rate_limited, sum(prompt_tokens)::bigint AS prompt_tokens,
       sum(completion_tokens)::bigint AS completion_tokens,
       sum(reasoning_tokens)::bigint AS reasoning_tokens,
       sum(cached_tokens)::bigint AS cached_tokens,
       sum(cache_write_tokens)::bigint AS cache_write_tokens, sum(cost_usd) AS cost_usd,
       sum(cost_estimated_usd) AS cost_estimated_usd, sum(spend_usd) AS spend_usd,
       sum(cost_unknown)::bigint AS cost_unknown, sum(fallbacks)::bigint AS fallbacks,
       sum(streamed)::bigint AS streamed, sum(latency_ms_sum)::bigint AS latency_ms_sum,
       sum(latency_count)::bigint AS latency_count, sum(ttft_ms_sum)::bigint AS ttft_ms_sum,
       sum(ttft_count)::bigint AS ttft_count
  FROM mv_usage_hourly
 GROUP BY bucket_start, api_key_id, app, status_class
WITH NO DATA;
COMMENT ON MATERIALIZED VIEW mv_usage_hourly_by_key IS
    'mv_usage_hourly summed over model and provider (per hour x key x app x status class).';
CREATE UNIQUE INDEX mv_usage_hourly_by_key_key
    ON mv_usage_hourly_by_key (bucket_start, api_key_id, app, status_class);

CREATE MATERIALIZED VIEW mv_usage_hourly_by_model AS
SELECT bucket_start, model_used, provider_name, status_class,
       sum(requests)::bigint AS requests, sum(timeouts)::bigint AS timeouts,
       sum(rate_limited)::bigint AS rate_limited, sum(prompt_tokens)::bigint AS prompt_tokens,
       sum(completion_tokens)::bigint AS completion_tokens,
       sum(reasoning_tokens)::bigint AS reasoning_tokens,
       sum(cached_tokens)::bigint AS cached_tokens,
       sum(cache_write_tokens)::bigint AS cache_write_tokens, sum(cost_usd) AS cost_usd,
       sum(cost_estimated_usd) AS cost_estimated_usd, sum(spend_usd) AS spend_usd,
       sum(cost_unknown)::bigint AS cost_unknown, sum(fallbacks)::bigint AS fallbacks,
       sum(streamed)::bigint AS streamed, sum(latency_ms_sum)::bigint AS latency_ms_sum,
       sum(latency_count)::bigint AS latency_count, sum(ttft_ms_sum)::bigint AS ttft_ms_sum,
       sum(ttft_count)::bigint AS ttft_count
  FROM mv_usage_hourly
 GROUP BY bucket_start, model_used, provider_name, status_class
WITH NO DATA;
COMMENT ON MATERIALIZED VIEW mv_usage_hourly_by_model IS
    'mv_usage_hourly summed over key and app (per hour x model x provider x status class).';
CREATE UNIQUE INDEX mv_usage_hourly_by_model_key
    ON mv_usage_hourly_by_model (bucket_start, model_used, provider_name, status_class);

-- ---------------------------------------------------------------------------------------
-- mv_cost_daily: spend per UTC day x model x provider, beside what reconciliation says of it.
-- A day is reconciled when a succeeded reconciliation run's [period_from, period_to) covers
-- the whole UTC day; when several do, the latest finished one speaks for it
-- (reconciliation_run_id), and its reconciliation_items of that day are summed per model and
-- provider:
--   billed_usd      sum of bill_amount_usd
--   matched_usd     bill_amount_usd of the items classified matched
--   mismatched_usd  sum of |delta_usd| (bill - ledger) over the items not matched
--   delta_usd       sum of delta_usd (net: positive = billed more than recorded)
--   accuracy        matched_usd / billed_usd (NULL when nothing was billed): the run's own
--                   definition, per group
-- Bill-only groups (missing_in_ledger) appear with zero ledger figures. Items without a day
-- cannot be placed and are left out.
-- ---------------------------------------------------------------------------------------
CREATE MATERIALIZED VIEW mv_cost_daily AS
WITH ledger AS (
    SELECT (r.day_start AT TIME ZONE 'UTC')::date AS day,
           coalesce(r.model_used, '') AS model,
           coalesce(r.provider_name, '') AS provider_name,
           r.requests, r.cost_usd, r.cost_estimated_usd, r.spend_usd, r.cost_unknown
      FROM (SELECT date_bin('1 day', l.created_at, '2000-01-01 00:00+00') AS day_start,
                   l.model_used, l.provider_name,
                   count(*)                                                              AS requests,
                   coalesce(sum(l.cost_usd), 0)::numeric                                 AS cost_usd,
                   coalesce(sum(l.cost_estimated_usd), 0)::numeric                       AS cost_estimated_usd,
                   coalesce(sum(coalesce(l.cost_usd, l.cost_estimated_usd)), 0)::numeric AS spend_usd,
                   count(*) FILTER (WHERE l.cost_usd IS NULL)                            AS cost_unknown
              FROM usage_ledger l
             GROUP BY 1, 2, 3) r
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

-- ---------------------------------------------------------------------------------------
-- mv_model_performance: per window x model_used x provider over fixed windows ending at the
-- refresh: last_hour, last_day, last_week and, for trends, the period of the same length
-- just before each (prev_hour, prev_day, prev_week). provider_name '*' rows roll every
-- provider of a model together (what the router's ModelHealth is per model).
--   requests, errors (class error), cancelled, fallbacks: counts over every request
--   latency / ttft percentiles (percentile_cont): over ok requests that recorded one
--   timed_completion_tokens / generation_ms: completion tokens and sum(latency - ttft) over
--   ok requests with both figures and latency > ttft: throughput = tokens / (ms / 1000)
-- ---------------------------------------------------------------------------------------
CREATE MATERIALIZED VIEW mv_model_performance AS
WITH windows (window_name, window_start, window_end) AS (
    VALUES ('last_hour', now() - interval '1 hour',  now()),
           ('prev_hour', now() - interval '2 hours', now() - interval '1 hour'),
           ('last_day',  now() - interval '1 day',   now()),
           ('prev_day',  now() - interval '2 days',  now() - interval '1 day'),
           ('last_week', now() - interval '7 days',  now()),
           ('prev_week', now() - interval '14 days', now() - interval '7 days')
), recent AS (
    SELECT w.window_name, w.window_start, w.window_end,
           coalesce(l.model_used, '') AS model_used,
           coalesce(l.provider_name, '') AS provider_name,
           analytics_status_class(l.status) AS status_class,
           l.status, l.latency_ms, l.ttft_ms, l.fallback_depth, l.streamed,
           l.prompt_tokens, l.completion_tokens, l.reasoning_tokens,
           l.cost_usd, l.cost_estimated_usd
      FROM usage_ledger l
      JOIN windows w ON l.created_at >= w.window_start AND l.created_at < w.window_end
     WHERE l.created_at >= now() - interval '14 days'
), grouped AS (
    SELECT window_name, min(window_start) AS window_start, min(window_end) AS window_end,
           model_used,
           CASE WHEN grouping(provider_name) = 1 THEN '*' ELSE provider_name END AS provider_name,
           count(*)                                                    AS requests,
           count(*) FILTER (WHERE status_class = 'error')              AS errors,
           count(*) FILTER (WHERE status_class = 'cancelled')          AS cancelled,
           count(*) FILTER (WHERE fallback_depth > 0)                  AS fallbacks,
           count(*) FILTER (WHERE streamed)                            AS streamed,
           sum(prompt_tokens)::bigint                                  AS prompt_tokens,
           sum(completion_tokens)::bigint                              AS completion_tokens,
           sum(reasoning_tokens)::bigint                               AS reasoning_tokens,
           coalesce(sum(cost_usd), 0)::numeric                         AS cost_usd,
           coalesce(sum(cost_estimated_usd), 0)::numeric               AS cost_estimated_usd,
           coalesce(sum(coalesce(cost_usd, cost_estimated_usd)), 0)::numeric AS spend_usd,
           count(*) FILTER (WHERE cost_usd IS NULL)                    AS cost_unknown,
           count(latency_ms) FILTER (WHERE status = 'ok')              AS latency_count,
           percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY latency_ms)
               FILTER (WHERE status = 'ok')                            AS latency_pcts,
           count(ttft_ms) FILTER (WHERE status = 'ok')                 AS ttft_count,
           percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY ttft_ms)
               FILTER (WHERE status = 'ok')                            AS ttft_pcts,
           coalesce(sum(completion_tokens) FILTER (WHERE status = 'ok' AND latency_ms > ttft_ms), 0)::bigint
                                                                       AS timed_completion_tokens,
           coalesce(sum(latency_ms - ttft_ms) FILTER (WHERE status = 'ok' AND latency_ms > ttft_ms), 0)::bigint
                                                                       AS generation_ms
      FROM recent
     GROUP BY GROUPING SETS ((window_name, model_used, provider_name), (window_name, model_used))
)
SELECT window_name, window_start, window_end, model_used, provider_name,
       requests, errors, cancelled, fallbacks, streamed,
       prompt_tokens, completion_tokens, reasoning_tokens,
       cost_usd, cost_estimated_usd, spend_usd, cost_unknown,
       latency_count,
       latency_pcts[1] AS p50_latency_ms, latency_pcts[2] AS p95_latency_ms, latency_pcts[3] AS p99_latency_ms,
       ttft_count,
       ttft_pcts[1] AS p50_ttft_ms, ttft_pcts[2] AS p95_ttft_ms, ttft_pcts[3] AS p99_ttft_ms,
       timed_completion_tokens, generation_ms
  FROM grouped
WITH NO DATA;
COMMENT ON MATERIALIZED VIEW mv_model_performance IS
    'Latency/TTFT percentiles (ok requests), error and fallback counts, tokens and cost per '
    'window (last_/prev_ hour, day, week, ending at the refresh) x model_used x provider; '
    'provider_name ''*'' = all providers of the model. Read by the proxy as model health.';
CREATE UNIQUE INDEX mv_model_performance_key
    ON mv_model_performance (window_name, model_used, provider_name);
