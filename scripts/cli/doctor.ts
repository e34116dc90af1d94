import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { JobDefinition } from "../../lib/cron/define-job";
import { formatDurationMs } from "../../lib/cron/duration";
import { weakSecretWarnings } from "../../lib/env";
import { nextRunAfter, slotAt } from "../../lib/cron/schedule";
import { describeSchedule } from "../../lib/app/jobs";
import { isSlotExpected, type JobKnowledge } from "../../lib/cron/expected-slots";
import { readDevState, type DevState } from "../../lib/dev/dev-state";
import { deliveryGraceMs, EXECUTE_PATH, TICK_PATH } from "../../lib/vercel/crons";
import { checkVercelConfig } from "../../lib/vercel/check";
import { FAILURE_STATUSES, jobStateOf, type JobState } from "../../lib/cron/vocabulary";
import { targetFromEnv, type Db } from "../../lib/db/client";
import { jobKnowledge, slotRecords, type SlotRecord } from "../../lib/db/queries/doctor";
import type { TickHealth } from "../../lib/db/queries/tick-health";
import { readTickHealth } from "../../lib/app/tick-watch";
import { jobStates, type JobConfigState } from "../../lib/db/queries/jobs";
import { jobs as deployedJobs } from "../../lib/jobs";
import { describeTarget, type CliContext } from "./context";
import { CliError, EXIT_FAILURE, EXIT_OK } from "./errors";
import { clip, explainSkip, formatSeconds, formatTime, table } from "./format";
import type { CommandInput } from "./spec";
import { readVercelJson } from "./vercel";

export type Severity = "ok" | "info" | "warning" | "error";

export interface Finding {
  severity: Severity;
  code: string;
  message: string;
}

/**
 * `new`: the slot came before Crondeck first knew the job (lib/cron/expected-slots.ts), so it was
 * not expected. `not_started`: the schedule has no slot yet (a one-time job before its runAt, a
 * bounded job before its startAt).
 */
export type SlotOutcome = "not_started" | "ran" | "running" | "skipped" | "missed" | "pending" | "new" | "paused" | "dead_lettered" | "disabled" | "unknown";

export interface JobDiagnosis {
  job: string;
  schedule: string;
  timezone: string;
  dispatch: "vercel" | "tick";
  state: JobState;
  /** The last slot the schedule expected at or before now (null: none yet, see `not_started`). */
  slot: string | null;
  outcome: SlotOutcome;
  /** The run's status, or the skip's reason. */
  status: string | null;
  runId: string | null;
  severity: Severity;
  detail: string;
}

const RAN_OK = new Set(["completed"]);
const RAN_FAILED = new Set<string>(FAILURE_STATUSES);

/**
 * What happened to one job's last expected slot, from its row (the run first, then a missed row,
 * then skips) and its state. `known` is what the database knows of when Crondeck first knew the
 * job: a slot with no row from before then is new, not missed (undefined: treated as known).
 */
