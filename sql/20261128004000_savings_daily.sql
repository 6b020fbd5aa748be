-- mv_savings_daily: what the savings analysis (minerva_core/optimisation) reads, rolled up
-- per UTC day, so analytics/costs answers its savings without scanning usage_ledger.
--
-- One row per UTC day x api key x ledger app x model_used over the ok rows that name a
-- model: exactly the figures optimisation/store.py's per-(app, model) query computes from the
-- raw ledger, split by day. Every figure is a count, a sum or a maximum, so summing counts
-- and sums and taking the max of maxima over the days of a period reproduces that query's
-- groups exactly, for any period made of whole UTC days.
--
-- The app of a group is the ledger row's app, else its key's app. The key's app is not
-- frozen into the view: the view keeps api_key_id and the ledger's own app (app_is_null
-- tells a NULL app from an empty one), and the reader joins api_keys, so a key's app is
-- read as it is now, as the raw query does.
--
-- Sentinels for the unique index REFRESH ... CONCURRENTLY needs:
--     api_key_id  NULL -> '00000000-0000-0000-0000-000000000000'
--     app         NULL -> '' with app_is_null = true
--   requests                 ok rows with an upstream charge (cost_usd IS NOT NULL)
--   uncharged_requests       ok rows without one yet
--   actual_usd               sum of cost_usd
--   prompt_tokens .. web_search_count   sums over the charged rows
--   max_context_tokens       max(prompt_tokens + completion_tokens) over every ok row
--   max_prompt_tokens, max_completion_tokens   the same maxima, apart
-- Refreshed by the refresh flow with every other mv_* view; it reads the ledger itself (the
-- usage views do not keep maxima nor the charged-rows-only sums).

CREATE MATERIALIZED VIEW mv_savings_daily AS
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
         GROUP BY 1, 2, 3, 4) r
WITH NO DATA;
COMMENT ON MATERIALIZED VIEW mv_savings_daily IS
    'The savings analysis'' inputs per UTC day x api key x ledger app x model_used (ok rows '
    'naming a model): charged/uncharged counts, the charge, token sums over charged rows, and '
    'token maxima over every row. Summed over whole days it equals the raw-ledger groups of '
    'minerva_core/optimisation. Sentinels: no key = 00000000-..., no app = '''' with app_is_null.';
CREATE UNIQUE INDEX mv_savings_daily_key
    ON mv_savings_daily (day, api_key_id, app, app_is_null, model_used);
