import { backfillCommands } from "./backfill-spec";
import { dependencyCommands } from "./dependencies-spec";
import { overrideCommands } from "./overrides-spec";
import { snoozeCommands } from "./snooze-spec";
import { runCommands } from "./runs-spec";
import type { CommandSpec, GroupSpec } from "./spec";

/**
 * Every command: its help and a lazy import of its implementation (so `--help` and the
 * argument checks answer without loading the engine or the database driver).
 */

export const groups: GroupSpec[] = [
  { name: "jobs", summary: "The job registry: list, run now, pause and resume." },
  { name: "locks", summary: "Job leases: who holds them, stale ones, clearing, and 24-hour statistics." },
  { name: "dlq", summary: "The dead-letter queue: runs that failed for good, replay and recovery." },
  { name: "runs", summary: "Every job's runs: filter, page through the whole history, export." },
  { name: "logs", summary: "The run log." },
  { name: "vercel", summary: "vercel.json against the registry and the Vercel plan." },
];

const JOB_ARG = { name: "job", required: true, description: "a job's name (`crondeck jobs list` shows them)" };
const PLAN_OPTION = { type: "string", value: "hobby|pro", description: "the Vercel plan (default CRON_PLAN, else pro)" } as const;
const FILE_OPTION = { type: "string", value: "path", description: "the vercel.json to use (default ./vercel.json of the project)" } as const;

