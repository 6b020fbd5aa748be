-- Closed days frozen into tables, so a refresh run no longer reads the whole ledger.
--
-- mv_usage_daily and mv_savings_daily covered all history and were rebuilt from every ledger
-- row on each refresh: their cost grew with history (about 30 s and 20 s of a 105 s run at
-- 10 M rows, bench/analytics_10m.py). The rows of a day a week old no longer change (the
-- cost backfill looks back 72 hours; the proxy's spool is replayed as soon as the database
-- is back). Such days are now rolled up once, by freeze_daily_rollups(upto), into plain
-- tables with the views' own columns and figures, and
--     mv_usage_daily    = the frozen days (usage_daily_frozen)
--                       + the ledger's days between the frozen ones and the hourly window
--                         (none normally; some after a long pause of the refresh flow)
--                       + mv_usage_hourly's hours rolled up to days, from the later of the
--                         first unfrozen day and the start of the hourly window
--     mv_savings_daily  = the frozen days (savings_daily_frozen)
--                       + the ledger from the first unfrozen day (partition pruning at
--                         executor start and the created_at index read about a week)
-- so a refresh run reads the ledger for recent windows only (mv_usage_hourly's 35 days,
-- mv_savings_daily's open week, mv_model_performance's 14 days). The figures are the same
-- as before, day for day: each part is the same aggregate over the same rows, and hours sum
-- to their day exactly (every measure is a count or a sum).
--
-- rollup_frozen.through is the first day not frozen ('-infinity' until the first freeze:
-- the views then read the whole ledger, as before). Before refreshing the views, the
-- refresh flow calls freeze_daily_rollups(UTC today - 7 days) (minerva_core.views.
-- freeze_closed_days): in one transaction it rolls [through, upto) up and moves through to
-- upto. A ledger row written later for a frozen day (a spool replayed after more than a
-- week) does not reach these two views; the ledger, mv_usage_hourly, the reconciliation and
-- the optimisation CLI still read it.
--
-- mv_usage_daily is dropped with its dependents (mv_usage_daily_by_key, _by_model, and
-- mv_cost_daily, which reads _by_model since 20261128004100); they are recreated exactly as
-- defined there. Everything is created WITH NO DATA: the next refresh run populates them
-- (its first freeze, on a large ledger, reads that history once).

CREATE TABLE rollup_frozen (
    name      text PRIMARY KEY CHECK (name = 'daily'),
    through   date NOT NULL,
    frozen_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE rollup_frozen IS
    'The first UTC day whose daily rollups are not frozen (the days before it are in '
    'usage_daily_frozen and savings_daily_frozen); moved forward by freeze_daily_rollups().';
INSERT INTO rollup_frozen (name, through) VALUES ('daily', '-infinity');

CREATE FUNCTION rollup_frozen_through() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT through::timestamp AT TIME ZONE 'UTC' FROM rollup_frozen WHERE name = 'daily'
$$;
COMMENT ON FUNCTION rollup_frozen_through() IS
    'UTC midnight of the first unfrozen day (-infinity before the first freeze): where the views '
    'start reading the ledger.';

DROP MATERIALIZED VIEW mv_usage_daily CASCADE;  -- with _by_key, _by_model and mv_cost_daily
DROP MATERIALIZED VIEW mv_savings_daily;

CREATE TABLE usage_daily_frozen AS
SELECT day, week_start, month_start, api_key_id, app, model_used, provider_name, status_class,
       requests, timeouts, rate_limited, prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cache_write_tokens, cost_usd, cost_estimated_usd, spend_usd, cost_unknown, fallbacks, streamed, latency_ms_sum, latency_count, ttft_ms_sum, ttft_count
  FROM (SELECT (r.day_start AT TIME ZONE 'UTC')::date                                AS day,
       date_trunc('week', r.day_start AT TIME ZONE 'UTC')::date             AS week_start,
       date_trunc('month', r.day_start AT TIME ZONE 'UTC')::date            AS month_start,
       coalesce(r.api_key_id, '00000000-0000-0000-0000-000000000000'::uuid) AS api_key_id,
       coalesce(r.app, '')                                                  AS app,
       coalesce(r.model_used, '')                                           AS model_used,
       coalesce(r.provider_name, '')                                        AS provider_name,
       r.status_class, r.requests, r.timeouts, r.rate_limited, r.prompt_tokens, r.completion_tokens, r.reasoning_tokens, r.cached_tokens, r.cache_write_tokens, r.cost_usd, r.cost_estimated_usd, r.spend_usd, r.cost_unknown, r.fallbacks, r.streamed, r.latency_ms_sum, r.latency_count, r.ttft_ms_sum, r.ttft_count
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
         WHERE false
         GROUP BY 1, 2, 3, 4, 5, 6) r) x
