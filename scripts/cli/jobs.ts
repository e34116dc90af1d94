import { sql } from "drizzle-orm";
import type { JobDefinition } from "../../lib/cron/define-job";
import { formatDurationMs } from "../../lib/cron/duration";
import { runTrigger, type RunReport, type TriggerOutcome } from "../../lib/cron/run-job";
import { nextRunAfter } from "../../lib/cron/schedule";
import { queryRows } from "../../lib/db/client";
import type { CliContext } from "./context";
import { EXIT_FAILURE, EXIT_OK } from "./errors";
import { clip, formatRelative, formatTime, iso, table } from "./format";
import type { CommandInput } from "./spec";

/**
 * A run started from the terminal has no platform time limit: the budget only has to be
 * longer than any job's timeouts and backoff, so retries are slept here, never deferred.
 */
const CLI_BUDGET_MS = 24 * 3_600_000;

const SKIP_EXPLAINED: Record<string, string> = {
  already_running: "a run of this job is holding its lease (see `crondeck locks list`)",
  duplicate: "this slot already has its run",
  disabled: "the job is disabled",
  paused: "the job is paused",
  dead_lettered: "the job is paused after repeated dead-lettered runs (`crondeck dlq recover`)",
};

interface JobRow {
  job_name: string;
  enabled: boolean | null;
  paused: boolean | null;
  paused_reason: string | null;
  dead_lettered: boolean | null;
  dead_letter_reason: string | null;
  consecutive_failures: number | null;
  lease_run_id: string | null;
  lease_holder: string | null;
  lease_expires_at: string | Date | null;
  last_id: string | null;
  last_status: string | null;
  last_trigger: string | null;
  last_started_at: string | Date | null;
  last_completed_at: string | Date | null;
  last_duration_ms: number | null;
  last_error: string | null;
}

/** A job's runtime state in one word: what a scheduled trigger would meet. */
export function stateOf(job: JobDefinition, row: Pick<JobRow, "enabled" | "paused" | "dead_lettered"> | undefined): "dead-lettered" | "paused" | "disabled" | "enabled" {
  if (row?.dead_lettered) return "dead-lettered";
  if (row?.paused) return "paused";
  if (!(row?.enabled ?? job.enabled)) return "disabled";
  return "enabled";
}

export async function jobsList(ctx: CliContext, _input: CommandInput): Promise<number> {
  const jobs = ctx.registry().list();
  const { db } = await ctx.database();
  const now = ctx.now();
  const rows = await queryRows<JobRow>(
    db,
    sql`SELECT n.name AS job_name, c.enabled, c.paused, c.paused_reason, c.dead_lettered, c.dead_letter_reason, c.consecutive_failures,
               k.run_id AS lease_run_id, k.holder AS lease_holder, k.expires_at AS lease_expires_at,
               r.id AS last_id, r.status AS last_status, r.trigger AS last_trigger, r.started_at AS last_started_at,
               r.completed_at AS last_completed_at, r.duration_ms AS last_duration_ms, r.error_message AS last_error
        FROM jsonb_array_elements_text(${JSON.stringify(jobs.map((j) => j.name))}::jsonb) AS n(name)
        LEFT JOIN cron_job_config c ON c.job_name = n.name
        LEFT JOIN cron_job_leases k ON k.job_name = n.name
        LEFT JOIN LATERAL (
          SELECT id, status, trigger, started_at, completed_at, duration_ms, error_message FROM cron_job_logs l
          WHERE l.job_name = n.name AND l.status <> 'skipped' ORDER BY l.started_at DESC NULLS LAST LIMIT 1) r ON true`,
  );
  const byName = new Map(rows.map((r) => [r.job_name, r]));
  const list = jobs.map((job) => {
    const row = byName.get(job.name);
    return {
      name: job.name,
      schedule: job.schedule.cron,
      timezone: job.schedule.timezone,
      description: job.description,
      category: job.category,
      timeoutMs: job.timeoutMs,
      retries: job.retries,
      overlap: job.overlap,
      dispatch: job.dispatch,
      nextRunAt: nextRunAfter(job.schedule, now).toISOString(),
      state: {
        status: stateOf(job, row),
        enabled: row?.enabled ?? job.enabled,
        paused: Boolean(row?.paused),
        pausedReason: row?.paused_reason ?? null,
        deadLettered: Boolean(row?.dead_lettered),
        deadLetterReason: row?.dead_letter_reason ?? null,
        consecutiveFailures: Number(row?.consecutive_failures ?? 0),
        lease: row?.lease_run_id ? { runId: row.lease_run_id, holder: row.lease_holder, expiresAt: iso(row.lease_expires_at) } : null,
      },
      lastRun: row?.last_id
        ? {
            id: row.last_id,
            status: row.last_status,
            trigger: row.last_trigger,
            startedAt: iso(row.last_started_at),
            completedAt: iso(row.last_completed_at),
            durationMs: row.last_duration_ms,
            error: row.last_error ? ctx.redact(row.last_error) : null,
          }
        : null,
    };
  });
  ctx.out.result({ ok: true, total: list.length, jobs: list }, () =>
    list.length === 0
      ? "No jobs in the registry: add one in lib/jobs (see README, \"Adding a job\")."
      : table(
          ["NAME", "SCHEDULE", "STATE", "LAST RUN", "NEXT RUN", "TIMEOUT", { header: "RETRIES", right: true }, "OVERLAP"],
          list.map((j) => [
            j.name,
            j.timezone === "UTC" ? j.schedule : `${j.schedule} (${j.timezone})`,
            j.state.lease ? `${j.state.status}, running` : j.state.status,
            j.lastRun ? `${j.lastRun.status} ${formatRelative(j.lastRun.startedAt, now)}` : "never",
            formatRelative(j.nextRunAt, now),
            formatDurationMs(j.timeoutMs),
            j.retries,
            j.overlap,
          ]),
        ),
  );
  return EXIT_OK;
}

