-- 0001: the schema the integration plan calls "existing" (HighLevel era).
-- On Supabase auth.users already exists; on a plain PostgreSQL we create the minimal part we use.
CREATE SCHEMA IF NOT EXISTS auth;
CREATE TABLE IF NOT EXISTS auth.users (
    id uuid PRIMARY KEY,
    email text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE profiles (
    id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
    email text,
    full_name text,
    role text NOT NULL DEFAULT 'client' CHECK (role IN ('admin', 'client')),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agents (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    source_platform text NOT NULL DEFAULT 'highlevel',
    highlevel_agent_id text UNIQUE,
    location_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_agents (
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, agent_id)
);
CREATE INDEX idx_user_agents_agent ON user_agents (agent_id);

CREATE TABLE calls (
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

-- One row per user and service; access_token / refresh_token hold sealed (encrypted) values.
CREATE TABLE api_keys (
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

CREATE TABLE billing_accounts (
    user_id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
    inbound_rate_per_minute numeric(12, 4) NOT NULL DEFAULT 0 CHECK (inbound_rate_per_minute >= 0),
    outbound_rate_per_minute numeric(12, 4) NOT NULL DEFAULT 0 CHECK (outbound_rate_per_minute >= 0),
    web_call_rate_per_minute numeric(12, 4) NOT NULL DEFAULT 0 CHECK (web_call_rate_per_minute >= 0),
    billing_increment_seconds integer NOT NULL DEFAULT 60 CHECK (billing_increment_seconds > 0),
    currency text NOT NULL DEFAULT 'USD',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
