-- 0020: row level security on every table the migrations create or alter.
-- PostgREST exposes schema public to the anon key and to signed-in users (roles anon and
-- authenticated), and Supabase's default privileges grant them ALL on new tables. The functions
-- do not go through this: they connect as the tables' owner (Supabase: postgres, which also has
-- BYPASSRLS), which RLS does not restrict. What a frontend may read through PostgREST mirrors
-- the functions' own rules (docs/supabase.md, "Row level security"):
--   profiles          own row; admins all. Update: own full_name etc., never anyone's own role
--                     (admins may change another user's role). No insert or delete.
--   agents, calls     those of agents assigned to the user (user_agents); admins all. Read only.
--   user_agents       own assignments; admins all. Read only.
--   billing_accounts  own; admins all. Read only.
--   api_keys, webhook_inbox, key_usage_audit, oauth_states, sync_state, sync_runs,
--   schema_migrations secrets or raw provider data: RLS with no policy, and every privilege
--                     revoked from anon and authenticated.
-- anon reads nothing. TRUNCATE, REFERENCES and TRIGGER (which RLS does not govern) are revoked.
-- Existing policies of an adopted project stay (nothing is dropped); the restrictive policy
-- on profiles holds whatever they allow. On a plain PostgreSQL without these roles, RLS is
-- enabled (only the owner reaches the tables) and the role-specific part is skipped.

ALTER TABLE profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_inbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE key_usage_audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE oauth_states ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE schema_migrations ENABLE ROW LEVEL SECURITY;

-- auth.uid() as Supabase defines it (supabase/auth migrations/20220224000811): the sub claim
-- PostgREST puts in request.jwt.claims. Created only where Supabase's is absent.
DO $$
BEGIN
    IF to_regprocedure('auth.uid()') IS NULL THEN
        CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $f$
            SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid
        $f$;
    END IF;
END
$$;

-- Who is an admin is our data (profiles.role). SECURITY DEFINER: the owner reads profiles
-- past RLS, so the policies on profiles can ask without recursing into themselves.
CREATE OR REPLACE FUNCTION rls_is_admin() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce((SELECT role = 'admin' FROM profiles WHERE id = auth.uid()), false)
$$;

-- The stored role of a profile (the row as it was before the statement: a STABLE function
-- sees the statement's snapshot).
CREATE OR REPLACE FUNCTION rls_profile_role(p_id uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT role FROM profiles WHERE id = p_id
$$;

-- The agents a user may see: those assigned to them.
CREATE OR REPLACE FUNCTION rls_my_agent_ids() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT agent_id FROM user_agents WHERE user_id = auth.uid()
$$;

REVOKE ALL ON FUNCTION rls_is_admin(), rls_profile_role(uuid), rls_my_agent_ids() FROM PUBLIC;
REVOKE ALL ON FUNCTION billing_call_cost(uuid, text, text, integer), calls_apply_billing() FROM PUBLIC;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon')
        OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        RETURN;
    END IF;

    REVOKE ALL ON profiles, agents, user_agents, calls, billing_accounts, api_keys,
        webhook_inbox, key_usage_audit, oauth_states, sync_state, sync_runs, schema_migrations
        FROM anon, authenticated;
    REVOKE ALL ON SEQUENCE webhook_inbox_id_seq, key_usage_audit_id_seq, sync_runs_id_seq
        FROM anon, authenticated;
    REVOKE ALL ON FUNCTION rls_is_admin(), rls_profile_role(uuid), rls_my_agent_ids(),
        billing_call_cost(uuid, text, text, integer), calls_apply_billing() FROM anon, authenticated;
    GRANT EXECUTE ON FUNCTION rls_is_admin(), rls_profile_role(uuid), rls_my_agent_ids()
        TO authenticated;

    GRANT SELECT ON profiles, agents, user_agents, calls, billing_accounts TO authenticated;
    -- what a user may change of their own profile; role is guarded by the policies below
    GRANT UPDATE (full_name, role) ON profiles TO authenticated;

    DROP POLICY IF EXISTS callbridge_profiles_read ON profiles;
    CREATE POLICY callbridge_profiles_read ON profiles FOR SELECT TO authenticated
        USING (id = auth.uid() OR rls_is_admin());
    DROP POLICY IF EXISTS callbridge_profiles_update_own ON profiles;
    CREATE POLICY callbridge_profiles_update_own ON profiles FOR UPDATE TO authenticated
        USING (id = auth.uid()) WITH CHECK (id = auth.uid());
    DROP POLICY IF EXISTS callbridge_profiles_update_admin ON profiles;
    CREATE POLICY callbridge_profiles_update_admin ON profiles FOR UPDATE TO authenticated
        USING (rls_is_admin()) WITH CHECK (rls_is_admin());
    -- whatever other policies allow: a role changes only by an admin, never their own
    DROP POLICY IF EXISTS callbridge_profiles_role_guard ON profiles;
    CREATE POLICY callbridge_profiles_role_guard ON profiles AS RESTRICTIVE FOR UPDATE
        TO anon, authenticated
        USING (true)
        WITH CHECK (role IS NOT DISTINCT FROM rls_profile_role(id)
                    OR (rls_is_admin() AND id IS DISTINCT FROM auth.uid()));

    DROP POLICY IF EXISTS callbridge_agents_read ON agents;
    CREATE POLICY callbridge_agents_read ON agents FOR SELECT TO authenticated
        USING (rls_is_admin() OR id IN (SELECT rls_my_agent_ids()));
    DROP POLICY IF EXISTS callbridge_calls_read ON calls;
    CREATE POLICY callbridge_calls_read ON calls FOR SELECT TO authenticated
        USING (rls_is_admin() OR agent_id IN (SELECT rls_my_agent_ids()));
    DROP POLICY IF EXISTS callbridge_user_agents_read ON user_agents;
    CREATE POLICY callbridge_user_agents_read ON user_agents FOR SELECT TO authenticated
        USING (user_id = auth.uid() OR rls_is_admin());
    DROP POLICY IF EXISTS callbridge_billing_read ON billing_accounts;
    CREATE POLICY callbridge_billing_read ON billing_accounts FOR SELECT TO authenticated
        USING (user_id = auth.uid() OR rls_is_admin());
END
$$;
