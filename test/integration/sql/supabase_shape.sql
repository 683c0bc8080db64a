-- A Supabase-shaped database: what a Supabase project has before our migrations run, written
-- from Supabase's published sources (facts, not their files):
--   supabase/postgres migrations/db/init-scripts/00000000000000-initial-schema.sql  (roles,
--     default privileges)
--   supabase/postgres migrations/db/init-scripts/00000000000001-auth-schema.sql     (auth
--     schema, auth.users, auth.uid/role/email, supabase_auth_admin as owner)
--   supabase/postgres migrations/db/migrations/10000000000000_demote-postgres.sql   (postgres
--     is NOSUPERUSER CREATEDB CREATEROLE LOGIN REPLICATION BYPASSRLS, ALL on auth's tables)
--   supabase/postgres migrations/db/migrations/20230201083204_grant_auth_roles_to_postgres.sql
--   supabase/auth migrations/20210710035447_alter_users, 20210722035447_adds_confirmed_at,
--     20210730183235_add_email_change_confirmed, 20220114185340_add_banned_until,
--     20220323170000_add_user_reauthentication, 20221215195500_modify_users_email_unique_index,
--     20230116124310_alter_phone_type, 20230116124412_add_deleted_at,
--     20240214120130_add_is_anonymous_column (auth.users' columns today)
--   supabase/auth migrations/20220224000811_update_auth_functions, 20220531120530_add_auth_jwt
--     (auth.uid(), auth.role(), auth.jwt() read request.jwt.claims, as PostgREST sets it)
-- Today's projects give postgres no CREATE on schema auth (docs/supabase.md); we keep it so.
-- This cluster's superuser is already called postgres, so Supabase's postgres role is played
-- by project_owner (same attributes). Run as the cluster superuser; idempotent per cluster
-- (roles) and per database.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
        CREATE ROLE anon NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') THEN
        CREATE ROLE authenticator LOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supabase_auth_admin') THEN
        CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE NOREPLICATION;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'project_owner') THEN
        CREATE ROLE project_owner LOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS;
    END IF;
END
$$;
GRANT anon, authenticated, service_role TO authenticator;
GRANT anon, authenticated, service_role TO project_owner;
ALTER ROLE anon SET statement_timeout = '3s';
ALTER ROLE authenticated SET statement_timeout = '8s';

-- public belongs to the project's owner role; API roles use it, and get ALL on what it creates
-- there (the default privileges issue 14 is about).
ALTER SCHEMA public OWNER TO project_owner;
GRANT USAGE ON SCHEMA public TO project_owner, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE project_owner IN SCHEMA public
    GRANT ALL ON TABLES TO project_owner, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE project_owner IN SCHEMA public
    GRANT ALL ON FUNCTIONS TO project_owner, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE project_owner IN SCHEMA public
    GRANT ALL ON SEQUENCES TO project_owner, anon, authenticated, service_role;
-- and on what the superuser creates (Supabase: "for user supabase_admin")
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT ALL ON TABLES TO project_owner, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT ALL ON SEQUENCES TO project_owner, anon, authenticated, service_role;
DO $$
BEGIN
    EXECUTE format('GRANT CREATE, CONNECT, TEMPORARY ON DATABASE %I TO project_owner',
                   current_database());
END
$$;

CREATE SCHEMA IF NOT EXISTS extensions;
GRANT USAGE ON SCHEMA extensions TO project_owner, anon, authenticated, service_role;

CREATE SCHEMA IF NOT EXISTS auth AUTHORIZATION supabase_auth_admin;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role, project_owner;

CREATE TABLE IF NOT EXISTS auth.users (
    instance_id uuid NULL,
    id uuid NOT NULL,
    aud varchar(255) NULL,
    "role" varchar(255) NULL,
    email varchar(255) NULL,
    encrypted_password varchar(255) NULL,
    email_confirmed_at timestamptz NULL,
    invited_at timestamptz NULL,
    confirmation_token varchar(255) NULL,
    confirmation_sent_at timestamptz NULL,
    recovery_token varchar(255) NULL,
    recovery_sent_at timestamptz NULL,
    email_change_token_new varchar(255) NULL,
    email_change varchar(255) NULL,
    email_change_sent_at timestamptz NULL,
    last_sign_in_at timestamptz NULL,
    raw_app_meta_data jsonb NULL,
    raw_user_meta_data jsonb NULL,
    is_super_admin bool NULL,
    created_at timestamptz NULL,
    updated_at timestamptz NULL,
    phone text NULL UNIQUE DEFAULT NULL,
    phone_confirmed_at timestamptz NULL DEFAULT NULL,
    phone_change text NULL DEFAULT '',
    phone_change_token varchar(255) NULL DEFAULT '',
    phone_change_sent_at timestamptz NULL DEFAULT NULL,
    confirmed_at timestamptz GENERATED ALWAYS AS (LEAST(email_confirmed_at, phone_confirmed_at)) STORED,
    email_change_token_current varchar(255) NULL DEFAULT '',
    email_change_confirm_status smallint DEFAULT 0
        CHECK (email_change_confirm_status >= 0 AND email_change_confirm_status <= 2),
    banned_until timestamptz NULL,
    reauthentication_token varchar(255) NULL DEFAULT '',
    reauthentication_sent_at timestamptz NULL DEFAULT NULL,
    is_sso_user boolean NOT NULL DEFAULT false,
    deleted_at timestamptz NULL,
    is_anonymous boolean NOT NULL DEFAULT false,
    CONSTRAINT users_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_partial_key ON auth.users (email) WHERE (is_sso_user = false);
CREATE INDEX IF NOT EXISTS users_instance_id_idx ON auth.users USING btree (instance_id);
CREATE INDEX IF NOT EXISTS users_is_anonymous_idx ON auth.users USING btree (is_anonymous);
ALTER TABLE auth.users OWNER TO supabase_auth_admin;
ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
GRANT ALL ON auth.users TO supabase_auth_admin, project_owner;

CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid
$$;
CREATE OR REPLACE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text
$$;
CREATE OR REPLACE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('request.jwt.claim.email', true), ''),
                    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email'))::text
$$;
CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                    nullif(current_setting('request.jwt.claims', true), ''))::jsonb
$$;
ALTER FUNCTION auth.uid() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.role() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.email() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.jwt() OWNER TO supabase_auth_admin;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA auth TO anon, authenticated, service_role, project_owner;
