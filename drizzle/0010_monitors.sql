-- Conditions the tick (and the tick watch) evaluate: one row per job and monitor kind while it
-- is open (its threshold crossed, alerted under its own incident id); deleted when it clears,
-- which sends the one `recovered` alert. The history is in cron_alerts.
CREATE TABLE "cron_monitors" (
	"job_name" varchar(100) NOT NULL,
	"kind" varchar(20) NOT NULL,
	"incident_id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"checked_at" timestamp with time zone NOT NULL,
	"value" double precision,
	"detail" jsonb,
	CONSTRAINT "cron_monitors_job_name_kind_pk" PRIMARY KEY("job_name","kind")
);
