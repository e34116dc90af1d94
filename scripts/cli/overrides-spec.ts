import type { CommandSpec } from "./spec";

const JOB_ARG = { name: "job", required: true, description: "a job's name (`crondeck jobs list` shows them)" };

/** The CLI's overrides commands (listed in commands.ts). */
export const overrideCommands: CommandSpec[] = [
  {
    path: ["jobs", "override"],
    summary: "Override a job's timeout, retries, backoff, missed policy, alert thresholds or (tick jobs) schedule without a redeploy",
    args: [JOB_ARG, { name: "field", required: false, description: "with --revert: the field to revert (timeout, retries, backoff, alerts, missed, schedule); none: all" }],
    options: {
      timeout: { type: "string", value: "duration", description: 'the timeout, such as "10m" (at most 290s)' },
      retries: { type: "string", value: "n", description: "retries after the first attempt (0-10)" },
      "backoff-strategy": { type: "string", value: "fixed|linear|exponential|immediate", description: "how the delay between attempts grows" },
      "backoff-delay": { type: "string", value: "duration", description: 'the first delay between attempts, such as "30s"' },
      "backoff-max": { type: "string", value: "duration", description: "the longest delay between attempts" },
      "backoff-factor": { type: "string", value: "n", description: "the growth of an exponential backoff (1-10)" },
      missed: { type: "string", value: "skip|once|all", description: "what the tick does with missed slots" },
      "missed-max": { type: "string", value: "n", description: "the most catch-ups per job (with --missed all)" },
      schedule: { type: "string", value: "cron", description: 'a 5-field cron, such as "*/10 * * * *" (jobs the tick dispatches only)' },
      timezone: { type: "string", value: "zone", description: "the IANA timezone of --schedule (default UTC)" },
      every: { type: "string", value: "duration", description: 'an interval schedule instead of a cron, such as "90m" (jobs the tick dispatches only)' },
      offset: { type: "string", value: "duration", description: "the interval's offset from the epoch grid (with --every)" },
      "alerts-after": { type: "string", value: "n", description: "alert after this many consecutive failures" },
      "re-alert-after": { type: "string", value: "duration", description: "how long before an open problem alerts again" },
      "late-after": { type: "string", value: "duration|off", description: "the late margin after a slot, or off" },
      "max-runtime": { type: "string", value: "duration|off", description: "alert on a run still going after this long, or off" },
      revert: { type: "boolean", description: "revert the [field] given (or every field) to the code's value" },
    },
    details: [
      "Validated exactly as the job's definition is (the same units, bounds and messages); each change is audited.",
      "It applies from the job's next trigger; other instances see it within 5 seconds.",
      "Examples:",
      "  crondeck jobs override nightly-report --timeout 4m --retries 3",
      "  crondeck jobs override nightly-report --backoff-strategy exponential --backoff-delay 30s",
      "  crondeck jobs override sync-feeds --every 30m",
      "  crondeck jobs override nightly-report --revert timeout",
      "  crondeck jobs override nightly-report --revert",
    ],
    run: (ctx, input) => import("./overrides").then((m) => m.jobsOverride(ctx, input)),
  },
  {
    path: ["jobs", "overrides"],
    summary: "A job's overridable settings: the code's value, the override (who, when) and what applies",
    args: [JOB_ARG],
    run: (ctx, input) => import("./overrides").then((m) => m.jobsOverrides(ctx, input)),
  },
];
