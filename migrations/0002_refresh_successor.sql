-- With REFRESH_ROTATION on, a rotated refresh token remembers the one that replaced it, so
-- that presenting it again within REFRESH_REUSE_LEEWAY (two tabs, a retried request) returns
-- the same pair instead of revoking the session. Null for tokens never rotated.
ALTER TABLE refresh_tokens ADD COLUMN replaced_by TEXT;