/** A run as the CLI prints it: no stack trace, secrets already scrubbed by the engine. */
export function runJson(run: RunReport) {
  return {
    id: run.id,
    jobName: run.jobName,
    status: run.status,
    trigger: run.trigger,
    scheduledFor: run.scheduledFor?.toISOString() ?? null,
    startedAt: run.startedAt.toISOString(),
    completedAt: run.completedAt.toISOString(),
    durationMs: run.durationMs,
    attempts: run.attempts,
    error: run.error,
    output: run.output,
    retryDeferred: run.retryDeferred,
    nextRetryAt: run.nextRetryAt?.toISOString() ?? null,
    deadLetterId: run.deadLetterId,
    autoPaused: run.autoPaused,
    recorded: run.recorded,
  };
}

/** Prints a trigger's outcome (the run, or why it was skipped); returns the exit code. */
export async function printOutcome(ctx: CliContext, outcome: TriggerOutcome, extra: Record<string, unknown> = {}): Promise<number> {
  if (outcome.kind === "skipped") {
    const message = `${outcome.jobName} was skipped: ${SKIP_EXPLAINED[outcome.reason] ?? outcome.reason}`;
    ctx.out.result({ ok: false, skipped: true, reason: outcome.reason, runId: outcome.runId, jobName: outcome.jobName, message, ...extra }, () => message);
    return EXIT_FAILURE;
  }
  const run = outcome.run;
  const ok = run.status === "completed";
  const { db } = await ctx.database();
  const [row] = await queryRows<{ log_lines: Array<{ at: string; message: string }> | null }>(db, sql`SELECT log_lines FROM cron_job_logs WHERE id = ${run.id}::uuid`);
  const logLines = row?.log_lines ?? [];
  ctx.out.result({ ok, run: runJson(run), ...extra }, () => {
    const verb = ok ? "completed" : run.status === "timed_out" ? "timed out" : run.status === "retry_scheduled" ? "failed and has a retry scheduled" : "failed";
    const lines = [`${run.jobName} ${verb} in ${formatDurationMs(run.durationMs)} (${run.attempts} attempt${run.attempts === 1 ? "" : "s"})`];
    lines.push(`  run       ${run.id}`, `  started   ${formatTime(run.startedAt)}`);
    if (run.scheduledFor) lines.push(`  slot      ${formatTime(run.scheduledFor)}`);
    if (run.error) lines.push(`  error     ${clip(run.error, 200)}`);
    if (ok && run.output !== null) lines.push(`  output    ${clip(JSON.stringify(run.output), 200)}`);
    if (run.deadLetterId) lines.push(`  dead letter ${run.deadLetterId} (\`crondeck dlq list\`)${run.autoPaused ? "; the job is now paused: `crondeck dlq recover " + run.jobName + "`" : ""}`);
    if (!run.recorded) lines.push("  warning: another holder took the job over; this result was not recorded");
    if (logLines.length) lines.push("  log:", ...logLines.map((l) => `    ${formatTime(l.at)}  ${clip(l.message, 160)}`));
    return lines;
  });
  return ok ? EXIT_OK : EXIT_FAILURE;
}

