/**
 * A realistic month of history for six console jobs (CONSOLE_JOBS, defined in lib/jobs/console-jobs.ts:
 * only a server with CRONDECK_CONSOLE_JOBS=1 registers them, and nothing triggers them): about 10,000 cron_job_logs rows over 30 days, inserted set-based (INSERT ... SELECT generate_series)
 * with the rollup trigger off, then crondeck_stats_rebuild(), as bench/dashboard.ts loads its
 * million (the trigger's per-row upserts cost more than the insert itself in one statement).
 *
 * Per scheduled slot: ~95% completed (log-normal durations around the job's median), ~2%
 * failed, 1% timed out, 0.5% abandoned (with the huge durations an expired lease records,
 * 20 min to 6 h), 0.5% missed; ~1% of slots delivered twice (a `skipped: duplicate` row a few
 * seconds after the run). Failures get their dead-letter entries: the older ones replayed or
 * marked failed (with the operator's audit row), the last three days' still pending.
 *
 * Deterministic: the "random" numbers are hashes of the job, the slot's index and a salt, so a
 * second seed at the same `now` writes the same rows. Runs on PGlite and on a Postgres server.
 *
 * The scenarios the console's tests assert on (exported below):
 * - console-nightly: its latest slot (02:00 in Paris) failed, and a duplicate delivery of the
 *   same slot was skipped after it (the skip must not hide the failure);
 * - console-export: a manual run `started` 6 hours ago whose lease expired 5 h 59 min ago,
 *   its holder iad1:dpl_console_7f3a (stale, never "running"), its lease row still there;
 * - console-paused: paused by alice 2 hours ago ("vendor maintenance"), no runs since;
 * - console-dead: dead-lettered after 3 failures in a row, 3 entries pending.
 */
import { sql } from "drizzle-orm";
import { dedupeKeyFor } from "@/lib/cron/claim";
import { JobTimeoutError } from "@/lib/cron/errors";
import { occurrencesBetween, type Schedule } from "@/lib/cron/schedule";
import type { JobDefinition } from "@/lib/cron/define-job";
import { queryRows, type Db } from "@/lib/db/client";
import { consoleJobs } from "@/lib/jobs/console-jobs";

export const CONSOLE_JOBS = ["console-sync", "console-hourly", "console-nightly", "console-paused", "console-dead", "console-export"] as const;
export type ConsoleJob = (typeof CONSOLE_JOBS)[number];

export const MONTH_SCENARIO = {
  /** Latest slot failed, then a duplicate delivery of it was skipped. */
  failedNightly: { job: "console-nightly", error: "report upstream answered 502 Bad Gateway" },
  /** A run started 6 h ago whose lease expired a minute later: stale. */
  staleRun: { job: "console-export", holder: "iad1:dpl_console_7f3a", startedAgoMs: 6 * 3_600_000, leaseMs: 60_000 },
  paused: { job: "console-paused", by: "alice", reason: "vendor maintenance", agoMs: 2 * 3_600_000 },
  deadLettered: { job: "console-dead", failures: 3, error: "warehouse refused the connection: ECONNREFUSED" },
  holder: "iad1:dpl_console",
} as const;

/** The jobs' definitions, as a server with CRONDECK_CONSOLE_JOBS=1 registers them: their schedules are the seed's. */
export const CONSOLE_DEFINITIONS: Record<ConsoleJob, JobDefinition> = Object.fromEntries(
  CONSOLE_JOBS.map((name) => [name, consoleJobs.find((j) => j.name === name)!]),
) as Record<ConsoleJob, JobDefinition>;
const MEDIAN_MS: Record<ConsoleJob, number> = {
  "console-sync": 1_800,
  "console-hourly": 12_000,
  "console-nightly": 95_000,
  "console-paused": 4_000,
  "console-dead": 20_000,
  "console-export": 40_000,
};
const SPECS: Record<ConsoleJob, { schedule: Schedule; medianMs: number }> = Object.fromEntries(
  CONSOLE_JOBS.map((name) => [name, { schedule: CONSOLE_DEFINITIONS[name].schedule, medianMs: MEDIAN_MS[name] }]),
) as Record<ConsoleJob, { schedule: Schedule; medianMs: number }>;
/** What the engine stores as a timed-out run's error (the seeded jobs time out at 30 s). */
const TIMED_OUT_MESSAGE = new JobTimeoutError(30_000).message;