export function diagnose(
  job: JobDefinition,
  slot: Date,
  row: SlotRecord | undefined,
  config: JobConfigState | undefined,
  now: Date,
  graceMs: number,
  redact: (t: string) => string,
  known?: JobKnowledge,
): JobDiagnosis {
  const state = jobStateOf(job.enabled, config);
  const base = { job: job.name, ...scheduleFields(job), dispatch: job.dispatch, state, slot: slot.toISOString(), runId: row?.runId ?? null } as const;
  const who = job.dispatch === "tick" ? `the tick (${TICK_PATH}) dispatches it: is the tick being called?` : `is Vercel Cron (or your scheduler) calling ${EXECUTE_PATH}/${job.name}?`;
  const status = row?.status ?? null;
  if (row?.runId && status && status !== "skipped" && status !== "missed") {
    if (RAN_OK.has(status)) return { ...base, outcome: "ran", status, severity: "ok", detail: `completed in ${formatDurationMs(row.durationMs ?? 0)}` };
    if (status === "started" || status === "queued") return { ...base, outcome: "running", status, severity: "ok", detail: `${status === "queued" ? "queued" : "running"} since ${formatTime(row.startedAt)}` };
    if (status === "retry_scheduled") return { ...base, outcome: "ran", status, severity: "warning", detail: `an attempt failed; the tick retries it at ${formatTime(row.nextRetryAt)}: ${clip(redact(row.errorMessage ?? ""), 80)}` };
    if (RAN_FAILED.has(status)) {
      const fix = state === "dead_lettered" ? "; the job is dead-lettered: `crondeck dlq list`, then `crondeck dlq recover " + job.name + "`" : "";
      return { ...base, outcome: "ran", status, severity: "error", detail: `${status.replace("_", " ")}: ${clip(redact(row.errorMessage ?? "no error recorded"), 100)}${fix}` };
    }
    return { ...base, outcome: "ran", status, severity: "warning", detail: status };
  }
  if (status === "missed") return { ...base, outcome: "missed", status, severity: "error", detail: `the tick recorded it missed: no trigger arrived; ${who}` };
  if (status === "skipped") {
    const reason = row?.skipReason ?? "unknown";
    const severity: Severity = reason === "already_running" ? "warning" : reason === "dead_lettered" ? "error" : "info";
    return { ...base, outcome: "skipped", status: reason, severity, detail: `skipped ${row?.rows ?? 1}x: ${explainSkip(reason, job.name)}` };
  }
  if (state === "dead_lettered") return { ...base, outcome: "dead_lettered", status: null, severity: "error", detail: `dead-lettered: ${clip(redact(config?.deadLetterReason ?? ""), 80)}; \`crondeck dlq recover ${job.name}\`` };
  if (state === "paused") return { ...base, outcome: "paused", status: null, severity: "warning", detail: `paused: ${clip(config?.pausedReason ?? "", 80)}` };
  if (state === "disabled") return { ...base, outcome: "disabled", status: null, severity: "info", detail: "disabled: scheduled triggers are skipped" };
  if (known && !isSlotExpected(slot, known)) {
    return { ...base, outcome: "new", status: null, severity: "info", detail: `not expected yet: Crondeck first knew this job after this slot; ${nextSlotWords(job, now)}` };
  }
  const late = now.getTime() - slot.getTime();
  if (late < graceMs) return { ...base, outcome: "pending", status: null, severity: "ok", detail: `due ${formatSeconds(late / 1000)} ago, within the ${formatSeconds(graceMs / 1000)} grace` };
  return { ...base, outcome: "missed", status: null, severity: "error", detail: `no trigger arrived ${formatSeconds(late / 1000)} after the slot; ${who}` };
}

/** A diagnosis's schedule: the API's notation ("every 90m", "once <instant>", or the cron) and its timezone. */
function scheduleFields(job: JobDefinition): { schedule: string; timezone: string } {
  const { schedule, timezone } = describeSchedule(job.schedule);
  return { schedule, timezone };
}

/** "its next slot is ...", or "no further runs" once a one-time job ran its slot or a bounded job reached endAt. */
function nextSlotWords(job: JobDefinition, now: Date): string {
  const next = nextRunAfter(job.schedule, now);
  if (next) return `its next slot is ${formatTime(next)}`;
  return job.schedule.kind === "once" ? "no further runs (a one-time job)" : `no further runs (it ended at ${formatTime(job.schedule.endAt)})`;
}

/** A job whose schedule has no slot at or before now: nothing was expected of it yet. */
export function diagnoseNotStarted(job: JobDefinition, config: JobConfigState | undefined, now: Date): JobDiagnosis {
  const first = nextRunAfter(job.schedule, now);
  const when = job.schedule.kind === "once" ? `runs once at ${formatTime(first)}` : `its first slot is ${formatTime(first)} (startAt ${formatTime(job.schedule.startAt)})`;
  return { job: job.name, ...scheduleFields(job), dispatch: job.dispatch, state: jobStateOf(job.enabled, config), slot: null, runId: null, outcome: "not_started", status: null, severity: "info", detail: `no slot yet: ${when}` };
}

