import type { CommandSpec } from "./spec";

/** The explorer's filters as options: each maps to the query parameter the API and the dashboard read (lib/app/run-query.ts). */
export const RUN_FILTER_OPTIONS = {
  job: { type: "string", value: "names", description: "only these jobs (comma-separated)" },
  status: { type: "string", value: "statuses", description: "only these statuses, such as failed,timed_out" },
  trigger: { type: "string", value: "triggers", description: "only these triggers, such as manual,replay" },
  last: { type: "string", value: "window", description: "started in the last 1h, 24h, 7d, 30d or 90d" },
  from: { type: "string", value: "instant", description: "started at or after (ISO 8601; without a zone, UTC)" },
  to: { type: "string", value: "instant", description: "started before" },
  error: { type: "string", value: "text", description: "the error message contains this (any case)" },
  id: { type: "string", value: "id", description: "a run id, or its first hex digits" },
  after: { type: "string", value: "cursor", description: "continue after this cursor (from a previous page or export)" },
} as const;

/** The CLI's run explorer commands (listed in commands.ts): the dashboard's Runs page and its export. */
export const runCommands: CommandSpec[] = [
  {
    path: ["runs", "list"],
    summary: "Runs of every job, newest first, filtered (the dashboard's Runs page)",
    options: {
      ...RUN_FILTER_OPTIONS,
      limit: { type: "string", value: "n", description: "at most this many (1-500, default 50)" },
    },
    run: (ctx, input) => import("./runs").then((m) => m.runsList(ctx, input)),
  },
  {
    path: ["runs", "export"],
    summary: "The filtered runs as CSV or JSON, newest first, to a file or stdout",
    options: {
      ...RUN_FILTER_OPTIONS,
      format: { type: "string", value: "csv|json", description: "the file's format (default csv)" },
      max: { type: "string", value: "n", description: "at most this many runs (default 100000, up to 1000000; JSON's nextCursor continues with --after)" },
      output: { type: "string", value: "path", description: "write to this file instead of stdout" },
    },
    run: (ctx, input) => import("./runs").then((m) => m.runsExport(ctx, input)),
  },
];
