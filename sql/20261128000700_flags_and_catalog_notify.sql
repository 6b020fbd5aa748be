-- Per-deployment feature flags, and change notification for everything the proxy keeps in
-- memory.

CREATE TABLE feature_flags (
    name        text NOT NULL CHECK (name ~ '^[A-Z][A-Z0-9_]*$'),
    deployment  text NOT NULL DEFAULT '*' CHECK (btrim(deployment) <> ''),
    enabled     boolean NOT NULL,
    note        text,
    updated_by  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, deployment)
);
COMMENT ON TABLE feature_flags IS
    'Overrides of the ENABLE_OPENROUTER_* environment flags. Precedence: the row for this '
    'deployment, then the row for ''*'', then the environment.';
COMMENT ON COLUMN feature_flags.name IS 'The environment variable''s name, e.g. ENABLE_OPENROUTER_ROUTING.';
COMMENT ON COLUMN feature_flags.deployment IS 'A deployment name, or * for every deployment.';

CREATE TRIGGER feature_flags_updated_at
    BEFORE UPDATE ON feature_flags
    FOR EACH ROW EXECUTE FUNCTION minerva_set_updated_at();

-- Change notification. Two ways to learn of a change, so a proxy behind a pooler that drops
-- LISTEN (or that missed notifications while disconnected) still converges:
--   * NOTIFY on channel minerva_catalog with the table name as payload (deduplicated by
--     PostgreSQL within a transaction, delivered on commit only);
--   * catalog_versions: a counter per table, bumped in the same transaction, to poll.
CREATE TABLE catalog_versions (
    table_name  text PRIMARY KEY,
    version     bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
    changed_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE catalog_versions IS
    'Change counter per in-memory table (bumped by minerva_catalog_changed()); the proxy polls it '
    'as a fallback to LISTEN minerva_catalog.';

CREATE FUNCTION minerva_catalog_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO catalog_versions AS v (table_name, version, changed_at)
    VALUES (TG_TABLE_NAME, 1, now())
    ON CONFLICT (table_name) DO UPDATE SET version = v.version + 1, changed_at = now();
    PERFORM pg_notify('minerva_catalog', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION minerva_catalog_changed() IS
    'AFTER ... FOR EACH STATEMENT trigger: bump catalog_versions and NOTIFY minerva_catalog, TG_TABLE_NAME.';

INSERT INTO catalog_versions (table_name) VALUES
    ('platform_ai_providers'), ('platform_ai_credentials'), ('ai_models'), ('ai_model_prices'),
    ('ai_model_endpoints'), ('routing_strategies'), ('api_keys'), ('feature_flags');

CREATE TRIGGER platform_ai_providers_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON platform_ai_providers
    FOR EACH STATEMENT EXECUTE FUNCTION minerva_catalog_changed();
CREATE TRIGGER platform_ai_credentials_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON platform_ai_credentials
    FOR EACH STATEMENT EXECUTE FUNCTION minerva_catalog_changed();
CREATE TRIGGER ai_models_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ai_models
    FOR EACH STATEMENT EXECUTE FUNCTION minerva_catalog_changed();
CREATE TRIGGER ai_model_prices_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ai_model_prices
    FOR EACH STATEMENT EXECUTE FUNCTION minerva_catalog_changed();
CREATE TRIGGER ai_model_endpoints_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ai_model_endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION minerva_catalog_changed();
CREATE TRIGGER routing_strategies_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON routing_strategies
    FOR EACH STATEMENT EXECUTE FUNCTION minerva_catalog_changed();
CREATE TRIGGER feature_flags_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON feature_flags
    FOR EACH STATEMENT EXECUTE FUNCTION minerva_catalog_changed();

-- api_keys: every column but last_used_at, which the proxy itself touches as keys are used;
-- a column added to api_keys later that the proxy reads must be added to this list.
CREATE TRIGGER api_keys_notify
    AFTER INSERT OR DELETE OR TRUNCATE
       OR UPDATE OF id, name, key_hash, key_prefix, allowed_models, default_strategy, rpm_limit,
                    tpm_limit, budget_usd, budget_period, queue_when_limited, max_queue_wait_ms,
                    app, metadata, created_by, created_at, expires_at, revoked_at
    ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION minerva_catalog_changed();
