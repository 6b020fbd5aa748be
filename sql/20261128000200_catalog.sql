-- The model catalog: sync jobs, models, price history, per-endpoint figures, quarantine.
--
-- Written by the discovery and pricing flows, read (into memory) by the proxy. Models are
-- never deleted by a sync: a model missing upstream becomes 'deprecated'; an admin may
-- 'disable' one, and a sync never re-enables it.

CREATE TABLE model_sync_jobs (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind               text NOT NULL CHECK (kind IN ('discover', 'pricing')),
    status             text NOT NULL DEFAULT 'queued'
                       CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'quarantined')),
    requested_by       text,
    params             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
    created_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    finished_at        timestamptz,
    duration_ms        bigint GENERATED ALWAYS AS
                       ((extract(epoch FROM (finished_at - started_at)) * 1000)::bigint) STORED,
    progress_done      integer NOT NULL DEFAULT 0,
    progress_total     integer,
    new_count          integer NOT NULL DEFAULT 0,
    changed_count      integer NOT NULL DEFAULT 0,
    repriced_count     integer NOT NULL DEFAULT 0,
    deprecated_count   integer NOT NULL DEFAULT 0,
    unchanged_count    integer NOT NULL DEFAULT 0,
    quarantined_count  integer NOT NULL DEFAULT 0,
    total_count        integer NOT NULL DEFAULT 0,
    error              text,
    quarantine_reason  text,
    flow_run_id        uuid,
    snapshot_hash      text,
    CHECK (progress_done >= 0 AND (progress_total IS NULL
                                   OR (progress_total >= 0 AND progress_done <= progress_total))),
    CHECK (new_count >= 0 AND changed_count >= 0 AND repriced_count >= 0
           AND deprecated_count >= 0 AND unchanged_count >= 0 AND quarantined_count >= 0
           AND total_count >= 0),
    CHECK (status <> 'running' OR started_at IS NOT NULL),
    CHECK (status NOT IN ('succeeded', 'failed', 'quarantined') OR finished_at IS NOT NULL),
    CHECK (status <> 'failed' OR error IS NOT NULL),
    CHECK (status <> 'quarantined' OR quarantine_reason IS NOT NULL),
    CHECK (finished_at IS NULL OR started_at IS NULL OR finished_at >= started_at)
);
COMMENT ON TABLE model_sync_jobs IS
    'One row per discovery/pricing run (scheduled, from the API or the CLI); '
    'what GET models/sync/{job_id} reports.';
COMMENT ON COLUMN model_sync_jobs.duration_ms IS
    'Generated from finished_at - started_at; do not write it.';
COMMENT ON COLUMN model_sync_jobs.progress_done IS
    'Models processed so far; with progress_total (NULL until known) gives progress.';
COMMENT ON COLUMN model_sync_jobs.changed_count IS
    'Models whose non-price fields changed (content hash differs); repriced_count counts price changes.';
COMMENT ON COLUMN model_sync_jobs.snapshot_hash IS
    'sha256 of the upstream payload, to spot an identical snapshot and to find quarantined batches.';
COMMENT ON COLUMN model_sync_jobs.flow_run_id IS 'The Prefect flow run that did the work.';

CREATE INDEX model_sync_jobs_kind_created ON model_sync_jobs (kind, created_at DESC);
CREATE INDEX model_sync_jobs_open ON model_sync_jobs (kind) WHERE status IN ('queued', 'running');