export async function jobsRun(ctx: CliContext, input: CommandInput): Promise<number> {
  const job = ctx.job(input.args[0]);
  const engine = await ctx.engine();
  if (!ctx.out.json) ctx.out.note(`running ${job.name} (timeout ${formatDurationMs(job.timeoutMs)}, ${job.retries} retr${job.retries === 1 ? "y" : "ies"})...`);
  const outcome = await runTrigger(engine, { job, trigger: "manual", scheduledFor: null, actor: ctx.actor, budgetMs: CLI_BUDGET_MS });
  await ctx.audit("job.run", job.name, outcome.kind === "ran" ? { runId: outcome.run.id, status: outcome.run.status } : { runId: outcome.runId, skipped: outcome.reason });
  return printOutcome(ctx, outcome);
}

export async function jobsPause(ctx: CliContext, input: CommandInput, pause: boolean): Promise<number> {
  const job = ctx.job(input.args[0]);
  const note = typeof input.options.note === "string" && input.options.note.trim() ? input.options.note.trim() : null;
  const { db } = await ctx.database();
  const action = pause ? "job.pause" : "job.resume";
  // The change and its audit row in one statement.
  const [row] = await queryRows<{ paused: boolean; paused_reason: string | null; paused_at: string | Date | null; dead_lettered: boolean; enabled: boolean | null; was_paused: boolean | null }>(
    db,
    sql`WITH before AS (SELECT paused FROM cron_job_config WHERE job_name = ${job.name}),
        upd AS (
          INSERT INTO cron_job_config AS c (job_name, enabled, paused, paused_reason, paused_at, last_modified_at, last_modified_by)
          VALUES (${job.name}, NULL, ${pause}::boolean,
                  CASE WHEN ${pause}::boolean THEN coalesce(${note}::text, ${`paused by ${ctx.actor}`}::text) END,
                  CASE WHEN ${pause}::boolean THEN now() END, now(), ${ctx.actor})
          ON CONFLICT (job_name) DO UPDATE SET
            paused = excluded.paused,
            paused_reason = excluded.paused_reason,
            paused_at = CASE WHEN excluded.paused AND c.paused THEN c.paused_at ELSE excluded.paused_at END,
            last_modified_at = now(), last_modified_by = excluded.last_modified_by
          RETURNING c.paused, c.paused_reason, c.paused_at, c.dead_lettered, c.enabled),
        audit AS (
          INSERT INTO cron_audit_log (actor, action, target, detail)
          SELECT ${ctx.actor}, ${action}, ${job.name}, jsonb_build_object('note', ${note}::text, 'wasPaused', coalesce((SELECT paused FROM before), false))
          FROM upd)
        SELECT upd.*, (SELECT paused FROM before) AS was_paused FROM upd`,
  );
  const wasPaused = Boolean(row.was_paused);
  const result = {
    ok: true,
    job: job.name,
    action: pause ? "pause" : "resume",
    paused: row.paused,
    wasPaused,
    pausedReason: row.paused_reason,
    pausedAt: iso(row.paused_at),
    deadLettered: row.dead_lettered,
  };
  ctx.out.result(result, () => {
    const lines = pause
      ? [
          wasPaused
            ? `${job.name} was already paused (since ${formatTime(row.paused_at)}); reason: ${row.paused_reason}`
            : `paused ${job.name}: its scheduled triggers are skipped until \`crondeck jobs resume ${job.name}\``,
        ]
      : [wasPaused ? `resumed ${job.name}: scheduled triggers run again` : `${job.name} was not paused; nothing changed`];
    if (row.dead_lettered) lines.push(`note: ${job.name} is also dead-lettered, which skips its triggers too: \`crondeck dlq recover ${job.name}\``);
    if (!pause && row.enabled === false) lines.push(`note: ${job.name} is disabled in the database`);
    return lines;
  });
  return EXIT_OK;
}
