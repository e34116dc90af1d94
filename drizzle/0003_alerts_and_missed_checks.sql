CREATE TABLE "cron_alerts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "cron_alerts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"job_name" varchar(100) NOT NULL,
	"kind" varchar(20) NOT NULL,
	"run_id" uuid,
	"channel" varchar(20) NOT NULL,
	"status" varchar(20) NOT NULL,
	"error" text,
	"message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "cron_job_config" ADD COLUMN "missed_checked_until" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "idx_cron_alerts_job_kind_created" ON "cron_alerts" USING btree ("job_name","kind","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "idx_cron_alerts_created" ON "cron_alerts" USING btree ("created_at" DESC NULLS LAST);