import { formatDurationMs } from "../../lib/cron/duration";
import type { RunReport, TriggerOutcome } from "../../lib/cron/run-job";
import { nextScheduledRun } from "../../lib/cron/next-run";
import { describeSchedule } from "../../lib/app/jobs";
import { pauseOrResumeJob, prepareManualRun } from "../../lib/app/operations/jobs";
import { jobListRows, runLogLines } from "../../lib/db/queries/cli-jobs";
import { configStateOf } from "../../lib/db/queries/jobs";
import type { CliContext } from "./context";
import { EXIT_FAILURE, EXIT_OK } from "./errors";
import { clip, explainSkip, formatRelative, formatTime, table } from "./format";
import type { CommandInput } from "./spec";
import { inputOption } from "./input";

/**
 * A run started from the terminal has no platform time limit: the budget only has to be
 * longer than any job's timeouts and backoff, so retries are slept here, never deferred.
 */
export const CLI_BUDGET_MS = 24 * 3_600_000;

export async function jobsList(ctx: CliContext, _input: CommandInput): Promise<number> {
  const jobs = ctx.registry().list();
  const { db } = await ctx.database();
  const now = ctx.now();
  const rows = await jobListRows(db, jobs);
  const byName = new Map(rows.map((r) => [r.jobName, r]));
  const list = jobs.map((job) => {
    const row = byName.get(job.name);
    const state = row?.state ?? configStateOf(undefined, job.enabled);
    const next = nextScheduledRun(job.schedule, state, now);
    return {
      name: job.name,
      ...describeSchedule(job.schedule),
      jitterMs: job.jitterMs,
      description: job.description,
      category: job.category,
      timeoutMs: job.timeoutMs,
      retries: job.retries,
      overlap: job.overlap,
      dispatch: job.dispatch,
      // Null while the job will not run on schedule, with the reason (nextScheduledRun, as the dashboard shows it).
      nextRunAt: next.at?.toISOString() ?? null,
      notScheduled: next.notScheduled,
      state: {
        // The vocabulary's word for it: what a scheduled trigger would meet.
        status: state.state,
        enabled: state.enabled,
        paused: state.paused,
        pausedReason: state.pausedReason,
        deadLettered: state.deadLettered,
        deadLetterReason: state.deadLetterReason,
        consecutiveFailures: state.consecutiveFailures,
        snoozedUntil: state.snoozedUntil,
        skipSlots: state.skipSlots,
        lease: row?.lease ?? null,
      },
      lastRun: row?.lastRun ? { ...row.lastRun, error: row.lastRun.error ? ctx.redact(row.lastRun.error) : null } : null,
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
            [j.state.status, j.state.snoozedUntil && Date.parse(j.state.snoozedUntil) > now.getTime() ? `snoozed until ${formatRelative(j.state.snoozedUntil, now)}` : null, j.state.lease ? "running" : null]
              .filter(Boolean)
              .join(", "),
            j.lastRun ? `${j.lastRun.status} ${formatRelative(j.lastRun.startedAt, now)}` : "never",
            j.nextRunAt ? formatRelative(j.nextRunAt, now) : j.notScheduled && j.notScheduled !== "ended" ? `none: ${j.notScheduled.replace("_", "-")}` : "no further runs",
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
    const message = `${outcome.jobName} was skipped: ${explainSkip(outcome.reason, outcome.jobName)}`;
    ctx.out.result({ ok: false, skipped: true, reason: outcome.reason, runId: outcome.runId, jobName: outcome.jobName, message, ...extra }, () => message);
    return EXIT_FAILURE;
  }
  if (outcome.kind === "waiting") {
    const message = `${outcome.jobName} did not run: ${outcome.message}`;
    ctx.out.result({ ok: false, waiting: true, reason: outcome.reason, jobName: outcome.jobName, message, ...extra }, () => message);
    return EXIT_FAILURE;
  }
  const run = outcome.run;
  const ok = run.status === "completed";
  // Only the human rendering shows the run's log: --json reads nothing more.
  const logLines = ctx.out.json ? [] : await runLogLines((await ctx.database()).db, run.id);
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

/** The admin API's run now, run here at once instead of after a response. */
export async function jobsRun(ctx: CliContext, input: CommandInput): Promise<number> {
  const job = ctx.job(input.args[0]);
  const runInput = inputOption(input, ctx.cwd);
  const prepared = await prepareManualRun(await ctx.opsWithEngine(), ctx.actor, { job, runInput });
  if (!ctx.out.json) ctx.out.note(`running ${job.name} (timeout ${formatDurationMs(job.timeoutMs)}, ${job.retries} retr${job.retries === 1 ? "y" : "ies"})...`);
  return printOutcome(ctx, await prepared.run(CLI_BUDGET_MS));
}

/**
 * The admin API's pause and resume. Pausing a paused job keeps its reason unless a note is
 * given, and keeps the time it was paused.
 */
export async function jobsPause(ctx: CliContext, input: CommandInput, pause: boolean): Promise<number> {
  const job = ctx.job(input.args[0]);
  const note = typeof input.options.note === "string" && input.options.note.trim() ? input.options.note.trim() : null;
  const { changed, state } = await pauseOrResumeJob(await ctx.ops(), ctx.actor, { job, paused: pause, note });
  const wasPaused = pause ? !changed : changed;
  const result = {
    ok: true,
    job: job.name,
    action: pause ? "pause" : "resume",
    changed,
    paused: state.paused,
    wasPaused,
    pausedReason: state.pausedReason,
    pausedAt: state.pausedAt,
    deadLettered: state.deadLettered,
  };
  ctx.out.result(result, () => {
    const lines = pause
      ? [
          wasPaused
            ? `${job.name} was already paused (since ${formatTime(state.pausedAt)}); reason: ${state.pausedReason}`
            : `paused ${job.name}: its scheduled triggers are skipped until \`crondeck jobs resume ${job.name}\``,
        ]
      : [wasPaused ? `resumed ${job.name}: scheduled triggers run again` : `${job.name} was not paused; nothing changed`];
    if (state.deadLettered) lines.push(`note: ${job.name} is also dead-lettered, which skips its triggers too: \`crondeck dlq recover ${job.name}\``);
    if (!pause && !state.enabled) lines.push(`note: ${job.name} is disabled`);
    return lines;
  });
  return EXIT_OK;
}
