-- 0006: the HighLevel connection: OAuth states of the authorization-code flow, and what a
-- connection's token refresh left behind (a refresh the provider rejected ends the connection).

-- One row per authorization started: the random state ties the provider's redirect back to the
-- user it was started for; single use (used_at), valid for ten minutes (expires_at).
CREATE TABLE IF NOT EXISTS oauth_states (
    state text PRIMARY KEY,
    provider text NOT NULL DEFAULT 'highlevel',
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    created_by uuid REFERENCES auth.users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX IF NOT EXISTS idx_oauth_states_expires ON oauth_states (expires_at);

-- status: 'connected', or 'refresh_rejected' when the provider refused the refresh token (the
-- connection is then inactive until the user authorises again); last_error says why.
ALTER TABLE api_keys
    ADD COLUMN IF NOT EXISTS status text,
    ADD COLUMN IF NOT EXISTS last_error text,
    ADD COLUMN IF NOT EXISTS token_refreshed_at timestamptz;
