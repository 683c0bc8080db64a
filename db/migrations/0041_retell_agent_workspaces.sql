-- 0041 (issue 16, finding 1): which connected Retell workspace owns each agent. A delivery to the
-- account-level webhook URL names an agent, not a workspace, and the webhook used to try every
-- connected key (then the 8 most recent ones): a forged 2 MB delivery cost one HMAC per workspace,
-- and an older workspace's unassigned agent was never verified. Now the workspaces that list an
-- agent are learned from the provider itself (fetch-retell-agents lists a workspace's agents with
-- its key; a sync lists its calls), and a delivery naming a known agent is checked against those
-- keys only. A delivery cannot teach: a tenant signing a body that names another's agent with
-- their own key would otherwise make themselves its only owner.
CREATE TABLE IF NOT EXISTS retell_agent_workspaces (
    retell_agent_id text NOT NULL,
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    learned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (retell_agent_id, user_id)
);
CREATE INDEX IF NOT EXISTS idx_retell_agent_workspaces_user ON retell_agent_workspaces (user_id);

-- provider bookkeeping, like api_keys: no policy, and nothing for PostgREST's roles
ALTER TABLE retell_agent_workspaces ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon')
        AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        REVOKE ALL ON retell_agent_workspaces FROM anon, authenticated;
    END IF;
END
$$;
