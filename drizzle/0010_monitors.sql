-- Conditions the tick (and the tick watch) evaluate: one row per job and monitor kind while it
-- is open (its threshold crossed, alerted under its own incident id); deleted when it clears,
-- which sends the one `recovered` alert. The history is in cron_alerts.
-- alerted_at: the last alert sent for the open incident, so the tick re-alerts per the job's
-- reAlertAfter window without claiming (and writing a suppressed cron_alerts row) every minute.
CREATE TABLE "cron_monitors" (
	"job_name" varchar(100) NOT NULL,
	"kind" varchar(20) NOT NULL,
	"incident_id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"checked_at" timestamp with time zone NOT NULL,
	"value" double precision,
	"detail" jsonb,
	"alerted_at" timestamp with time zone,
	CONSTRAINT "cron_monitors_job_name_kind_pk" PRIMARY KEY("job_name","kind")
);
--> statement-breakpoint
-- Late alerts look at slots after this instant, once each (set when the tick first sees the job,
-- moved past the checked slots each tick): the bookmark of the missed-slot check, for the late margin.
ALTER TABLE "cron_job_config" ADD COLUMN "late_checked_until" timestamp with time zone;
--> statement-breakpoint
-- The long-run check asks "has this run had its long_running alert?" per running run.
CREATE INDEX "idx_cron_alerts_run_kind" ON "cron_alerts" ("run_id", "kind") WHERE run_id IS NOT NULL;
