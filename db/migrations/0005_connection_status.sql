-- 0005: what the connection status answers without opening the sealed key: the key's last four
-- characters (a hint an admin recognises, never enough to use it).
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS key_hint text;
