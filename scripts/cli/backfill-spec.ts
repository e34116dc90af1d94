import type { CommandSpec } from "./spec";

/** The CLI's backfill commands (listed in commands.ts). */
export const backfillCommands: CommandSpec[] = [
  {
    path: ["backfill"],
    summary: "Run a job's past slots over a range, one at a time, in this process (--dry-run lists them); list, show, cancel, resume backfills",
    args: [{ name: "job", required: false, description: "the job to backfill (`crondeck jobs list` shows them); none with --show, --cancel, --resume" }],
    options: {
      from: { type: "string", value: "ISO", description: "the first instant of the range, included (2026-11-01T00:00:00Z)" },
      to: { type: "string", value: "ISO", description: "the last instant of the range, included; not in the future" },
      "dry-run": { type: "boolean", description: "list the slots it would run (and those that already have runs); change nothing" },
      overlap: { type: "string", value: "skip|all", description: "skip (default): only slots with no run keyed by the slot; all: every slot again" },
      input: { type: "string", value: "json", description: "the input every slot's run gets, checked by the job's input schema (default: its defaultInput)" },
      "input-file": { type: "string", value: "path", description: "that input from a JSON file" },
      list: { type: "boolean", description: "the job's backfills, newest first" },
      show: { type: "string", value: "id", description: "one backfill's progress" },
      cancel: { type: "string", value: "id", description: "stop a running backfill before its next slot (the slot in flight finishes)" },
      resume: { type: "string", value: "id", description: "go on with a running backfill nobody runs (its runner died), from its cursor" },
    },
    details: [
      "The slots are the schedule's occurrences in [from, to] (at most 1,000 per backfill). Each runs",
      "through the engine as trigger backfill with the slot as its scheduled time: the same claim,",
      "overlap, retries, dead letters and alerts as any run; it runs even when the job is paused.",
      "With overlap skip a run is keyed by its slot, so no slot ever runs twice (a slot Vercel ran",
      "in the meantime is counted, not run). Progress is kept in the database: another terminal's",
      "`crondeck backfill --cancel <id>` stops it, and if this process dies the app's tick goes on",
      "from where it stopped once its lease expires (a minute). Exit 1 unless every slot completed.",
      "",
      "  crondeck backfill nightly-report --from 2026-11-01T00:00:00Z --to 2026-11-07T23:59:59Z --dry-run",
      "  crondeck backfill nightly-report --from 2026-11-01T00:00:00Z --to 2026-11-07T23:59:59Z",
      "  crondeck backfill nightly-report --list",
      "  crondeck backfill --cancel 0b7c3f5e-8a1d-4c2b-9e6f-1a2b3c4d5e6f",
    ],
    run: (ctx, input) => import("./backfill").then((m) => m.backfill(ctx, input)),
  },
];
