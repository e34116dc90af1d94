-- The tick's queues. Due deferred retries are picked oldest first across jobs with a cap per
-- job (lib/db/tick-queries.ts dueRetries), and a job's pending catch-ups (missed rows with
-- next_retry_at set, until the execute route has claimed their slot) oldest first: both scan
-- only rows still waiting, which these partial indexes hold (a handful, against every run row).
CREATE INDEX IF NOT EXISTS idx_cron_logs_retry_due ON cron_job_logs (next_retry_at) WHERE status = 'retry_scheduled';
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS idx_cron_logs_catchup_pending ON cron_job_logs (job_name, scheduled_for) WHERE status = 'missed' AND next_retry_at IS NOT NULL;