export interface MonthHistory {
  /** The id of each job's latest scheduled slot's run. */
  latestRunIds: Record<string, string>;
  staleRunId: string;
  failedNightlyRunId: string;
  duplicateSkipId: string;
  /** Pending dead-letter entries per console job, and in all. */
  pendingDeadLetters: Record<string, number>;
  pendingTotal: number;
  rows: number;
}

/** A number in [0, 1) from a job, a slot index and a salt: deterministic, spread like random(). */
const rand = (salt: string) => sql.raw(`((abs(hashtext(s.job || ':' || s.k || ':${salt}')) % 1000000) / 1000000.0)`);

/**
 * The job's slots in the 30 days before `until`, newest first (k = 0 is the latest), with the
 * dedupe key a scheduled run of each holds: the engine's own schedule maths and key.
 */
function slotsOf(job: ConsoleJob, now: Date, until: Date): ReturnType<typeof sql> {
  const slots = occurrencesBetween(SPECS[job].schedule, new Date(now.getTime() - 30 * 86_400_000), until, 100_000).reverse();
  const list = slots.map((slot) => ({ iso: slot.toISOString(), key: dedupeKeyFor({ trigger: "schedule", scheduledFor: slot, idempotencyKey: null, backfillId: null }) }));
  return sql`SELECT ${job}::text AS job, (u.ord - 1)::int AS k, (u.v->>'iso')::timestamptz AS slot, u.v->>'iso' AS iso, u.v->>'key' AS key
             FROM jsonb_array_elements(${JSON.stringify(list)}::jsonb) WITH ORDINALITY AS u(v, ord)`;
}

/** Where a job's history stops: a paused job ran until it was paused; the dead-lettered one until its third failure. */
function untilOf(job: ConsoleJob, now: Date): Date {
  if (job === "console-paused") return new Date(now.getTime() - MONTH_SCENARIO.paused.agoMs);
  return now;
}

