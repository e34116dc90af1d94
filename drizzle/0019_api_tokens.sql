-- 0019_api_tokens: roles. Personal API tokens with a role, so that a script acts as a named person with
-- no more rights than it needs, and the audit log says who (lib/auth/api-tokens.ts).
--
-- The secret is never stored: token_hash is its SHA-256 (a token is 256 random bits, so a fast
-- hash is enough; a slow one protects guessable passwords, which these are not). `prefix` is the
-- secret's first characters, shown in lists so that a person can tell their tokens apart.
CREATE TABLE IF NOT EXISTS cron_api_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  owner text NOT NULL,
  role varchar(20) NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  token_hash text NOT NULL UNIQUE,
  prefix text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  revoked_by text
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS idx_cron_api_tokens_owner ON cron_api_tokens (owner, created_at DESC);
--> statement-breakpoint
-- A session's person and role: an ADMIN_TOKEN login is "admin" with the admin role (every session
-- before 0019 was one); a login through the identity provider (OIDC) is its person with the role
-- the configuration gives them.
ALTER TABLE cron_admin_sessions ADD COLUMN IF NOT EXISTS role varchar(20) NOT NULL DEFAULT 'admin';
