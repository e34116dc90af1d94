-- Server-side admin sessions (the signed cookie names a row; the row decides: revoked on logout
-- and on ADMIN_TOKEN rotation, idle expiry from last_seen_at), the login limiter's counters shared
-- by every instance (per client address and in total, per fixed window), and the session behind
-- each audit row.
CREATE TABLE "cron_admin_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"actor" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"revoked_reason" varchar(30),
	"token_fingerprint" text NOT NULL,
	"ip_address" text,
	"user_agent" text
);
--> statement-breakpoint
CREATE TABLE "cron_login_attempts" (
	"key" text NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"attempts" integer NOT NULL,
	CONSTRAINT "cron_login_attempts_key_window_start_pk" PRIMARY KEY("key","window_start")
);
--> statement-breakpoint
ALTER TABLE "cron_audit_log" ADD COLUMN "session_id" text;--> statement-breakpoint
CREATE INDEX "idx_cron_admin_sessions_expires" ON "cron_admin_sessions" USING btree ("expires_at");