function insertSlots(job: ConsoleJob, now: Date) {
  const { medianMs } = SPECS[job];
  const holder = MONTH_SCENARIO.holder;
  // The status of slot k: the scenarios' last slots are fixed, the rest drawn.
  const forced =
    job === "console-nightly"
      ? sql.raw(`WHEN s.k = 0 THEN 'failed' WHEN s.k = 1 THEN 'completed'`)
      : job === "console-dead"
        ? sql.raw(`WHEN s.k < ${MONTH_SCENARIO.deadLettered.failures} THEN 'failed' WHEN s.k = ${MONTH_SCENARIO.deadLettered.failures} THEN 'completed'`)
        : job === "console-export" || job === "console-sync" || job === "console-hourly"
          ? sql.raw(`WHEN s.k < 2 THEN 'completed'`)
          : sql.raw("WHEN false THEN ''");
  const error =
    job === "console-nightly"
      ? sql`CASE WHEN x.k = 0 THEN ${MONTH_SCENARIO.failedNightly.error}::text ELSE 'report upstream answered 503 Service Unavailable' END`
      : job === "console-dead"
        ? sql`${MONTH_SCENARIO.deadLettered.error}::text`
        : sql`'upstream answered 503 Service Unavailable'::text`;
  return sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, error_message, attempts, scheduled_for, trigger, dedupe_key, holder, created_at, code_version)
    SELECT x.job, x.status, x.t,
           CASE WHEN x.status = 'missed' THEN x.t ELSE x.t + x.d * interval '1 millisecond' END,
           CASE WHEN x.status = 'missed' THEN 0 ELSE x.d END,
           CASE x.status WHEN 'failed' THEN ${error}
                         WHEN 'timed_out' THEN ${TIMED_OUT_MESSAGE}::text
                         WHEN 'abandoned' THEN crondeck_abandoned_message(${holder}, x.t, x.t + x.d * interval '1 millisecond') END,
           CASE WHEN x.status = 'missed' THEN 0 ELSE 1 END,
           x.slot, CASE WHEN x.status = 'missed' THEN 'tick' ELSE 'schedule' END,
           CASE WHEN x.status = 'missed' THEN 'missed:' || x.iso ELSE x.key END,
           ${holder}, x.t, 'dpl_console'
    FROM (
      SELECT s.job, s.k, s.slot, s.iso, s.key,
             CASE WHEN s.status = 'missed' THEN s.slot + interval '1 minute' ELSE s.slot + (${rand("t")} * 1500) * interval '1 millisecond' END AS t,
             s.status,
             CASE WHEN s.status = 'abandoned' THEN (1200000 + ${rand("a")} * 20400000)::int
                  WHEN s.status = 'timed_out' THEN 30000
                  ELSE greatest(1, ${medianMs} * exp((${rand("d1")} + ${rand("d2")} + ${rand("d3")} - 1.5) * 1.1))::int END AS d
      FROM (
        SELECT s.*, CASE ${forced}
                         WHEN ${rand("s")} < 0.95 THEN 'completed' WHEN ${rand("s")} < 0.972 THEN 'failed'
                         WHEN ${rand("s")} < 0.982 THEN 'timed_out' WHEN ${rand("s")} < 0.987 THEN 'abandoned'
                         WHEN ${rand("s")} < 0.993 THEN 'missed' ELSE 'completed' END AS status
        FROM (${slotsOf(job, now, untilOf(job, now))}) s
      ) s
    ) x`;
}

/** `IN <this>`: the jobs as one parameter, as lib/db passes a list. */
const inJobs = (jobs: readonly ConsoleJob[]) => sql`(SELECT jsonb_array_elements_text(${JSON.stringify(jobs)}::jsonb))`;

/** Duplicate deliveries: ~1% of a job's run slots (and the nightly's latest, by the scenario) get a skip row seconds later. */
function insertDuplicates(jobs: readonly ConsoleJob[]) {
  return sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, attempts, scheduled_for, trigger, skip_reason, holder, created_at)
    SELECT l.job_name, 'skipped', t, t, 0, 0, l.scheduled_for, 'schedule', 'duplicate', ${MONTH_SCENARIO.holder}, t
    FROM (
      SELECT l.*, l.started_at + interval '3 minutes' AS t,
             row_number() OVER (PARTITION BY l.job_name ORDER BY l.scheduled_for DESC) - 1 AS k
      FROM cron_job_logs l
      WHERE l.job_name IN ${inJobs(jobs)} AND l.status <> 'missed' AND l.trigger = 'schedule'
    ) l
    WHERE (l.job_name = ${MONTH_SCENARIO.failedNightly.job} AND l.k = 0)
       OR (l.k > 1 AND (abs(hashtext(l.job_name || ':' || l.k || ':dup')) % 100) = 0)`;
}

/**
 * Seeds the month into a migrated database. `jobs`: a subset of {@link CONSOLE_JOBS} (default
 * all). Deletes the console jobs' earlier rows first, so a second seed replaces the first.
 */
