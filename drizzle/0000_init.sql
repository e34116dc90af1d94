CREATE SEQUENCE "public"."cron_fencing_token_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "cron_audit_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "cron_audit_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"actor" text NOT NULL,
	"action" varchar(50) NOT NULL,
	"target" text,
	"detail" jsonb,
	"ip_address" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cron_dead_letters" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_id" uuid NOT NULL,
	"job_name" varchar(100) NOT NULL,
	"scheduled_for" timestamp with time zone,
	"failure_reason" text NOT NULL,
	"error_stack" text,
	"attempts" integer DEFAULT 1 NOT NULL,
	"recovery_status" varchar(20) DEFAULT 'pending' NOT NULL,
	"notes" text,
	"assigned_to" text,
	"priority" varchar(10) DEFAULT 'normal' NOT NULL,
	"replay_count" integer DEFAULT 0 NOT NULL,
	"last_replayed_at" timestamp with time zone,
	"last_replay_run_id" uuid,
	"resolved_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cron_job_config" (
	"job_name" varchar(100) PRIMARY KEY NOT NULL,
	"enabled" boolean DEFAULT true,
	"last_modified_at" timestamp with time zone DEFAULT now(),
	"last_modified_by" text,
	"notes" text,
	"paused" boolean DEFAULT false NOT NULL,
	"paused_reason" text,
	"paused_at" timestamp with time zone,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"consecutive_dead_letters" integer DEFAULT 0 NOT NULL,
	"dead_lettered" boolean DEFAULT false NOT NULL,
	"dead_letter_reason" text,
	"dead_lettered_since" timestamp with time zone,
	"last_notification_at" timestamp with time zone,
	"last_notification_kind" varchar(30)
);
--> statement-breakpoint
CREATE TABLE "cron_job_leases" (
	"job_name" varchar(100) PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"fencing_token" bigint NOT NULL,
	"holder" text NOT NULL,
	"acquired_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cron_job_logs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"job_name" varchar(100) NOT NULL,
	"status" varchar(20) NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	"duration_ms" integer,
	"error_message" text,
	"attempts" integer DEFAULT 1,
	"created_at" timestamp with time zone DEFAULT now(),
	"scheduled_for" timestamp with time zone,
	"trigger" varchar(20) DEFAULT 'schedule' NOT NULL,
	"dedupe_key" text,
	"skip_reason" varchar(30),
	"fencing_token" bigint,
	"lease_expires_at" timestamp with time zone,
	"holder" text,
	"error_stack" text,
	"output" jsonb,
	"log_lines" jsonb,
	"attempt_details" jsonb,
	"code_version" text,
	"actor" text,
	"cancel_requested_at" timestamp with time zone,
	"next_retry_at" timestamp with time zone,
	"replay_of" uuid
);
--> statement-breakpoint
CREATE INDEX "idx_cron_audit_created" ON "cron_audit_log" USING btree ("created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "idx_cron_dlq_status_created" ON "cron_dead_letters" USING btree ("recovery_status","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "idx_cron_dlq_job" ON "cron_dead_letters" USING btree ("job_name","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "uq_cron_dlq_run" ON "cron_dead_letters" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "idx_cron_logs_job_started" ON "cron_job_logs" USING btree ("job_name","started_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "idx_cron_logs_status" ON "cron_job_logs" USING btree ("status");--> statement-breakpoint
CREATE INDEX "idx_cron_logs_started_at" ON "cron_job_logs" USING btree ("started_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "idx_cron_logs_job_status" ON "cron_job_logs" USING btree ("job_name","status");--> statement-breakpoint
CREATE UNIQUE INDEX "uq_cron_logs_job_dedupe" ON "cron_job_logs" USING btree ("job_name","dedupe_key");--> statement-breakpoint
CREATE UNIQUE INDEX "uq_cron_logs_job_slot" ON "cron_job_logs" USING btree ("job_name","scheduled_for") WHERE dedupe_key LIKE 'slot:%';--> statement-breakpoint
CREATE INDEX "idx_cron_logs_running" ON "cron_job_logs" USING btree ("job_name") WHERE status = 'started';