WITH NO DATA;
ALTER TABLE usage_daily_frozen ADD PRIMARY KEY (day, api_key_id, app, model_used, provider_name, status_class);
COMMENT ON TABLE usage_daily_frozen IS
    'mv_usage_daily''s rows of the frozen days (before rollup_frozen.through), written once by '
    'freeze_daily_rollups().';

CREATE TABLE savings_daily_frozen AS
SELECT day, api_key_id, app, app_is_null, model_used, requests, uncharged_requests, actual_usd,
       prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cache_write_tokens, audio_tokens,
       image_count, web_search_count, max_context_tokens, max_prompt_tokens, max_completion_tokens
  FROM (SELECT (r.day_start AT TIME ZONE 'UTC')::date                                AS day,
       coalesce(r.api_key_id, '00000000-0000-0000-0000-000000000000'::uuid) AS api_key_id,
       coalesce(r.app, '')                                                  AS app,
       r.app IS NULL                                                        AS app_is_null,
       r.model_used,
       r.requests, r.uncharged_requests, r.actual_usd,
       r.prompt_tokens, r.completion_tokens, r.reasoning_tokens, r.cached_tokens,
       r.cache_write_tokens, r.audio_tokens, r.image_count, r.web_search_count,
       r.max_context_tokens, r.max_prompt_tokens, r.max_completion_tokens
  FROM (SELECT date_bin('1 day', l.created_at, '2000-01-01 00:00+00') AS day_start,
               l.api_key_id, l.app, l.model_used,
               count(*) FILTER (WHERE l.cost_usd IS NOT NULL)                          AS requests,
               count(*) FILTER (WHERE l.cost_usd IS NULL)                              AS uncharged_requests,
               coalesce(sum(l.cost_usd), 0)::numeric                                   AS actual_usd,
               coalesce(sum(l.prompt_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS prompt_tokens,
               coalesce(sum(l.completion_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS completion_tokens,
               coalesce(sum(l.reasoning_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS reasoning_tokens,
               coalesce(sum(l.cached_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS cached_tokens,
               coalesce(sum(l.cache_write_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS cache_write_tokens,
               coalesce(sum(l.audio_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS audio_tokens,
               coalesce(sum(l.image_count) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS image_count,
               coalesce(sum(l.web_search_count) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS web_search_count,
               coalesce(max(l.prompt_tokens + l.completion_tokens), 0)::bigint        AS max_context_tokens,
               coalesce(max(l.prompt_tokens), 0)::bigint                               AS max_prompt_tokens,
               coalesce(max(l.completion_tokens), 0)::bigint                           AS max_completion_tokens
          FROM usage_ledger l
         WHERE l.status = 'ok' AND l.model_used IS NOT NULL
           AND false
         GROUP BY 1, 2, 3, 4) r) x
WITH NO DATA;
ALTER TABLE savings_daily_frozen ADD PRIMARY KEY (day, api_key_id, app, app_is_null, model_used);
COMMENT ON TABLE savings_daily_frozen IS
    'mv_savings_daily''s rows of the frozen days (before rollup_frozen.through), written once by '
    'freeze_daily_rollups().';

CREATE FUNCTION freeze_daily_rollups(upto date) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    since date;
BEGIN
    SELECT through INTO since FROM rollup_frozen WHERE name = 'daily' FOR UPDATE;
    IF upto <= since THEN
        RETURN 0;
    END IF;
    INSERT INTO usage_daily_frozen (day, week_start, month_start, api_key_id, app, model_used, provider_name, status_class,
       requests, timeouts, rate_limited, prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cache_write_tokens, cost_usd, cost_estimated_usd, spend_usd, cost_unknown, fallbacks, streamed, latency_ms_sum, latency_count, ttft_ms_sum, ttft_count)
    SELECT (r.day_start AT TIME ZONE 'UTC')::date                                AS day,
       date_trunc('week', r.day_start AT TIME ZONE 'UTC')::date             AS week_start,
       date_trunc('month', r.day_start AT TIME ZONE 'UTC')::date            AS month_start,
       coalesce(r.api_key_id, '00000000-0000-0000-0000-000000000000'::uuid) AS api_key_id,
       coalesce(r.app, '')                                                  AS app,
       coalesce(r.model_used, '')                                           AS model_used,
       coalesce(r.provider_name, '')                                        AS provider_name,
       r.status_class, r.requests, r.timeouts, r.rate_limited, r.prompt_tokens, r.completion_tokens, r.reasoning_tokens, r.cached_tokens, r.cache_write_tokens, r.cost_usd, r.cost_estimated_usd, r.spend_usd, r.cost_unknown, r.fallbacks, r.streamed, r.latency_ms_sum, r.latency_count, r.ttft_ms_sum, r.ttft_count
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
         WHERE l.created_at >= (since::timestamp AT TIME ZONE 'UTC') AND l.created_at < (upto::timestamp AT TIME ZONE 'UTC')
         GROUP BY 1, 2, 3, 4, 5, 6) r;
    INSERT INTO savings_daily_frozen (day, api_key_id, app, app_is_null, model_used, requests, uncharged_requests, actual_usd,
       prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cache_write_tokens, audio_tokens,
       image_count, web_search_count, max_context_tokens, max_prompt_tokens, max_completion_tokens)
    SELECT (r.day_start AT TIME ZONE 'UTC')::date                                AS day,
       coalesce(r.api_key_id, '00000000-0000-0000-0000-000000000000'::uuid) AS api_key_id,
       coalesce(r.app, '')                                                  AS app,
       r.app IS NULL                                                        AS app_is_null,
       r.model_used,
       r.requests, r.uncharged_requests, r.actual_usd,
       r.prompt_tokens, r.completion_tokens, r.reasoning_tokens, r.cached_tokens,
       r.cache_write_tokens, r.audio_tokens, r.image_count, r.web_search_count,
       r.max_context_tokens, r.max_prompt_tokens, r.max_completion_tokens
  FROM (SELECT date_bin('1 day', l.created_at, '2000-01-01 00:00+00') AS day_start,
               l.api_key_id, l.app, l.model_used,
               count(*) FILTER (WHERE l.cost_usd IS NOT NULL)                          AS requests,
               count(*) FILTER (WHERE l.cost_usd IS NULL)                              AS uncharged_requests,
               coalesce(sum(l.cost_usd), 0)::numeric                                   AS actual_usd,
               coalesce(sum(l.prompt_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS prompt_tokens,
               coalesce(sum(l.completion_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS completion_tokens,
               coalesce(sum(l.reasoning_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS reasoning_tokens,
               coalesce(sum(l.cached_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS cached_tokens,
               coalesce(sum(l.cache_write_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS cache_write_tokens,
               coalesce(sum(l.audio_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS audio_tokens,
               coalesce(sum(l.image_count) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS image_count,
               coalesce(sum(l.web_search_count) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS web_search_count,
               coalesce(max(l.prompt_tokens + l.completion_tokens), 0)::bigint        AS max_context_tokens,
               coalesce(max(l.prompt_tokens), 0)::bigint                               AS max_prompt_tokens,
               coalesce(max(l.completion_tokens), 0)::bigint                           AS max_completion_tokens
          FROM usage_ledger l
         WHERE l.status = 'ok' AND l.model_used IS NOT NULL
           AND l.created_at >= (since::timestamp AT TIME ZONE 'UTC') AND l.created_at < (upto::timestamp AT TIME ZONE 'UTC')
         GROUP BY 1, 2, 3, 4) r;
    UPDATE rollup_frozen SET through = upto, frozen_at = now() WHERE name = 'daily';
    RETURN CASE WHEN since = '-infinity' THEN -1 ELSE upto - since END;
END
$fn$;
COMMENT ON FUNCTION freeze_daily_rollups(date) IS
    'Roll the days in [rollup_frozen.through, upto) up into usage_daily_frozen and '
    'savings_daily_frozen, and move through to upto. Returns the days frozen (-1: all history '
    'before upto, the first time; 0: nothing to do).';

CREATE MATERIALIZED VIEW mv_usage_daily AS
SELECT day, week_start, month_start, api_key_id, app, model_used, provider_name, status_class,
       requests, timeouts, rate_limited, prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cache_write_tokens, cost_usd, cost_estimated_usd, spend_usd, cost_unknown, fallbacks, streamed, latency_ms_sum, latency_count, ttft_ms_sum, ttft_count
  FROM usage_daily_frozen
UNION ALL
SELECT (r.day_start AT TIME ZONE 'UTC')::date                                AS day,
       date_trunc('week', r.day_start AT TIME ZONE 'UTC')::date             AS week_start,
       date_trunc('month', r.day_start AT TIME ZONE 'UTC')::date            AS month_start,
       coalesce(r.api_key_id, '00000000-0000-0000-0000-000000000000'::uuid) AS api_key_id,
       coalesce(r.app, '')                                                  AS app,
       coalesce(r.model_used, '')                                           AS model_used,
       coalesce(r.provider_name, '')                                        AS provider_name,
       r.status_class, r.requests, r.timeouts, r.rate_limited, r.prompt_tokens, r.completion_tokens, r.reasoning_tokens, r.cached_tokens, r.cache_write_tokens, r.cost_usd, r.cost_estimated_usd, r.spend_usd, r.cost_unknown, r.fallbacks, r.streamed, r.latency_ms_sum, r.latency_count, r.ttft_ms_sum, r.ttft_count
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
         WHERE l.created_at >= rollup_frozen_through() AND l.created_at < analytics_hourly_since(now())
           AND rollup_frozen_through() < analytics_hourly_since(now())  -- else not run at all
         GROUP BY 1, 2, 3, 4, 5, 6) r
UNION ALL
SELECT (h.day_start AT TIME ZONE 'UTC')::date, date_trunc('week', h.day_start AT TIME ZONE 'UTC')::date,
       date_trunc('month', h.day_start AT TIME ZONE 'UTC')::date, h.api_key_id, h.app, h.model_used,
       h.provider_name, h.status_class, h.requests, h.timeouts, h.rate_limited, h.prompt_tokens, h.completion_tokens, h.reasoning_tokens, h.cached_tokens, h.cache_write_tokens, h.cost_usd, h.cost_estimated_usd, h.spend_usd, h.cost_unknown, h.fallbacks, h.streamed, h.latency_ms_sum, h.latency_count, h.ttft_ms_sum, h.ttft_count
  FROM (SELECT date_bin('1 day', h.bucket_start, '2000-01-01 00:00+00') AS day_start,
               h.api_key_id, h.app, h.model_used, h.provider_name, h.status_class,
               sum(h.requests)::bigint AS requests,
               sum(h.timeouts)::bigint AS timeouts,
               sum(h.rate_limited)::bigint AS rate_limited,
               sum(h.prompt_tokens)::bigint AS prompt_tokens,
               sum(h.completion_tokens)::bigint AS completion_tokens,
               sum(h.reasoning_tokens)::bigint AS reasoning_tokens,
               sum(h.cached_tokens)::bigint AS cached_tokens,
               sum(h.cache_write_tokens)::bigint AS cache_write_tokens,
               sum(h.cost_usd) AS cost_usd,
               sum(h.cost_estimated_usd) AS cost_estimated_usd,
               sum(h.spend_usd) AS spend_usd,
               sum(h.cost_unknown)::bigint AS cost_unknown,
               sum(h.fallbacks)::bigint AS fallbacks,
               sum(h.streamed)::bigint AS streamed,
               sum(h.latency_ms_sum)::bigint AS latency_ms_sum,
               sum(h.latency_count)::bigint AS latency_count,
               sum(h.ttft_ms_sum)::bigint AS ttft_ms_sum,
               sum(h.ttft_count)::bigint AS ttft_count
          FROM mv_usage_hourly h
         WHERE h.bucket_start >= greatest(rollup_frozen_through(), analytics_hourly_since(now()))
         GROUP BY 1, 2, 3, 4, 5, 6) h
WITH NO DATA;
COMMENT ON MATERIALIZED VIEW mv_usage_daily IS
    'Usage per UTC day x api key x app x model_used x provider x status class, all history: the '
    'frozen days, the ledger between them and the hourly window, and mv_usage_hourly rolled up '
    'to days. week_start (ISO week, Monday) and month_start are the day''s week and month. Same '
    'measures and sentinels as mv_usage_hourly.';
CREATE UNIQUE INDEX mv_usage_daily_key
    ON mv_usage_daily (day, api_key_id, app, model_used, provider_name, status_class);

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

CREATE MATERIALIZED VIEW mv_savings_daily AS
SELECT day, api_key_id, app, app_is_null, model_used, requests, uncharged_requests, actual_usd,
       prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cache_write_tokens, audio_tokens,
       image_count, web_search_count, max_context_tokens, max_prompt_tokens, max_completion_tokens
  FROM savings_daily_frozen
UNION ALL
SELECT (r.day_start AT TIME ZONE 'UTC')::date                                AS day,
       coalesce(r.api_key_id, '00000000-0000-0000-0000-000000000000'::uuid) AS api_key_id,
       coalesce(r.app, '')                                                  AS app,
       r.app IS NULL                                                        AS app_is_null,
       r.model_used,
       r.requests, r.uncharged_requests, r.actual_usd,
       r.prompt_tokens, r.completion_tokens, r.reasoning_tokens, r.cached_tokens,
       r.cache_write_tokens, r.audio_tokens, r.image_count, r.web_search_count,
       r.max_context_tokens, r.max_prompt_tokens, r.max_completion_tokens
  FROM (SELECT date_bin('1 day', l.created_at, '2000-01-01 00:00+00') AS day_start,
               l.api_key_id, l.app, l.model_used,
               count(*) FILTER (WHERE l.cost_usd IS NOT NULL)                          AS requests,
               count(*) FILTER (WHERE l.cost_usd IS NULL)                              AS uncharged_requests,
               coalesce(sum(l.cost_usd), 0)::numeric                                   AS actual_usd,
               coalesce(sum(l.prompt_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS prompt_tokens,
               coalesce(sum(l.completion_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS completion_tokens,
               coalesce(sum(l.reasoning_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS reasoning_tokens,
               coalesce(sum(l.cached_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS cached_tokens,
               coalesce(sum(l.cache_write_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS cache_write_tokens,
               coalesce(sum(l.audio_tokens) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS audio_tokens,
               coalesce(sum(l.image_count) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS image_count,
               coalesce(sum(l.web_search_count) FILTER (WHERE l.cost_usd IS NOT NULL), 0)::bigint
                                                                                       AS web_search_count,
               coalesce(max(l.prompt_tokens + l.completion_tokens), 0)::bigint        AS max_context_tokens,
               coalesce(max(l.prompt_tokens), 0)::bigint                               AS max_prompt_tokens,
               coalesce(max(l.completion_tokens), 0)::bigint                           AS max_completion_tokens
          FROM usage_ledger l
         WHERE l.status = 'ok' AND l.model_used IS NOT NULL
           AND l.created_at >= rollup_frozen_through()
         GROUP BY 1, 2, 3, 4) r
WITH NO DATA;
COMMENT ON MATERIALIZED VIEW mv_savings_daily IS
    'The savings analysis'' inputs per UTC day x api key x ledger app x model_used (ok rows '
    'naming a model): the frozen days, then the ledger. Summed over whole days it equals the '
    'raw-ledger groups of minerva_core/optimisation. Sentinels: no key = 00000000-..., no app = '
    'the empty string with app_is_null.';
CREATE UNIQUE INDEX mv_savings_daily_key
    ON mv_savings_daily (day, api_key_id, app, app_is_null, model_used);