export async function seedMonthOfRuns(db: Db, options: { now?: Date; jobs?: readonly ConsoleJob[] } = {}): Promise<MonthHistory> {
  const now = new Date(Math.floor((options.now ?? new Date()).getTime() / 1000) * 1000);
  const jobs = options.jobs ?? CONSOLE_JOBS;
  const jobArray = inJobs(jobs);
  await db.execute(sql`DELETE FROM cron_dead_letters WHERE job_name IN ${jobArray}`);
  await db.execute(sql`DELETE FROM cron_job_leases WHERE job_name IN ${jobArray}`);
  await db.execute(sql`DELETE FROM cron_job_logs WHERE job_name IN ${jobArray}`);
  await db.execute(sql`DELETE FROM cron_job_config WHERE job_name IN ${jobArray}`);
  await db.execute(sql`ALTER TABLE cron_job_logs DISABLE TRIGGER trg_cron_stats_insert`);
  let staleRunId = "";
  try {
    for (const job of jobs) await db.execute(insertSlots(job, now));
    await db.execute(insertDuplicates(jobs));

    if (jobs.includes("console-export")) {
      const s = MONTH_SCENARIO.staleRun;
      const started = new Date(now.getTime() - s.startedAgoMs);
      const expires = new Date(started.getTime() + s.leaseMs);
      const [run] = await queryRows<{ id: string; token: string }>(
        db,
        sql`INSERT INTO cron_job_logs (job_name, status, started_at, holder, lease_expires_at, fencing_token, trigger, actor, attempts, created_at, code_version)
            VALUES (${s.job}, 'started', ${started.toISOString()}::timestamptz, ${s.holder}, ${expires.toISOString()}::timestamptz, nextval('cron_fencing_token_seq'), 'manual', 'bob', 1, ${started.toISOString()}::timestamptz, 'dpl_console')
            RETURNING id, fencing_token::text AS token`,
      );
      staleRunId = run.id;
      await db.execute(
        sql`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, acquired_at, expires_at)
            VALUES (${s.job}, ${run.id}::uuid, ${run.token}::bigint, ${s.holder}, ${started.toISOString()}::timestamptz, ${expires.toISOString()}::timestamptz)`,
      );
    }
  } finally {
    await db.execute(sql`ALTER TABLE cron_job_logs ENABLE TRIGGER trg_cron_stats_insert`);
  }

  // Dead letters for the failures: older ones settled by an operator, the last three days' pending.
  const threeDaysAgo = new Date(now.getTime() - 3 * 86_400_000).toISOString();
  await db.execute(
    sql`INSERT INTO cron_dead_letters (run_id, job_name, scheduled_for, failure_reason, attempts, recovery_status, priority, replay_count, last_replayed_at, resolved_at, notes, created_at, updated_at)
        SELECT l.id, l.job_name, l.scheduled_for, coalesce(l.error_message, l.status), greatest(coalesce(l.attempts, 1), 1),
               x.recovery, CASE WHEN l.job_name = 'console-nightly' THEN 'high' ELSE 'normal' END,
               CASE WHEN x.recovery = 'replayed' THEN 1 ELSE 0 END,
               CASE WHEN x.recovery = 'replayed' THEN l.completed_at + interval '20 minutes' END,
               CASE WHEN x.recovery <> 'pending' THEN l.completed_at + interval '20 minutes' END,
               CASE WHEN x.recovery = 'permanently_failed' THEN 'marked permanently failed by bob: upstream data was gone' END,
               l.completed_at, coalesce(l.completed_at + interval '20 minutes', l.completed_at)
        FROM cron_job_logs l
        CROSS JOIN LATERAL (SELECT CASE WHEN l.started_at >= ${threeDaysAgo}::timestamptz THEN 'pending'
                                        WHEN abs(hashtext(l.id::text)) % 4 = 0 THEN 'permanently_failed' ELSE 'replayed' END AS recovery) x
        WHERE l.job_name IN ${jobArray} AND l.status IN ('failed', 'timed_out', 'abandoned')`,
  );
  await db.execute(
    sql`INSERT INTO cron_audit_log (actor, action, target, detail, created_at)
        SELECT CASE d.recovery_status WHEN 'replayed' THEN 'alice' ELSE 'bob' END,
               CASE d.recovery_status WHEN 'replayed' THEN 'dead_letter.retry' ELSE 'dead_letter.mark_failed' END,
               d.id::text, jsonb_build_object('jobName', d.job_name, 'runId', d.run_id, 'via', 'cookie'), d.resolved_at
        FROM cron_dead_letters d WHERE d.job_name IN ${jobArray} AND d.recovery_status <> 'pending'`,
  );

  // Job state: failure streaks, the pause, the dead-lettering; missed checks done up to now.
  const config = (job: ConsoleJob, set: ReturnType<typeof sql>) =>
    jobs.includes(job) ? db.execute(sql`INSERT INTO cron_job_config (job_name, enabled, missed_checked_until, late_checked_until) VALUES (${job}, NULL, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz)
      ON CONFLICT (job_name) DO UPDATE SET missed_checked_until = excluded.missed_checked_until`).then(() => db.execute(set)) : Promise.resolve();
  for (const job of jobs) await config(job, sql`SELECT 1`);
  const p = MONTH_SCENARIO.paused;
  const pausedAt = new Date(now.getTime() - p.agoMs).toISOString();
  await config("console-paused", sql`UPDATE cron_job_config SET paused = true, paused_reason = ${p.reason}, paused_at = ${pausedAt}::timestamptz, last_modified_at = ${pausedAt}::timestamptz, last_modified_by = ${p.by} WHERE job_name = ${p.job}`);
  if (jobs.includes("console-paused")) {
    await db.execute(sql`INSERT INTO cron_audit_log (actor, action, target, detail, created_at) VALUES (${p.by}, 'job.pause', ${p.job}, ${JSON.stringify({ reason: p.reason, via: "cookie" })}::jsonb, ${pausedAt}::timestamptz)`);
  }
  const d = MONTH_SCENARIO.deadLettered;
  await config(
    "console-dead",
    sql`UPDATE cron_job_config SET consecutive_failures = ${d.failures}, consecutive_dead_letters = ${d.failures}, dead_lettered = true,
          dead_letter_reason = ${`paused after ${d.failures} dead-lettered runs in a row; last error: ${d.error}`},
          dead_lettered_since = (SELECT max(completed_at) FROM cron_job_logs WHERE job_name = ${d.job}), last_modified_by = 'crondeck',
          last_modified_at = (SELECT max(completed_at) FROM cron_job_logs WHERE job_name = ${d.job})
        WHERE job_name = ${d.job}`,
  );
  await config("console-nightly", sql`UPDATE cron_job_config SET consecutive_failures = 1, consecutive_dead_letters = 1 WHERE job_name = ${MONTH_SCENARIO.failedNightly.job}`);

  await db.execute(sql`SELECT crondeck_stats_rebuild()`);

  const latest = await queryRows<{ job_name: string; id: string }>(
    db,
    sql`SELECT DISTINCT ON (job_name) job_name, id FROM cron_job_logs
        WHERE job_name IN ${jobArray} AND scheduled_for IS NOT NULL AND status <> 'skipped'
        ORDER BY job_name, scheduled_for DESC`,
  );
  const [dup] = await queryRows<{ id: string }>(
    db,
    sql`SELECT id FROM cron_job_logs WHERE job_name = ${MONTH_SCENARIO.failedNightly.job} AND status = 'skipped' AND skip_reason = 'duplicate' ORDER BY started_at DESC LIMIT 1`,
  );
  const pending = await queryRows<{ job_name: string; n: number | string }>(
    db,
    sql`SELECT job_name, count(*) AS n FROM cron_dead_letters WHERE job_name IN ${jobArray} AND recovery_status = 'pending' GROUP BY job_name`,
  );
  const [{ n: rows }] = await queryRows<{ n: number | string }>(db, sql`SELECT count(*) AS n FROM cron_job_logs WHERE job_name IN ${jobArray}`);
  const latestRunIds = Object.fromEntries(latest.map((r) => [r.job_name, r.id]));
  const pendingDeadLetters = Object.fromEntries(jobs.map((j) => [j, Number(pending.find((r) => r.job_name === j)?.n ?? 0)]));
  return {
    latestRunIds,
    staleRunId,
    failedNightlyRunId: latestRunIds[MONTH_SCENARIO.failedNightly.job] ?? "",
    duplicateSkipId: dup?.id ?? "",
    pendingDeadLetters,
    pendingTotal: Object.values(pendingDeadLetters).reduce((a, b) => a + b, 0),
    rows: Number(rows),
  };
}