export async function doctor(ctx: CliContext, input: CommandInput): Promise<number> {
  const now = ctx.now();
  const env = ctx.env();
  const selected = input.args[0] ? [ctx.job(input.args[0])] : ctx.registry().list();
  const config: Finding[] = [];

  // 1. Configuration that no database is needed for.
  if (env.CRON_SECRET) config.push({ severity: "ok", code: "cron_secret", message: "CRON_SECRET is set" });
  else config.push({ severity: "error", code: "cron_secret_unset", message: "CRON_SECRET is unset: every trigger is refused (503). Set it (`openssl rand -hex 32`, at least 16 characters) in the environment or .env.local" });
  for (const message of weakSecretWarnings(env)) config.push({ severity: "warning", code: "weak_secret", message });
  const vercelPath = resolve(ctx.root, "vercel.json");
  if (existsSync(vercelPath)) {
    try {
      const report = checkVercelConfig({ vercelJson: readVercelJson(ctx, vercelPath), jobs: deployedJobs, plan: env.CRON_PLAN, now });
      for (const issue of [...report.errors, ...report.warnings]) {
        const message =
          issue.code === "missing_cron" && issue.job
            ? `vercel.json has no cron for job "${issue.job}" (dispatch: "vercel"): Vercel Cron will never trigger it. Run \`npm run cron:sync\` and commit vercel.json`
            : `vercel.json: ${issue.message}`;
        config.push({ severity: issue.severity, code: `vercel_${issue.code}`, message });
      }
      if (report.ok) config.push({ severity: "ok", code: "vercel_json", message: `vercel.json: ${report.crons} crons match the registry for the ${env.CRON_PLAN} plan (CRON_PLAN)` });
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      config.push({ severity: "error", code: error.code, message: error.message });
    }
  } else {
    config.push({ severity: "info", code: "vercel_json_missing", message: "no vercel.json: fine when self-hosting (call the execute paths from your scheduler); `crondeck vercel sync` writes one for Vercel" });
  }

  // 2. A running `npm run dev`: does its local scheduler fire every job?
  const dev = readDevState(ctx.root);
  config.push(...localSchedulerFindings(selected, dev));

  // 3. The database.
  let db: Db | null = null;
  let noDatabase = "Jobs: not checked (no database).";
  try {
    db = (await ctx.database()).db;
    config.push({ severity: "ok", code: "database", message: `database: ${describeTarget(targetFromEnv(env))} answers and is migrated` });
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    if (error.code === "embedded_database_busy") {
      // Not a fault: npm run dev has the embedded database open, and one process per directory is the rule.
      config.push({ severity: "warning", code: error.code, message: error.message });
      noDatabase = `Jobs: not checked: the slot checks need the database, which ${dev ? `npm run dev (pid ${dev.pid})` : "another process"} has open. Stop npm run dev and run doctor again, or set DATABASE_URL to a Postgres server both use.`;
    } else config.push({ severity: "error", code: error.code, message: error.message });
  }

  // 4. Each job's last expected slot.
  let diagnoses: JobDiagnosis[] = [];
  let tick: TickHealth | null = null;
  if (db) {
    const graceMs = deliveryGraceMs(env.CRON_PLAN);
    // A one-time job before its slot, or a bounded job before startAt, has no slot to check yet.
    const slotted = selected.map((job) => ({ job, name: job.name, slot: slotAt(job.schedule, now) }));
    const wanted = slotted.filter((w): w is typeof w & { slot: Date } => w.slot !== null);
    const [slots, configByName, knowledge] = await Promise.all([slotRecords(db, wanted), jobStates(db, selected), jobKnowledge(db, wanted.map((w) => w.name))]);
    const unknown: JobKnowledge = { missedCheckedUntil: null, firstRunAt: null };
    diagnoses = slotted.map((w) =>
      w.slot === null
        ? diagnoseNotStarted(w.job, configByName.get(w.name), now)
        : diagnose(w.job, w.slot, slots.get(w.name), configByName.get(w.name), now, graceMs, (t) => ctx.redact(t), knowledge.get(w.name) ?? unknown),
    );

    // The tick claims its minute like a job: its runs say whether housekeeping runs at all (read only: doctor alerts nothing).
    tick = await readTickHealth(db, env.CRON_PLAN, now);
    config.push(...tickFindings(tick));
  }

  const problems = [...config.filter((f) => f.severity === "error"), ...diagnoses.filter((d) => d.severity === "error")].length;
  const ok = problems === 0;
  ctx.out.result({ ok, now: now.toISOString(), plan: env.CRON_PLAN, config, tick, jobs: diagnoses }, () => {
    const lines = ["Configuration", ...config.map((f) => `  ${f.severity.padEnd(7)}  ${f.message}`), ""];
    if (!db) lines.push(noDatabase);
    else {
      lines.push(`Jobs: the last slot each schedule expected at ${formatTime(now)}`);
      lines.push(
        table(
          ["JOB", "LAST SLOT", "OUTCOME", "", "DETAIL"],
          diagnoses.map((d) => [d.job, formatTime(d.slot), d.status && d.outcome !== "running" ? `${d.outcome}: ${d.status}` : d.outcome, d.severity === "ok" ? "" : d.severity, d.detail]),
        ).replace(/^/gm, "  "),
      );
    }
    lines.push("", ok ? "No problems found." : `${problems} problem${problems === 1 ? "" : "s"} found.`);
    return lines;
  });
  return ok ? EXIT_OK : EXIT_FAILURE;
}

