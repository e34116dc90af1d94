import type { CommandSpec } from "./spec";

/** The CLI's dependencies commands (listed in commands.ts). */
export const dependencyCommands: CommandSpec[] = [
  {
    path: ["jobs", "deps"],
    summary: "A job's dependencies (dependsOn): its upstream and downstream jobs, and why its recent slots wait or were skipped",
    args: [{ name: "job", required: true, description: "a job's name (`crondeck jobs list` shows them)" }],
    options: {
      slots: { type: "string", value: "n", description: "how many of its latest slots to show (1-50, default 5)" },
      before: { type: "string", value: "ISO", description: "show the slots at or before this instant (default now)" },
    },
    details: [
      "A dependent job's slot runs once each upstream completed its run for the same slot (the",
      "upstream's latest slot at or before it); it waits while one runs, and is skipped as",
      "upstream_failed when one failed for good (a replay of the upstream that succeeds runs it).",
      "",
      "  crondeck jobs deps transform",
    ],
    run: (ctx, input) => import("./dependencies").then((m) => m.jobsDeps(ctx, input)),
  },
];
