-- 0002: the plan's "Add Retell Support" migration, as the plan writes it.
ALTER TABLE user_agents
ADD COLUMN source_platform text DEFAULT 'highlevel' NOT NULL;

ALTER TABLE agents
ADD COLUMN retell_agent_id text UNIQUE;

ALTER TABLE calls
ADD COLUMN retell_call_id text UNIQUE,
ADD COLUMN source_platform text DEFAULT 'highlevel' NOT NULL;

CREATE INDEX idx_calls_source_platform ON calls(source_platform);
CREATE INDEX idx_calls_retell_call_id ON calls(retell_call_id);
CREATE INDEX idx_user_agents_source_platform ON user_agents(source_platform);
CREATE INDEX idx_agents_retell_agent_id ON agents(retell_agent_id);