/**
 * What the tick's own health says (lib/app/tick-watch.ts readTickHealth, the same reading the
 * admin API, the dashboard and the tick_late alert use): when it last ran and what it did, or that
 * it is late (no tick run for its interval and the plan's grace) or never ran. Warnings: doctor's
 * exit code stays for the jobs' slots and the configuration.
 */
export function tickFindings(tick: TickHealth): Finding[] {
  const every = formatDurationMs(tick.expectedEveryMs);
  const stopped = "abandoned runs, deferred retries, missed slots and the jobs the tick dispatches wait until it runs";
  if (!tick.lastRun) {
    return [
      tick.late
        ? { severity: "warning", code: "tick_late", message: `the tick (${TICK_PATH}) has never run while jobs have for over ${formatDurationMs(tick.lateAfterMs)}: ${stopped}. Is it in vercel.json (\`npm run cron:sync\`) and does it get through (CRON_SECRET, Deployment Protection)?` }
        : { severity: "warning", code: "tick_never_ran", message: `the tick (${TICK_PATH}) has never run: abandoned runs, deferred retries and missed slots are not handled until something calls it` },
    ];
  }
  const ago = formatSeconds((tick.lagMs ?? 0) / 1000);
  const w = tick.lastRun.work;
  const did = w ? `abandoned ${w.abandoned}, retries ${w.retries}, missed ${w.missed}, dispatched ${w.dispatched}, errors ${w.errors}` : "no report";
  const findings: Finding[] = [];
  if (tick.late) findings.push({ severity: "warning", code: "tick_late", message: `the tick last ran ${ago} ago (expected every ${every}, late after ${formatDurationMs(tick.lateAfterMs)}): ${stopped}` });
  else findings.push({ severity: "ok", code: "tick", message: `the tick last ran ${ago} ago (expected every ${every}): ${did}` });
  if (w && w.errors > 0) findings.push({ severity: "warning", code: "tick_errors", message: `the tick's last run reported ${w.errors} error(s) (${tick.runsWithErrors24h} of its ${tick.runs24h} runs in 24 h did): GET /api/admin/tick and the dashboard's Tick page list them` });
  return findings;
}

/**
 * What the local scheduler of a running `npm run dev` (its dev state file) fires, against the
 * jobs: a job Vercel Cron dispatches needs a cron of its own, a job the tick dispatches needs
 * the tick's. Each job it does not fire is an error with the fix; no dev state, no finding.
 */
export function localSchedulerFindings(jobs: readonly JobDefinition[], dev: DevState | null): Finding[] {
  if (!dev) return [];
  const who = `npm run dev (pid ${dev.pid}, ${dev.url})`;
  if (!dev.scheduler.enabled) {
    return [{ severity: "warning", code: "local_scheduler_off", message: `${who} runs with CRON_LOCAL_SCHEDULER=0: nothing fires the jobs on their schedules locally` }];
  }
  const paths = new Set(dev.scheduler.crons.map((c) => c.path));
  const findings: Finding[] = [];
  for (const job of jobs) {
    const path = job.dispatch === "tick" ? TICK_PATH : `${EXECUTE_PATH}/${job.name}`;
    if (paths.has(path)) continue;
    findings.push({
      severity: "error",
      code: "local_scheduler_unfired",
      message:
        job.dispatch === "tick"
          ? `job "${job.name}" is dispatched by the tick, but the local scheduler of ${who} does not call ${TICK_PATH}: add the tick to vercel.json (\`npm run cron:sync\`); the scheduler re-reads it within seconds`
          : `job "${job.name}" is not fired by the local scheduler of ${who}: it has no cron for ${path}. The scheduler follows the dev server's registry within seconds; if it still lacks the job, the dev server has not loaded it (a compile error in its terminal?), or restart npm run dev`,
    });
  }
  if (findings.length === 0) findings.push({ severity: "ok", code: "local_scheduler", message: `the local scheduler of ${who} fires every job (${dev.scheduler.crons.length} crons)` });
  return findings;
}
