-- 0017_overview_truth: the indexes behind the overview's "last run", "failing" and pending dead letters.
--
-- The overview's last run of a job is its newest row that is not a skip (a duplicate delivery or a
-- paused slot must not hide the run before it), and whether it is failing is read from its newest
-- final row (completed, failed, timed out, abandoned or missed). Both walk this index from the
-- newest entry and stop at the first row that qualifies; a job that never ran costs one probe. The
-- index on (job_name, started_at DESC) holding every row served the newest row of any status; a
-- lookup that skips skips through it reads every skip row on the way, and a generic plan chose the
-- started_at index instead, walking every job's rows.
CREATE INDEX IF NOT EXISTS idx_cron_logs_job_not_skipped ON cron_job_logs (job_name, started_at DESC NULLS LAST) WHERE status <> 'skipped';
--> statement-breakpoint
-- Pending dead letters per job, counted on every overview render.
CREATE INDEX IF NOT EXISTS idx_cron_dlq_pending_job ON cron_dead_letters (job_name) WHERE recovery_status = 'pending';