CREATE TABLE ai_models (
    id                          text PRIMARY KEY CHECK (id <> '' AND id = btrim(id)),
    canonical_slug              text,
    name                        text NOT NULL,
    upstream_provider           text NOT NULL,
    model_family                text,
    description                 text,
    hugging_face_id             text,
    context_length              integer CHECK (context_length > 0),
    max_completion_tokens       integer CHECK (max_completion_tokens > 0),
    modality                    text,
    tokenizer                   text,
    instruct_type               text,
    input_modalities            text[] NOT NULL DEFAULT '{}',
    output_modalities           text[] NOT NULL DEFAULT '{}',
    supported_parameters        text[] NOT NULL DEFAULT '{}',
    default_parameters          jsonb,
    supports_tools              boolean NOT NULL DEFAULT false,
    supports_tool_choice        boolean NOT NULL DEFAULT false,
    supports_structured_output  boolean NOT NULL DEFAULT false,
    supports_reasoning          boolean NOT NULL DEFAULT false,
    supports_vision             boolean NOT NULL DEFAULT false,
    supports_audio_input        boolean NOT NULL DEFAULT false,
    is_moderated                boolean,
    reasoning_config            jsonb,
    variant                     text CHECK (variant ~ '^[a-z0-9][a-z0-9_-]*$'),
    base_model_id               text,
    alias_target                text,
    is_variable_price           boolean NOT NULL DEFAULT false,
    benchmarks                  jsonb,
    quality_score               numeric CHECK (quality_score >= 0 AND quality_score <= 1),
    knowledge_cutoff            date,
    upstream_created_at         timestamptz,
    raw                         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(raw) = 'object'),
    content_hash                text,
    status                      text NOT NULL DEFAULT 'active'
                                CHECK (status IN ('active', 'deprecated', 'disabled')),
    disabled_by_admin           boolean NOT NULL DEFAULT false,
    disabled_at                 timestamptz,
    disabled_reason             text,
    first_seen_at               timestamptz NOT NULL DEFAULT now(),
    last_seen_at                timestamptz NOT NULL DEFAULT now(),
    deprecated_at               timestamptz,
    expiration_date             date,
    last_sync_job_id            uuid REFERENCES model_sync_jobs (id) ON DELETE SET NULL,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CHECK (last_seen_at >= first_seen_at),
    CHECK (status <> 'deprecated' OR deprecated_at IS NOT NULL),
    CHECK (NOT disabled_by_admin OR status = 'disabled'),
    CHECK (array_position(input_modalities, NULL) IS NULL
           AND array_position(output_modalities, NULL) IS NULL
           AND array_position(supported_parameters, NULL) IS NULL)
);
COMMENT ON TABLE ai_models IS
    'The live catalog, one row per OpenRouter model id (variants such as :free are their own rows).';
COMMENT ON COLUMN ai_models.id IS 'The OpenRouter model id, e.g. openai/gpt-4o or ~openai/gpt-latest.';
COMMENT ON COLUMN ai_models.canonical_slug IS
    'Upstream canonical_slug (dated permaslug); NULL in pre-2025-11 snapshots. '
    'A :free variant shares its paid model''s slug, so it is not unique.';
COMMENT ON COLUMN ai_models.upstream_provider IS
    'The model''s author, from the id prefix (openai in openai/gpt-4o), not the serving endpoint.';
COMMENT ON COLUMN ai_models.context_length IS
    'Top-level context_length; can differ from top_provider.context_length (kept in raw).';
COMMENT ON COLUMN ai_models.max_completion_tokens IS 'top_provider.max_completion_tokens; often NULL.';
COMMENT ON COLUMN ai_models.supports_tools IS
    'Capability flags are derived by the normaliser from supported_parameters and modalities.';
COMMENT ON COLUMN ai_models.reasoning_config IS
    'Upstream reasoning object (mandatory, default_enabled, supported_efforts, ...), as sent.';
COMMENT ON COLUMN ai_models.variant IS
    'The :suffix of the id (free, thinking, batch, beta, extended, exacto, ...); NULL for a base model.';
COMMENT ON COLUMN ai_models.base_model_id IS
    'The id without its :variant suffix; no FK, the base may be absent from the catalog.';
COMMENT ON COLUMN ai_models.alias_target IS
    'For ~alias ids, the slug the alias points at (upstream alias_target.slug); no FK.';
COMMENT ON COLUMN ai_models.is_variable_price IS
    'True for routers priced "-1" upstream (openrouter/auto ...): cost only known after the call.';
COMMENT ON COLUMN ai_models.quality_score IS
    'Minerva''s normalised quality figure in [0,1] for routing; NULL when unknown.';
COMMENT ON COLUMN ai_models.raw IS
    'The whole upstream record as received; fields Minerva does not model yet live only here.';
COMMENT ON COLUMN ai_models.content_hash IS
    'sha256 of the normalised non-price fields, to count a sync''s changed/unchanged models.';
COMMENT ON COLUMN ai_models.status IS
    'active: in the latest snapshot; deprecated: gone upstream (deprecated_at set); '
    'disabled: switched off here, never re-enabled by a sync.';
COMMENT ON COLUMN ai_models.disabled_by_admin IS
    'An admin override; implies status = disabled until the admin lifts it.';
COMMENT ON COLUMN ai_models.expiration_date IS
    'Upstream expiration_date; 2098-12-31 is their far-future sentinel.';

CREATE INDEX ai_models_canonical_slug ON ai_models (canonical_slug);
CREATE INDEX ai_models_upstream_provider ON ai_models (upstream_provider);
CREATE INDEX ai_models_status ON ai_models (status);

CREATE TRIGGER ai_models_updated_at
    BEFORE UPDATE ON ai_models
    FOR EACH ROW EXECUTE FUNCTION minerva_set_updated_at();

