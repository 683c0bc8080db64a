-- 0042 (issue 16, finding 10): an OAuth state is bound to the browser that started the flow.
-- A state alone was a bearer: a client could send their authorize_url to a victim, whose consent
-- then stored the victim's location tokens under the client. The starting browser now keeps an
-- RFC 7636 code_verifier and sends only its S256 challenge, stored here; the provider's redirect
-- no longer exchanges the code, and the code is exchanged only when the signed-in starter
-- presents the verifier. States started before this migration have no challenge and cannot be
-- completed: the user starts again.
ALTER TABLE oauth_states ADD COLUMN IF NOT EXISTS code_challenge text;
