-- 0001: the schema the integration plan calls "existing" (HighLevel era).
-- Adoption-safe (docs/supabase.md): on a database that already has these tables (a Supabase
-- project running the HighLevel integration) every table is created only if absent and every
-- column we use is added only if absent; nothing is dropped, retyped or rewritten, existing
-- rows keep their values, and constraints are added only to tables created here. The unique
-- keys our upserts name (ON CONFLICT) are made sure of, reusing an equivalent existing one.

-- On Supabase auth.users exists, owned by supabase_auth_admin, and postgres may not CREATE in
-- schema auth (CREATE ... IF NOT EXISTS checks that privilege first): test before creating.
-- On a plain PostgreSQL we create the minimal part we use.
DO $$
BEGIN
    IF to_regclass('auth.users') IS NULL THEN
        CREATE SCHEMA IF NOT EXISTS auth;
        CREATE TABLE auth.users (
            id uuid PRIMARY KEY,
            email text,
            created_at timestamptz NOT NULL DEFAULT now()
        );
    END IF;
END
$$;

-- (pg_temp: gone with the session, and dropped at the end, since behind a pooler the session
-- outlives this migration.)
-- A unique index on exactly these columns, unless the table already has one (any name,
-- constraint or index, not partial): what ON CONFLICT (cols) needs.
CREATE OR REPLACE PROCEDURE pg_temp.ensure_unique(tbl regclass, cols text[], idx text)
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indrelid = tbl AND i.indisunique AND i.indpred IS NULL
          AND (SELECT array_agg(a.attname::text ORDER BY a.attname)
               FROM pg_attribute a
               WHERE a.attrelid = tbl AND a.attnum = ANY (i.indkey))
              = (SELECT array_agg(c ORDER BY c) FROM unnest(cols) c)
          AND i.indnatts = cardinality(cols)) THEN
        EXECUTE format('CREATE UNIQUE INDEX %I ON %s (%s)', idx, tbl,
                       (SELECT string_agg(quote_ident(c), ', ') FROM unnest(cols) c));
    END IF;
END
$$;

