-- The gradual, measured, reversible move of platform features to OpenRouter (issue 7):
-- registered features and their rollout, the exposures (which request went to which arm),
-- quality feedback, an append-only audit trail, and the legacy staging tables that
-- migrate_legacy() copies into the platform tables and the usage ledger.
--
-- Logic lives in minerva_core.migration; these tables only hold its state.

CREATE TABLE migration_features (
    name                   text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    description            text,
    app                    text,
    control_provider       text NOT NULL CHECK (control_provider ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    control_model          text NOT NULL CHECK (btrim(control_model) <> ''),
    treatment_provider     text NOT NULL DEFAULT 'openrouter'
                           CHECK (treatment_provider ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    treatment_model        text NOT NULL CHECK (btrim(treatment_model) <> ''),
    status                 text NOT NULL DEFAULT 'registered'
                           CHECK (status IN ('registered', 'rolling_out', 'paused', 'completed', 'rolled_back')),
    rollout_bp             integer NOT NULL DEFAULT 0 CHECK (rollout_bp BETWEEN 0 AND 10000),
    guardrails             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(guardrails) = 'object'),
    experiment             jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(experiment) = 'object'),
    experiment_started_at  timestamptz,
    status_reason          text,
    status_changed_by      text,
    status_changed_at      timestamptz NOT NULL DEFAULT now(),
    created_by             text,
    version                integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (status NOT IN ('registered', 'rolled_back') OR rollout_bp = 0),
    CHECK (status <> 'rolling_out' OR rollout_bp BETWEEN 1 AND 9999),
    CHECK (status <> 'completed' OR rollout_bp = 10000),
    CHECK (rollout_bp = 0 OR experiment_started_at IS NOT NULL)
);
COMMENT ON TABLE migration_features IS
    'Platform features being moved from a direct provider (control) to OpenRouter (treatment) '
    'by a rollout share; see minerva_core.migration.';
COMMENT ON COLUMN migration_features.app IS
    'The app name the ledger records for this feature''s traffic (usage_ledger.app), if any.';
COMMENT ON COLUMN migration_features.treatment_model IS
    'An OpenRouter model id (openai/gpt-4o) or a routing strategy alias (minerva/balanced).';
COMMENT ON COLUMN migration_features.rollout_bp IS
    'Treatment share in basis points (0..10000 = 0..100 %); bucket < rollout_bp is treatment.';
COMMENT ON COLUMN migration_features.status IS
    'registered (0 %, never started) | rolling_out (1..9999 bp) | paused (split held as is) | '
    'completed (10000 bp) | rolled_back (0 %, status_reason says why).';
COMMENT ON COLUMN migration_features.guardrails IS
    'Automatic rollback thresholds, e.g. {"window_minutes": 60, "min_samples": 50, '
    '"error_rate": {"max": "0.05", "max_ratio": "2"}, "p95_latency_ms": {"max": 8000}, '
    '"cost_per_request_usd": {"max_ratio": "1.25"}}; decimals as strings.';
COMMENT ON COLUMN migration_features.experiment IS
    'Experiment settings: {"alpha": "0.05", "min_samples_per_arm": 100, "primary_metric": "latency_ms"}.';
COMMENT ON COLUMN migration_features.experiment_started_at IS
    'When the rollout last left 0 %: the experiment''s figures count exposures from then on.';

CREATE TRIGGER migration_features_version
    BEFORE UPDATE ON migration_features
    FOR EACH ROW EXECUTE FUNCTION minerva_bump_version();

INSERT INTO catalog_versions (table_name) VALUES ('migration_features') ON CONFLICT DO NOTHING;
CREATE TRIGGER migration_features_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON migration_features
    FOR EACH STATEMENT EXECUTE FUNCTION minerva_catalog_changed();

