-- 0019_identity: named admins with roles. A session carries its person's role; personal API tokens are stored hashed (SHA-256 of a random secret), never the secret.
ALTER TABLE "cron_admin_sessions" ADD COLUMN IF NOT EXISTS "role" varchar(20) NOT NULL DEFAULT 'admin';
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "cron_api_tokens" (
  "id" text PRIMARY KEY NOT NULL,
  "name" varchar(100) NOT NULL,
  "owner" text NOT NULL,
  "role" varchar(20) NOT NULL,
  "token_hash" text NOT NULL,
  "prefix" varchar(20) NOT NULL,
  "created_at" timestamp with time zone NOT NULL,
  "expires_at" timestamp with time zone,
  "last_used_at" timestamp with time zone,
  "revoked_at" timestamp with time zone,
  "revoked_by" text
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "idx_cron_api_tokens_hash" ON "cron_api_tokens" ("token_hash");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "idx_cron_api_tokens_owner" ON "cron_api_tokens" ("owner");