-- An id default for inserts that leave id out, unless the column has one already.
CREATE OR REPLACE PROCEDURE pg_temp.ensure_uuid_default(tbl regclass)
LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT atthasdef FROM pg_attribute WHERE attrelid = tbl AND attname = 'id') = false THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN id SET DEFAULT gen_random_uuid()', tbl);
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS profiles (
    id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
    email text,
    full_name text,
    role text NOT NULL DEFAULT 'client' CHECK (role IN ('admin', 'client')),
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE profiles
    ADD COLUMN IF NOT EXISTS email text,
    ADD COLUMN IF NOT EXISTS full_name text,
    ADD COLUMN IF NOT EXISTS role text NOT NULL DEFAULT 'client';
CALL pg_temp.ensure_unique('profiles', '{id}', 'profiles_id_key');

CREATE TABLE IF NOT EXISTS agents (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    source_platform text NOT NULL DEFAULT 'highlevel',
    highlevel_agent_id text UNIQUE,
    location_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE agents
    ADD COLUMN IF NOT EXISTS source_platform text NOT NULL DEFAULT 'highlevel',
    ADD COLUMN IF NOT EXISTS highlevel_agent_id text,
    ADD COLUMN IF NOT EXISTS location_id text,
    ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();
CALL pg_temp.ensure_uuid_default('agents');
CALL pg_temp.ensure_unique('agents', '{highlevel_agent_id}', 'agents_highlevel_agent_id_key');

CREATE TABLE IF NOT EXISTS user_agents (
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, agent_id)
);
ALTER TABLE user_agents ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now();
CALL pg_temp.ensure_unique('user_agents', '{user_id,agent_id}', 'user_agents_user_agent_key');
CREATE INDEX IF NOT EXISTS idx_user_agents_agent ON user_agents (agent_id);

CREATE TABLE IF NOT EXISTS calls (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid REFERENCES auth.users (id) ON DELETE SET NULL,
    agent_id uuid REFERENCES agents (id) ON DELETE SET NULL,
    highlevel_call_id text UNIQUE,
    highlevel_message_id text,
    contact_id text,
    from_number text,
    to_number text,
    started_at timestamptz,
    ended_at timestamptz,
    duration_seconds integer CHECK (duration_seconds >= 0),
    cost numeric(14, 4),
    transcript text,
    recording_url text,
    summary text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE calls
    ADD COLUMN IF NOT EXISTS user_id uuid,
    ADD COLUMN IF NOT EXISTS agent_id uuid,
    ADD COLUMN IF NOT EXISTS highlevel_call_id text,
    ADD COLUMN IF NOT EXISTS highlevel_message_id text,
    ADD COLUMN IF NOT EXISTS contact_id text,
    ADD COLUMN IF NOT EXISTS from_number text,
    ADD COLUMN IF NOT EXISTS to_number text,
    ADD COLUMN IF NOT EXISTS started_at timestamptz,
    ADD COLUMN IF NOT EXISTS ended_at timestamptz,
    ADD COLUMN IF NOT EXISTS duration_seconds integer,
    ADD COLUMN IF NOT EXISTS cost numeric(14, 4),
    ADD COLUMN IF NOT EXISTS transcript text,
    ADD COLUMN IF NOT EXISTS recording_url text,
    ADD COLUMN IF NOT EXISTS summary text,
    ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();
CALL pg_temp.ensure_uuid_default('calls');
CALL pg_temp.ensure_unique('calls', '{highlevel_call_id}', 'calls_highlevel_call_id_key');

-- One row per user and service; access_token / refresh_token hold sealed (encrypted) values.
-- An adopted table's tokens stay as they were: docs/supabase.md says how to reseal them.
CREATE TABLE IF NOT EXISTS api_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    service text NOT NULL,
    access_token text,
    refresh_token text,
    token_expires_at timestamptz,
    location_id text,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, service)
);
ALTER TABLE api_keys
    ADD COLUMN IF NOT EXISTS access_token text,
    ADD COLUMN IF NOT EXISTS refresh_token text,
    ADD COLUMN IF NOT EXISTS token_expires_at timestamptz,
    ADD COLUMN IF NOT EXISTS location_id text,
    ADD COLUMN IF NOT EXISTS is_active boolean NOT NULL DEFAULT true,
    ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();
CALL pg_temp.ensure_uuid_default('api_keys');
CALL pg_temp.ensure_unique('api_keys', '{user_id,service}', 'api_keys_user_id_service_key');

CREATE TABLE IF NOT EXISTS billing_accounts (
    user_id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
    inbound_rate_per_minute numeric(12, 4) NOT NULL DEFAULT 0 CHECK (inbound_rate_per_minute >= 0),
    outbound_rate_per_minute numeric(12, 4) NOT NULL DEFAULT 0 CHECK (outbound_rate_per_minute >= 0),
    web_call_rate_per_minute numeric(12, 4) NOT NULL DEFAULT 0 CHECK (web_call_rate_per_minute >= 0),
    billing_increment_seconds integer NOT NULL DEFAULT 60 CHECK (billing_increment_seconds > 0),
    currency text NOT NULL DEFAULT 'USD',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE billing_accounts
    ADD COLUMN IF NOT EXISTS inbound_rate_per_minute numeric(12, 4) NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS outbound_rate_per_minute numeric(12, 4) NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS web_call_rate_per_minute numeric(12, 4) NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS billing_increment_seconds integer NOT NULL DEFAULT 60,
    ADD COLUMN IF NOT EXISTS currency text NOT NULL DEFAULT 'USD',
    ADD COLUMN IF NOT EXISTS created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();
CALL pg_temp.ensure_unique('billing_accounts', '{user_id}', 'billing_accounts_user_id_key');

DROP PROCEDURE pg_temp.ensure_unique(regclass, text[], text);
DROP PROCEDURE pg_temp.ensure_uuid_default(regclass);
