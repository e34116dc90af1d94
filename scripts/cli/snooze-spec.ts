import type { CommandSpec } from "./spec";

const JOB_ARG = { name: "job", required: true, description: "a job's name (`crondeck jobs list` shows them)" };
const SLOT_HELP = "ISO 8601 with a zone, such as 2026-03-29T01:00:00Z";

/** The CLI's snooze commands (listed in commands.ts): skip the next run, snooze until (a maintenance window). */
export const snoozeCommands: CommandSpec[] = [
  {
    path: ["jobs", "skip-next"],
    summary: "Skip the job's next scheduled run (one slot; recorded as a skip with you as actor)",
    args: [JOB_ARG],
    options: {
      slot: { type: "string", value: "iso", description: `a later slot of the schedule instead of the next one (${SLOT_HELP})` },
      note: { type: "string", value: "text", description: "why, kept in the audit log" },
    },
    details: [
      "Unlike a pause, only that slot is skipped; run-now, replay and backfill still run it.",
      "Undo with `crondeck jobs unskip <job> [--slot iso]`.",
    ],
    run: (ctx, input) => import("./snooze").then((m) => m.jobsSkipNext(ctx, input)),
  },
  {
    path: ["jobs", "unskip"],
    summary: "Take back a skip-next: that slot (or every skipped slot to come) runs again",
    args: [JOB_ARG],
    options: { slot: { type: "string", value: "iso", description: `only this slot (${SLOT_HELP}); default: every one to come` } },
    run: (ctx, input) => import("./snooze").then((m) => m.jobsUnskip(ctx, input)),
  },
  {
    path: ["jobs", "snooze"],
    summary: "Snooze a job until a time (a maintenance window): its scheduled runs until then are skipped",
    args: [JOB_ARG],
    options: {
      until: { type: "string", value: "iso", description: `when the snooze ends (${SLOT_HELP}); the slot at that time runs` },
      for: { type: "string", value: "duration", description: "or how long from now: 30m, 2h, 1d (at most 90d)" },
      note: { type: "string", value: "text", description: "why (shown on the job page as the reason)" },
    },
    details: [
      "A snooze ends by itself; a pause lasts until someone resumes. A new snooze replaces the one in force.",
      "Run-now, replay and backfill still run during a snooze. End it early with `crondeck jobs unsnooze <job>`.",
      "Examples: crondeck jobs snooze nightly-export --for 2h --note \"database migration\"",
      "          crondeck jobs snooze nightly-export --until 2026-03-29T06:00:00+02:00",
    ],
    run: (ctx, input) => import("./snooze").then((m) => m.jobsSnooze(ctx, input)),
  },
  {
    path: ["jobs", "unsnooze"],
    summary: "End a job's snooze now: its next slot runs",
    args: [JOB_ARG],
    run: (ctx, input) => import("./snooze").then((m) => m.jobsUnsnooze(ctx, input)),
  },
];
