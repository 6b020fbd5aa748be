-- The usage ledger: one row per proxied request, appended in batches (COPY) by the proxy.
--
-- Partitioning decision: declarative RANGE partitions by calendar month (UTC) on created_at,
-- a DEFAULT partition as a safety net, and ensure_usage_ledger_partition(ts) to add months.
-- Why not a single table with a BRIN index:
--   * retention and archiving are per month: DETACH/DROP a partition is instant and leaves no
--     bloat, where DELETE of millions of rows means vacuum debt on the hottest table;
--   * the readers are all period-shaped (budgets per day/month, reconciliation per billing
--     period, rollup refreshes over recent days): partition pruning confines them to one or
--     two months, and each month's btree indexes stay small enough to stay cached;
--   * the cost backfill (cost_usd from /generation) updates recent rows only, i.e. one
--     partition, so old months stay all-visible and frozen.
-- The price paid: a unique key must include created_at, so the key is (request_id,
-- created_at); the writer (and its spool replay) dedups on that pair, which it has because
-- created_at is set once by the proxy when the request starts. Inside each partition a BRIN
-- index on created_at still serves time scans cheaply.
-- Rows outside every monthly partition land in usage_ledger_default; creating that month
-- later moves them into the new partition (see the function).

CREATE TABLE usage_ledger (
    request_id          text NOT NULL CHECK (length(request_id) BETWEEN 1 AND 200),
    created_at          timestamptz NOT NULL DEFAULT now(),
    generation_id       text,
    api_key_id          uuid REFERENCES api_keys (id) ON DELETE NO ACTION,
    app                 text,
    strategy            text,
    model_requested     text,
    model_used          text,
    provider_name       text,
    prompt_tokens       integer NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens   integer NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    reasoning_tokens    integer NOT NULL DEFAULT 0 CHECK (reasoning_tokens >= 0),
    cached_tokens       integer NOT NULL DEFAULT 0 CHECK (cached_tokens >= 0),
    cache_write_tokens  integer NOT NULL DEFAULT 0 CHECK (cache_write_tokens >= 0),
    audio_tokens        integer NOT NULL DEFAULT 0 CHECK (audio_tokens >= 0),
    image_count         integer NOT NULL DEFAULT 0 CHECK (image_count >= 0),
    web_search_count    integer NOT NULL DEFAULT 0 CHECK (web_search_count >= 0),
    cost_usd            usd_amount,
    cost_estimated_usd  usd_amount,
    cost_source         text CHECK (cost_source IN ('response', 'generation_api', 'activity_api', 'bill')),
    cost_updated_at     timestamptz,
    is_byok             boolean,
    usage               jsonb CHECK (jsonb_typeof(usage) = 'object'),
    latency_ms          integer CHECK (latency_ms >= 0),
    ttft_ms             integer CHECK (ttft_ms >= 0),
    status              text NOT NULL
                        CHECK (status IN ('ok', 'error', 'cancelled', 'timeout', 'rate_limited')),
    error_type          text,
    http_status         smallint CHECK (http_status BETWEEN 100 AND 599),
    finish_reason       text,
    fallback_depth      smallint NOT NULL DEFAULT 0 CHECK (fallback_depth >= 0),
    streamed            boolean NOT NULL DEFAULT false,
    PRIMARY KEY (request_id, created_at),
    CHECK ((cost_usd IS NULL) = (cost_source IS NULL)),
    CHECK (status <> 'ok' OR error_type IS NULL)
) PARTITION BY RANGE (created_at);

COMMENT ON TABLE usage_ledger IS
    'Every proxied request, append-only except the upstream-cost backfill. Monthly RANGE '
    'partitions on created_at (UTC); see ensure_usage_ledger_partition(). Api keys are '
    'referenced with NO ACTION: spend history outlives nothing it points at.';
COMMENT ON COLUMN usage_ledger.request_id IS
    'Minerva''s id for the request (X-Request-Id); unique together with created_at.';
COMMENT ON COLUMN usage_ledger.created_at IS
    'When the proxy received the request; set once, so a spool replay carries the same value.';
COMMENT ON COLUMN usage_ledger.generation_id IS
    'OpenRouter generation id (gen-...): the key for /generation backfill and bill matching.';
COMMENT ON COLUMN usage_ledger.model_requested IS
    'What the client sent (a model id, a strategy alias, or a models[] list head); no FK.';
COMMENT ON COLUMN usage_ledger.model_used IS
    'The model upstream reports it served; no FK: the ledger records what happened even for a '
    'model the catalog has not seen yet.';
COMMENT ON COLUMN usage_ledger.cached_tokens IS 'Prompt tokens read from cache (prompt_tokens_details.cached_tokens).';
COMMENT ON COLUMN usage_ledger.cache_write_tokens IS 'Prompt tokens written to cache.';
COMMENT ON COLUMN usage_ledger.cost_usd IS
    'The upstream''s charge (usage.cost, or /generation total_cost): authoritative. NULL until known.';
