-- 0015_backfills: backfills over a range (lib/backfill). One row per backfill: the exact slots
-- it planned (at most 1,000), the index of the next one to run, what the slots came to, and the
-- runner's lease (holder, expires_at), heartbeated while a slot runs: a runner that died leaves
-- a lease that expires, and the next runner (the tick, the API, the CLI) takes it over and goes
-- on from next_index. A slot is never run twice across runners: its run row's dedupe key is
-- the proof (slot:<iso>, or backfill:<id>:<iso> with overlap all), looked up before each slot.
-- At most one running backfill per job (cron_backfills_one_running): two would race for the
-- same slots.
CREATE TABLE IF NOT EXISTS cron_backfills (
  id uuid PRIMARY KEY,
  job_name varchar(100) NOT NULL,
  range_from timestamptz NOT NULL,
  range_to timestamptz NOT NULL,
  overlap text NOT NULL CHECK (overlap IN ('skip', 'all')),
  slots timestamptz[] NOT NULL,
  -- The input every slot's run gets (checked by the job's input schema at creation); NULL: the job's default.
  input jsonb,
  next_index integer NOT NULL DEFAULT 0,
  ran integer NOT NULL DEFAULT 0,
  completed integer NOT NULL DEFAULT 0,
  failed integer NOT NULL DEFAULT 0,
  skipped integer NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
  error text,
  last_run_id uuid,
  actor text NOT NULL,
  cancel_requested_at timestamptz,
  cancelled_by text,
  runner_holder text,
  runner_expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS cron_backfills_one_running ON cron_backfills (job_name) WHERE status = 'running';
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS idx_cron_backfills_job_created ON cron_backfills (job_name, created_at DESC);