CREATE TABLE ai_model_prices (
    id                    bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    model_id              text NOT NULL REFERENCES ai_models (id) ON DELETE RESTRICT,
    source                text NOT NULL DEFAULT 'models' CHECK (source IN ('models', 'endpoint')),
    provider_name         text,
    endpoint_tag          text,
    valid_from            timestamptz NOT NULL DEFAULT now(),
    valid_to              timestamptz,
    prompt                usd_rate,
    completion            usd_rate,
    request               usd_rate,
    image                 usd_rate,
    image_output          usd_rate,
    image_token           usd_rate,
    web_search            usd_rate,
    internal_reasoning    usd_rate,
    input_cache_read      usd_rate,
    input_cache_write     usd_rate,
    input_cache_write_1h  usd_rate,
    input_audio_cache     usd_rate,
    audio                 usd_rate,
    audio_output          usd_rate,
    discount              numeric CHECK (discount >= 0 AND discount <= 1),
    overrides             jsonb CHECK (jsonb_typeof(overrides) = 'array'),
    is_variable           boolean NOT NULL DEFAULT false,
    raw                   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(raw) = 'object'),
    content_hash          text NOT NULL,
    sync_job_id           uuid REFERENCES model_sync_jobs (id) ON DELETE SET NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    CHECK ((source = 'models') = (endpoint_tag IS NULL)),
    CHECK (source = 'models' OR provider_name IS NOT NULL),
    CHECK (is_variable OR (prompt IS NOT NULL AND completion IS NOT NULL))
);
COMMENT ON TABLE ai_model_prices IS
    'Price history: a row per (model, endpoint) per period. A price change closes the current '
    'row (valid_to) and inserts a new one. Rows are financial history: RESTRICT on model delete.';
COMMENT ON COLUMN ai_model_prices.source IS
    'models: the model-level price from /models (endpoint_tag NULL); '
    'endpoint: one endpoint''s price from /models/{id}/endpoints.';
COMMENT ON COLUMN ai_model_prices.endpoint_tag IS
    'Upstream endpoint tag (e.g. deepinfra/fp8), unique within a model; NULL for source = models.';
COMMENT ON COLUMN ai_model_prices.valid_to IS
    'NULL while current; exactly one current row per (model_id, endpoint_tag).';
COMMENT ON COLUMN ai_model_prices.prompt IS
    'USD per prompt token. prompt and completion must be present upstream (a missing one '
    'fails the batch). Other dimensions are 0 when upstream omits them: from 2026-02 the API '
    'drops zero-valued keys, so absent means zero there; raw keeps exactly what was sent. '
    'All are NULL only on variable-price rows.';
COMMENT ON COLUMN ai_model_prices.request IS 'USD per request.';
COMMENT ON COLUMN ai_model_prices.image IS 'USD per input image.';
COMMENT ON COLUMN ai_model_prices.image_output IS 'USD per output image.';
COMMENT ON COLUMN ai_model_prices.image_token IS 'USD per image token.';
COMMENT ON COLUMN ai_model_prices.web_search IS 'USD per web search.';
COMMENT ON COLUMN ai_model_prices.input_cache_write IS 'USD per cache-write token (default, 5-minute TTL).';
COMMENT ON COLUMN ai_model_prices.input_cache_write_1h IS 'USD per 1-hour-TTL cache-write token.';
COMMENT ON COLUMN ai_model_prices.discount IS
    'Fraction off (price x (1 - discount)), 0..1, as sent for an endpoint.';
COMMENT ON COLUMN ai_model_prices.overrides IS
    'Upstream pricing.overrides list as sent: prompt-token tiers (min_prompt_tokens) and UTC '
    'time windows (utc_start/utc_end) with replacement price strings.';
COMMENT ON COLUMN ai_model_prices.is_variable IS
    'Upstream priced prompt/completion as "-1" (routers): the cost is only known after the call; '
    'the "-1" stays in raw, the price columns are NULL so no arithmetic can use it.';
COMMENT ON COLUMN ai_model_prices.raw IS 'The upstream pricing object as received (decimal strings).';
COMMENT ON COLUMN ai_model_prices.content_hash IS
    'sha256 of the canonical pricing object: equal hash means unchanged, no new row.';

CREATE UNIQUE INDEX ai_model_prices_one_current
    ON ai_model_prices (model_id, (coalesce(endpoint_tag, ''))) WHERE valid_to IS NULL;
CREATE INDEX ai_model_prices_history ON ai_model_prices (model_id, endpoint_tag, valid_from DESC);