COMMENT ON COLUMN usage_ledger.cost_estimated_usd IS
    'Minerva''s own cost from ai_model_prices; NULL when a needed price was missing or variable.';
COMMENT ON COLUMN usage_ledger.cost_source IS
    'Where cost_usd came from: response (usage.cost), generation_api, activity_api or bill.';
COMMENT ON COLUMN usage_ledger.usage IS
    'The upstream usage object as received, for dimensions without a column.';
COMMENT ON COLUMN usage_ledger.ttft_ms IS 'Time to first token (first content byte for streams).';
COMMENT ON COLUMN usage_ledger.fallback_depth IS
    '0 when the first attempt served the request; n when the n-th fallback did.';

CREATE TABLE usage_ledger_default PARTITION OF usage_ledger DEFAULT;
COMMENT ON TABLE usage_ledger_default IS
    'Safety net for rows outside every monthly partition; should stay empty '
    '(ensure_usage_ledger_partition moves rows out when it creates their month).';

-- Indexes on the parent are created on every partition, present and future.
CREATE INDEX usage_ledger_time ON usage_ledger USING brin (created_at);
CREATE INDEX usage_ledger_key_time ON usage_ledger (api_key_id, created_at)
    INCLUDE (cost_usd, cost_estimated_usd);
CREATE INDEX usage_ledger_generation ON usage_ledger (generation_id)
    WHERE generation_id IS NOT NULL;
CREATE INDEX usage_ledger_model_time ON usage_ledger (model_used, created_at);
CREATE INDEX usage_ledger_cost_pending ON usage_ledger (created_at)
    WHERE cost_usd IS NULL AND generation_id IS NOT NULL;

CREATE FUNCTION ensure_usage_ledger_partition(ts timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    month_utc    timestamp := date_trunc('month', ts AT TIME ZONE 'UTC');
    month_start  timestamptz := month_utc AT TIME ZONE 'UTC';
    month_end    timestamptz := (month_utc + interval '1 month') AT TIME ZONE 'UTC';
    part         text := 'usage_ledger_' || to_char(month_utc, 'YYYYMM');
    schema_name  text;
    moved        bigint;
BEGIN
    IF ts IS NULL THEN
        RAISE EXCEPTION 'ensure_usage_ledger_partition: ts must not be NULL';
    END IF;
    SELECT n.nspname INTO schema_name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = 'usage_ledger'::regclass;
    -- Serialise concurrent callers: the second one waits, then finds the table.
    PERFORM pg_advisory_xact_lock(hashtext('minerva.ensure_usage_ledger_partition'));
    IF to_regclass(format('%I.%I', schema_name, part)) IS NOT NULL THEN
        RETURN part;
    END IF;
    -- Build the month as a plain table, move any rows of that month out of the DEFAULT
    -- partition into it, then attach: CREATE TABLE ... PARTITION OF would fail instead.
    EXECUTE format(
        'CREATE TABLE %I.%I (LIKE %I.usage_ledger INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
        'INCLUDING STORAGE)', schema_name, part, schema_name);
    EXECUTE format(
        'WITH moved AS (DELETE FROM %I.usage_ledger_default '
        'WHERE created_at >= $1 AND created_at < $2 RETURNING *) '
        'INSERT INTO %I.%I SELECT * FROM moved', schema_name, schema_name, part)
        USING month_start, month_end;
    GET DIAGNOSTICS moved = ROW_COUNT;
    EXECUTE format(
        'ALTER TABLE %I.usage_ledger ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
        schema_name, schema_name, part,
        to_char(month_utc, 'YYYY-MM-DD HH24:MI:SS') || '+00',
        to_char(month_utc + interval '1 month', 'YYYY-MM-DD HH24:MI:SS') || '+00');
    IF moved > 0 THEN
        RAISE NOTICE 'ensure_usage_ledger_partition: moved % row(s) from usage_ledger_default into %',
            moved, part;
    END IF;
    RETURN part;
END
$$;
COMMENT ON FUNCTION ensure_usage_ledger_partition(timestamptz) IS
    'Create the monthly (UTC) partition of usage_ledger holding ts if missing, moving any rows '
    'of that month out of usage_ledger_default; return its name. Idempotent, safe concurrently. '
    'Call it ahead of time (e.g. daily, for this and next month).';

-- The previous month, this month and the next three, from the day the migration runs.
DO $$
BEGIN
    FOR m IN -1..3 LOOP
        PERFORM ensure_usage_ledger_partition(
            (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => m))
            AT TIME ZONE 'UTC');
    END LOOP;
END
$$;