export const commands: CommandSpec[] = [
  {
    path: ["jobs", "list"],
    summary: "List the jobs with their schedule, state, last run and next run",
    run: (ctx, input) => import("./jobs").then((m) => m.jobsList(ctx, input)),
  },
  {
    path: ["jobs", "run"],
    summary: "Run a job now, in this process, through the engine; exit 1 if it fails",
    args: [JOB_ARG],
    options: {
      input: { type: "string", value: "json", description: "the run's input, checked by the job's input schema (default: its defaultInput)" },
      "input-file": { type: "string", value: "path", description: "the run's input from a JSON file" },
    },
    details: [
      "The run is a manual trigger (actor cli:<user>): it takes the job's lease like any run, so it",
      "is skipped if another run holds it, and it runs even when the job is paused.",
      "Example: crondeck jobs run feature-report --input '{\"days\": 30}'",
    ],
    run: (ctx, input) => import("./jobs").then((m) => m.jobsRun(ctx, input)),
  },
  {
    path: ["trigger"],
    summary: "Ask the running app to run a job now over HTTP (or the tick), with the CRON_SECRET of .env.local",
    args: [{ name: "job", required: false, description: "the job to run (the app's GET /api/cron/jobs lists them); none with --tick" }],
    options: {
      slot: { type: "string", value: "ISO", description: "run that slot of the schedule (deduplicated by the slot: a slot that ran is skipped as duplicate)" },
      key: { type: "string", value: "K", description: "a manual run with Idempotency-Key K (the same key runs once)" },
      schedule: { type: "boolean", description: "exactly what Vercel Cron sends: GET, the slot due now, its headers" },
      tick: { type: "boolean", description: "call /api/cron/tick instead of a job (for a crontab line: * * * * * crondeck trigger --tick --url ...)" },
      url: { type: "string", value: "base", description: "the app's base URL (default: the running `npm run dev`, else NEXT_PUBLIC_APP_URL, else http://localhost:$PORT)" },
      timeout: { type: "string", value: "seconds", description: "how long to wait for the answer (default 330, longer than the route's 300 s limit)" },
      input: { type: "string", value: "json", description: "a manual run's input (a JSON body { input }), checked by the job's input schema" },
      "input-file": { type: "string", value: "path", description: "a manual run's input from a JSON file" },
    },
    details: [
      "Calls the execute route of the RUNNING app, as a scheduler or curl would, and prints what it",
      "answered: the run's status, id, duration, why it was skipped, a failed run's error, the link",
      "to the run in the dashboard. It never opens the database, so it works while `npm run dev`",
      "owns the embedded one. The secret is CRON_SECRET from your environment or the .env files",
      "the app reads (.env.local, which `npm run dev` writes); it is never printed.",
      "",
      "  (no flag)       POST: a manual run now, like the dashboard's Run now (runs even when paused)",
      "  --slot ISO      POST ?trigger=schedule&slot=ISO: that slot, once (skipped if paused or already run)",
      "  --key K         POST with Idempotency-Key: K: a manual run that a second call with K does not repeat",
      "  --schedule      GET with the headers Vercel Cron sends (user-agent vercel-cron/1.0, x-vercel-cron-schedule",
      "                  from vercel.json): the slot due now, as the platform would run it",
      "  --tick          GET /api/cron/tick: retries, missed slots, abandoned runs, tick-dispatched jobs",
      "",
      "--json prints the app's JSON answer unchanged. Exit 0 completed or skipped, 1 failed, timed out",
      "or refused (nothing answers, wrong secret), 2 usage (a bad flag, an unknown job, a slot the app refuses).",
      "Examples: crondeck trigger health-check",
      "          crondeck trigger --tick --url http://127.0.0.1:3000      (a self-hoster's crontab line)",
    ],
    run: (ctx, input) => import("./trigger").then((m) => m.trigger(ctx, input)),
  },
  {
    path: ["jobs", "pause"],
    summary: "Pause a job: its scheduled triggers are skipped (recorded as paused)",
    args: [JOB_ARG],
    options: { note: { type: "string", value: "text", description: "why, kept with the job and in the audit log" } },
    run: (ctx, input) => import("./jobs").then((m) => m.jobsPause(ctx, input, true)),
  },
  {
    path: ["jobs", "resume"],
    summary: "Resume a paused job (a dead-lettered job needs `crondeck dlq recover`)",
    args: [JOB_ARG],
    options: { note: { type: "string", value: "text", description: "why, kept in the audit log" } },
    run: (ctx, input) => import("./jobs").then((m) => m.jobsPause(ctx, input, false)),
  },
  {
    path: ["locks", "list"],
    summary: "Held leases: holder, acquired at, held for, expires in, and STALE warnings",
    options: { verbose: { type: "boolean", short: "v", description: "also the run id, fencing token, trigger and slot" } },
    run: (ctx, input) => import("./locks").then((m) => m.locksList(ctx, input, false)),
  },
  {
    path: ["locks", "stale"],
    summary: "Only the stale leases: expired, or held by a process on this host that is gone",
    options: { verbose: { type: "boolean", short: "v", description: "also the run id, fencing token, trigger and slot" } },
    run: (ctx, input) => import("./locks").then((m) => m.locksList(ctx, input, true)),
  },
  {
    path: ["locks", "clear"],
    summary: "Free a job's lease and mark its run abandoned (\"cleared by cli:<user>\"); a live lease needs --force",
    args: [{ name: "job|runId", required: true, description: "the job's name, or the id of the run holding the lease" }],
    options: { force: { type: "boolean", description: "clear a live lease too (its handler may still be working)" } },
    details: [
      "One statement frees the lease and ends the run, so a new trigger can run at once. A stale",
      "lease (expired) clears at once; a live one only with --force, as in the dashboard. If the",
      "old handler is still alive its result is not recorded (its fenced finish no longer matches).",
    ],
    run: (ctx, input) => import("./locks").then((m) => m.locksClear(ctx, input)),
  },
  {
    path: ["locks", "clear-all"],
    summary: "Free every lease and mark their runs abandoned (needs --force)",
    options: { force: { type: "boolean", description: "really clear every lease" } },
    run: (ctx, input) => import("./locks").then((m) => m.locksClearAll(ctx, input)),
  },
  {
    path: ["locks", "stats"],
    summary: "Last 24 hours: executions, completed, timeouts, timeout rate, locked now; jobs that time out often",
    run: (ctx, input) => import("./locks").then((m) => m.locksStats(ctx, input)),
  },
  {
    path: ["dlq", "list"],
    summary: "Dead-letter entries, newest first",
    options: {
      status: { type: "string", value: "status", description: "pending, replayed, resolved or permanently_failed (default: all)" },
      job: { type: "string", value: "name", description: "only this job's entries" },
      limit: { type: "string", value: "n", description: "at most this many (1-500, default 20)" },
    },
    run: (ctx, input) => import("./dlq").then((m) => m.dlqList(ctx, input)),
  },
  {
    path: ["dlq", "replay"],
    summary: "Replay an entry now with its original slot (counts against the job's replay limit)",
    args: [{ name: "id", required: true, description: "the entry's id (`crondeck dlq list`)" }],
    options: {
      input: { type: "string", value: "json", description: "replay with this input instead of the failed run's (recorded on the audit row)" },
      "input-file": { type: "string", value: "path", description: "the edited input from a JSON file" },
    },
    run: (ctx, input) => import("./dlq").then((m) => m.dlqReplay(ctx, input)),
  },
  {
    path: ["dlq", "recover"],
    summary: "Resume a job paused by dead letters (or by hand) and reset its failure counters",
    args: [JOB_ARG],
    run: (ctx, input) => import("./dlq").then((m) => m.dlqRecover(ctx, input)),
  },
  {
    path: ["dlq", "mark-failed"],
    summary: "Settle an entry as permanently failed, with the reason",
    args: [{ name: "id", required: true, description: "the entry's id (`crondeck dlq list`)" }],
    options: { reason: { type: "string", value: "text", description: "why it will not be retried (required)" } },
    run: (ctx, input) => import("./dlq").then((m) => m.dlqMarkFailed(ctx, input)),
  },
  {
    path: ["dlq", "bulk"],
    summary: "Replay, mark failed or resolve every pending entry a selection takes (one audited action per batch)",
    args: [{ name: "action", required: true, description: "replay, mark_failed or resolve" }],
    options: {
      job: { type: "string", value: "name", description: "only this job's entries" },
      "reason-contains": { type: "string", value: "text", description: "only entries whose failure reason contains this (any case)" },
      from: { type: "string", value: "iso", description: "created at or after (ISO 8601 with a zone)" },
      to: { type: "string", value: "iso", description: "created before" },
      priority: { type: "string", value: "priority", description: "only entries of this priority" },
      reason: { type: "string", value: "text", description: "why (mark_failed and resolve: required; kept on each entry and the audit row)" },
    },
    details: ["Replay runs the entries here, one after another, batch after batch, each within its job's replay limit."],
    run: (ctx, input) => import("./dlq").then((m) => m.dlqBulk(ctx, input)),
  },
  {
    path: ["dlq", "insight"],
    summary: "Dead letters per day, the most common failure reasons (by fingerprint) and the average time to recovery, per job and overall",
    options: {
      days: { type: "string", value: "n", description: "the last n whole UTC days, today included (1-366, default 30)" },
      job: { type: "string", value: "name", description: "only this job's entries" },
    },
    run: (ctx, input) => import("./dlq").then((m) => m.dlqInsight(ctx, input)),
  },
  ...runCommands,
  {
    path: ["logs", "cleanup"],
    summary: "Delete runs, alerts, audit rows and settled dead letters past their retention, in batches that each commit (keeps unfinished runs and those behind pending dead letters)",
    options: { days: { type: "string", value: "n", description: "run retention in days (default CRON_LOG_RETENTION_DAYS, 90; the other tables keep their settings)" } },
    run: (ctx, input) => import("./logs").then((m) => m.logsCleanup(ctx, input)),
  },
  {
    path: ["vercel", "sync"],
    summary: "Write the crons of vercel.json from the registry (other settings are kept)",
    options: { plan: PLAN_OPTION, file: FILE_OPTION },
    run: (ctx, input) => import("./vercel").then((m) => m.vercelSync(ctx, input)),
  },
  {
    path: ["vercel", "check"],
    summary: "Check vercel.json against the registry and the plan; exit 1 on errors",
    options: { plan: PLAN_OPTION, file: FILE_OPTION },
    details: [
      "Errors: missing, extra or different crons, schedules the plan rejects (Hobby allows one run a",
      "day per cron), more than 100 crons, and settings under which Vercel Cron silently runs nothing",
      "(trailingSlash: true and redirects catching /api/cron: Vercel Cron does not follow redirects).",
      "Warnings: paths outside /api/cron, a maxDuration shorter than a job's timeout, crons for jobs",
      "with a timezone (Vercel Cron is UTC only; the tick dispatches those).",
    ],
    run: (ctx, input) => import("./vercel").then((m) => m.vercelCheck(ctx, input)),
  },
  {
    path: ["doctor"],
    summary: "Each job's last expected slot and what happened to it, plus configuration problems",
    args: [{ name: "job", required: false, description: "only this job" }],
    details: [
      "Per job: the last slot the schedule expected, and whether it ran (with its status), was",
      "skipped (and why), was missed, is pending (still within the grace), or the job is paused or",
      "dead-lettered. Then: CRON_SECRET unset, database unreachable, plan limits (vercel check).",
      "Exits 1 when a slot was missed or failed, or the configuration has an error.",
    ],
    run: (ctx, input) => import("./doctor").then((m) => m.doctor(ctx, input)),
  },
  {
    path: ["stress"],
    summary: "Contention test: N `next start` instances on one Postgres, concurrent triggers, 0 duplicates",
    options: {
      instances: { type: "string", value: "n", description: "instances of `next start` (1-16, default 3)" },
      concurrency: { type: "string", value: "n", description: "requests in flight per instance (1-200, default 20)" },
      duration: { type: "string", value: "seconds", description: "how long to fire (1-3600, default 60)" },
      job: { type: "string", value: "name", description: "the job to trigger (default demo-slow, 50 ms of work)" },
      "port-base": { type: "string", value: "port", description: "first port; instances use consecutive ports (default: free ports)" },
      cleanup: { type: "boolean", description: "delete the rows the test created afterwards" },
    },
    details: [
      "Needs DATABASE_URL naming a Postgres server (PGlite is one process per data directory).",
      "Builds the app first if .next/BUILD_ID is missing. Triggers POST ?trigger=schedule&slot=<iso>",
      "with slots taken from the job's recent past occurrences, so every slot is contended by all",
      "instances at once; then checks in the database that no slot ran twice. Exit 1 on any duplicate.",
    ],
    run: (ctx, input) => import("./stress").then((m) => m.stress(ctx, input)),
  },
  ...snoozeCommands,
  ...overrideCommands,
  ...backfillCommands,
  ...dependencyCommands,
];