CREATE TABLE migration_exposures (
    request_id  text PRIMARY KEY CHECK (length(request_id) BETWEEN 1 AND 200),
    feature     text NOT NULL REFERENCES migration_features (name) ON UPDATE CASCADE ON DELETE RESTRICT,
    arm         text NOT NULL CHECK (arm IN ('control', 'treatment')),
    bucket      integer NOT NULL CHECK (bucket BETWEEN 0 AND 9999),
    rollout_bp  integer NOT NULL CHECK (rollout_bp BETWEEN 0 AND 10000),
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE migration_exposures IS
    'Which arm served a request of a migrating feature; joined to usage_ledger on request_id '
    'for the per-arm latency, time to first token, errors and cost.';
CREATE INDEX migration_exposures_feature_time ON migration_exposures (feature, created_at);

CREATE TABLE migration_feedback (
    request_id  text PRIMARY KEY CHECK (length(request_id) BETWEEN 1 AND 200),
    score       smallint CHECK (score BETWEEN 1 AND 5),
    thumbs_up   boolean,
    quality     numeric GENERATED ALWAYS AS (
                    CASE WHEN score IS NOT NULL THEN (score - 1) / 4.0
                         WHEN thumbs_up THEN 1.0 ELSE 0.0 END) STORED,
    comment     text CHECK (length(comment) <= 2000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((score IS NULL) <> (thumbs_up IS NULL))
);
COMMENT ON TABLE migration_feedback IS
    'Quality feedback per request: a 1-5 score or thumbs up/down; quality is it on 0..1 '
    '((score-1)/4; up = 1, down = 0). The latest submission for a request wins.';

CREATE TRIGGER migration_feedback_updated_at
    BEFORE UPDATE ON migration_feedback
    FOR EACH ROW EXECUTE FUNCTION minerva_set_updated_at();

CREATE TABLE migration_audit (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor        text NOT NULL CHECK (btrim(actor) <> ''),
    entity_type  text NOT NULL CHECK (entity_type IN ('feature', 'flag', 'legacy')),
    entity       text NOT NULL,
    action       text NOT NULL,
    before       jsonb,
    after        jsonb,
    reason       text
);
COMMENT ON TABLE migration_audit IS
    'Append-only: every change to a migrating feature, a feature flag override and every legacy '
    'migration run (who, what, before, after, when, why). UPDATE, DELETE and TRUNCATE are refused.';
CREATE INDEX migration_audit_entity ON migration_audit (entity_type, entity, id);

CREATE FUNCTION migration_audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
COMMENT ON FUNCTION migration_audit_refuse_change() IS
    'BEFORE UPDATE/DELETE/TRUNCATE trigger of append-only tables: refuses the statement.';

CREATE TRIGGER migration_audit_append_only
    BEFORE UPDATE OR DELETE ON migration_audit
    FOR EACH ROW EXECUTE FUNCTION migration_audit_refuse_change();
CREATE TRIGGER migration_audit_no_truncate
    BEFORE TRUNCATE ON migration_audit
    FOR EACH STATEMENT EXECUTE FUNCTION migration_audit_refuse_change();

-- Legacy staging: load the old system's per-feature direct-provider configs and its usage
-- records here (SQL, COPY, or the JSON export of minerva_core.migration.legacy), then run
-- migrate_legacy(). Rows stay here as the evidence the checksums are computed from.

CREATE TABLE legacy_provider_configs (
    id                   text PRIMARY KEY CHECK (btrim(id) <> ''),
    feature              text NOT NULL UNIQUE CHECK (feature ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    provider_name        text NOT NULL CHECK (provider_name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    provider_type        provider_type NOT NULL,
    base_url             text CHECK (base_url ~ '^https?://'),
    model                text NOT NULL CHECK (btrim(model) <> ''),
    api_key              text CHECK (btrim(api_key) <> ''),
    api_key_fingerprint  text CHECK (api_key_fingerprint ~ '^fp_[0-9a-f]{16}$'),
    routing_config       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(routing_config) = 'object'),
    cost_config          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(cost_config) = 'object'),
    fallback_providers   text[] NOT NULL DEFAULT '{}'
                         CHECK (array_position(fallback_providers, NULL) IS NULL),
    loaded_at            timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE legacy_provider_configs IS
    'The old system''s per-feature direct-provider configuration, one row per feature.';
COMMENT ON COLUMN legacy_provider_configs.api_key IS
    'The plaintext key as exported; migrate_legacy stores it encrypted in platform_ai_credentials, '
    'then clears it here and keeps only api_key_fingerprint.';

CREATE TABLE legacy_usage (
    id                 text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 190),
    occurred_at        timestamptz NOT NULL,
    feature            text,
    provider_name      text NOT NULL CHECK (btrim(provider_name) <> ''),
    model              text NOT NULL CHECK (btrim(model) <> ''),
    prompt_tokens      integer NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens  integer NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    cost_usd           usd_amount,
    latency_ms         integer CHECK (latency_ms >= 0),
    ttft_ms            integer CHECK (ttft_ms >= 0),
    status             text NOT NULL DEFAULT 'ok'
                       CHECK (status IN ('ok', 'error', 'cancelled', 'timeout', 'rate_limited')),
    error_type         text,
    loaded_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'ok' OR error_type IS NULL)
);
COMMENT ON TABLE legacy_usage IS
    'The old system''s usage records; migrate_legacy copies each into usage_ledger as request_id '
    '''legacy:'' || id with cost_source ''legacy_import'' (when it has a cost).';

-- The ledger marks imported history: cost_source 'legacy_import' (rows without a cost are
-- recognised by their 'legacy:' request_id prefix and usage->'legacy').
ALTER TABLE usage_ledger DROP CONSTRAINT usage_ledger_cost_source_check;
ALTER TABLE usage_ledger ADD CONSTRAINT usage_ledger_cost_source_check
    CHECK (cost_source IN ('response', 'generation_api', 'activity_api', 'bill', 'legacy_import'));
COMMENT ON COLUMN usage_ledger.cost_source IS
    'Where cost_usd came from: response (usage.cost), generation_api, activity_api, bill, or '
    'legacy_import (history copied from legacy_usage by the OpenRouter migration).';
