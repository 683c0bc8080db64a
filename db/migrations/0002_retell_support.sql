-- 0002: the plan's "Add Retell Support" migration, made adoption-safe (IF NOT EXISTS: a
-- database where part of it was applied by hand goes on from there).
ALTER TABLE user_agents
ADD COLUMN IF NOT EXISTS source_platform text DEFAULT 'highlevel' NOT NULL;

ALTER TABLE agents
ADD COLUMN IF NOT EXISTS retell_agent_id text UNIQUE;

ALTER TABLE calls
ADD COLUMN IF NOT EXISTS retell_call_id text UNIQUE,
ADD COLUMN IF NOT EXISTS source_platform text DEFAULT 'highlevel' NOT NULL;

CREATE INDEX IF NOT EXISTS idx_calls_source_platform ON calls(source_platform);
CREATE INDEX IF NOT EXISTS idx_calls_retell_call_id ON calls(retell_call_id);
CREATE INDEX IF NOT EXISTS idx_user_agents_source_platform ON user_agents(source_platform);
CREATE INDEX IF NOT EXISTS idx_agents_retell_agent_id ON agents(retell_agent_id);