CREATE TABLE ai_model_endpoints (
    id                         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    model_id                   text NOT NULL REFERENCES ai_models (id) ON DELETE CASCADE,
    endpoint_tag               text NOT NULL,
    provider_name              text NOT NULL,
    endpoint_name              text,
    status                     integer,
    quantization               text,
    context_length             integer CHECK (context_length > 0),
    max_completion_tokens      integer CHECK (max_completion_tokens > 0),
    max_prompt_tokens          integer CHECK (max_prompt_tokens > 0),
    supported_parameters       text[],
    supports_implicit_caching  boolean,
    uptime_last_5m             double precision CHECK (uptime_last_5m BETWEEN 0 AND 100),
    uptime_last_30m            double precision CHECK (uptime_last_30m BETWEEN 0 AND 100),
    uptime_last_1d             double precision CHECK (uptime_last_1d BETWEEN 0 AND 100),
    latency_p50_ms             double precision CHECK (latency_p50_ms >= 0),
    latency_p75_ms             double precision CHECK (latency_p75_ms >= 0),
    latency_p90_ms             double precision CHECK (latency_p90_ms >= 0),
    latency_p99_ms             double precision CHECK (latency_p99_ms >= 0),
    throughput_p50             double precision CHECK (throughput_p50 >= 0),
    throughput_p75             double precision CHECK (throughput_p75 >= 0),
    throughput_p90             double precision CHECK (throughput_p90 >= 0),
    throughput_p99             double precision CHECK (throughput_p99 >= 0),
    raw                        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(raw) = 'object'),
    first_seen_at              timestamptz NOT NULL DEFAULT now(),
    observed_at                timestamptz NOT NULL DEFAULT now(),
    removed_at                 timestamptz,
    UNIQUE (model_id, endpoint_tag)
);
COMMENT ON TABLE ai_model_endpoints IS
    'Current per-endpoint figures from /models/{id}/endpoints (one row per model and endpoint); '
    'history is in ai_model_endpoint_observations. Prices live in ai_model_prices (source endpoint).';
COMMENT ON COLUMN ai_model_endpoints.status IS
    'Upstream EndpointStatus: 0 healthy, negative values degraded/unavailable.';
COMMENT ON COLUMN ai_model_endpoints.latency_p50_ms IS
    'Time to first token, last 30 minutes; NULL when the key may not see it.';
COMMENT ON COLUMN ai_model_endpoints.throughput_p50 IS 'Tokens per second, last 30 minutes.';
COMMENT ON COLUMN ai_model_endpoints.uptime_last_5m IS 'Percent, 0..100.';
COMMENT ON COLUMN ai_model_endpoints.removed_at IS
    'Set when the endpoint stopped appearing upstream; NULL while listed.';

CREATE TABLE ai_model_endpoint_observations (
    endpoint_id      bigint NOT NULL REFERENCES ai_model_endpoints (id) ON DELETE CASCADE,
    observed_at      timestamptz NOT NULL,
    status           integer,
    uptime_last_5m   double precision,
    uptime_last_30m  double precision,
    uptime_last_1d   double precision,
    latency_p50_ms   double precision,
    latency_p90_ms   double precision,
    latency_p99_ms   double precision,
    throughput_p50   double precision,
    throughput_p90   double precision,
    sync_job_id      uuid REFERENCES model_sync_jobs (id) ON DELETE SET NULL,
    PRIMARY KEY (endpoint_id, observed_at)
);
COMMENT ON TABLE ai_model_endpoint_observations IS
    'Append-only time series of endpoint health as the pricing flow saw it; '
    'rows arrive in time order, so a BRIN index serves time-range scans.';

CREATE INDEX ai_model_endpoint_observations_time
    ON ai_model_endpoint_observations USING brin (observed_at);

CREATE TABLE catalog_quarantine (
    id                   bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    sync_job_id          uuid NOT NULL REFERENCES model_sync_jobs (id) ON DELETE CASCADE,
    created_at           timestamptz NOT NULL DEFAULT now(),
    snapshot_hash        text,
    failed_expectations  jsonb NOT NULL
                         CHECK (jsonb_typeof(failed_expectations) IN ('array', 'object')),
    batch                jsonb,
    batch_path           text,
    row_count            integer CHECK (row_count >= 0),
    status               text NOT NULL DEFAULT 'held'
                         CHECK (status IN ('held', 'released', 'discarded')),
    resolved_at          timestamptz,
    resolved_by          text,
    resolution_note      text,
    CHECK (batch IS NOT NULL OR batch_path IS NOT NULL),
    CHECK ((status = 'held') = (resolved_at IS NULL))
);
COMMENT ON TABLE catalog_quarantine IS
    'A batch that failed the data-quality gate, kept for inspection; the last good catalog stays live.';
COMMENT ON COLUMN catalog_quarantine.failed_expectations IS
    'The failed Great Expectations results (expectation, column, observed value, ...).';
COMMENT ON COLUMN catalog_quarantine.batch IS
    'The rejected batch (raw upstream records or normalised rows); or see batch_path.';
COMMENT ON COLUMN catalog_quarantine.status IS
    'held until an admin releases it (applied as a new sync) or discards it.';

CREATE INDEX catalog_quarantine_job ON catalog_quarantine (sync_job_id);
CREATE INDEX catalog_quarantine_held ON catalog_quarantine (created_at DESC) WHERE status = 'held';
