import { z } from "zod";
import {
  cancelBackfillNow, describeBackfill, describePlan, listBackfills, previewBackfill, requireBackfill, runBackfillNow, startBackfill,
} from "../../lib/app/operations/backfills";
import type { BackfillPlan } from "../../lib/backfill/plan";
import type { RunnerResult } from "../../lib/backfill/runner";
import type { Backfill } from "../../lib/backfill/store";
import { isUuid } from "../../lib/cron/ids";
import { BACKFILL_OVERLAP, type BackfillOverlap } from "../../lib/cron/vocabulary";
import type { CliContext } from "./context";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "./errors";
import { CLI_BUDGET_MS } from "./jobs";
import { formatTime, table } from "./format";
import { inputOption } from "./input";
import type { CommandInput } from "./spec";

const ISO = z.iso.datetime({ offset: true });

function instantOption(input: CommandInput, name: "from" | "to"): Date {
  const value = input.options[name];
  if (typeof value !== "string") throw new UsageError(`--${name} is required with a job: an ISO 8601 instant such as 2026-11-01T00:00:00Z (or --list, --dry-run: \`crondeck backfill --help\`)`);
  if (!ISO.safeParse(value).success) throw new UsageError(`--${name} "${value.slice(0, 40)}" is not an ISO 8601 instant with a timezone: write it like 2026-11-01T00:00:00Z`);
  return new Date(value);
}

function idOption(input: CommandInput, name: "show" | "cancel" | "resume"): string {
  const value = String(input.options[name]);
  if (!isUuid(value)) throw new UsageError(`--${name} takes a backfill's id (a UUID): \`crondeck backfill <job> --list\` shows them`);
  return value.toLowerCase();
}

function overlapOption(input: CommandInput): BackfillOverlap {
  const value = input.options.overlap ?? "skip";
  const found = BACKFILL_OVERLAP.find((o) => o === value);
  if (!found) throw new UsageError(`--overlap must be skip or all; got "${String(value).slice(0, 20)}"`);
  return found;
}

const progressLine = (b: Backfill) =>
  `${b.nextIndex}/${b.slots.length} slots: ${b.completed} completed, ${b.failed} failed, ${b.skipped} skipped${b.ran - b.completed - b.failed > 0 ? `, ${b.ran - b.completed - b.failed} other` : ""}`;

function backfillLines(b: Backfill): string[] {
  return [
    `backfill ${b.id} of ${b.jobName}: ${b.status}${b.cancelRequestedAt && b.status === "running" ? " (cancel requested)" : ""}`,
    `  range   ${b.from.toISOString()} .. ${b.to.toISOString()} (overlap ${b.overlap})`,
    `  done    ${progressLine(b)}`,
    `  by      ${b.actor}, ${formatTime(b.createdAt)}${b.finishedAt ? `; ended ${formatTime(b.finishedAt)}` : ""}`,
    ...(b.error ? [`  error   ${b.error}`] : []),
  ];
}

function planLines(plan: BackfillPlan, dryRun: boolean): string[] {
  const rows = plan.slots.map((s) => [s.slot, s.run ? `${s.run.status}${s.run.skipReason ? ` (${s.run.skipReason})` : ""}, ${s.run.trigger}` : "-", s.run?.id ?? "", s.willRun ? "run" : "skip (taken)"]);
  return [
    table(["SLOT", "RUN SO FAR", "RUN ID", dryRun ? "WOULD" : "WILL"], rows),
    `${plan.toRun.length} of ${plan.slots.length} slot(s) of ${plan.jobName} in ${plan.from} .. ${plan.to} ${dryRun ? "would run" : "to run"} (overlap ${plan.overlap})${dryRun ? "; nothing changed (--dry-run)" : ""}`,
  ];
}

/** Runs a backfill's turn in this process and prints where it ended; exit 0 only when every slot completed. */
async function runHere(ctx: CliContext, id: string, plan: BackfillPlan | null): Promise<number> {
  const deps = await ctx.opsWithEngine();
  if (!ctx.out.json) ctx.out.note(`backfill ${id}: running one slot at a time (cancel with \`crondeck backfill --cancel ${id}\`)...`);
  const result: RunnerResult = await runBackfillNow(deps, id, {
    budgetMs: CLI_BUDGET_MS,
    onSlot: (b, slot, step) => {
      const what = step.completed ? "completed" : step.failed ? "failed" : step.skipped ? "skipped" : "ran";
      if (!ctx.out.json) ctx.out.note(`  ${slot.toISOString()}  ${what}${step.runId ? `  run ${step.runId}` : ""}  (${progressLine(b)})`);
    },
  });
  if (result.kind === "busy") {
    const b = await requireBackfill(deps, id);
    ctx.out.result({ ok: false, result: "busy", backfill: describeBackfill(b) }, () => [
      ...backfillLines(b),
      b.status === "running" ? "another runner holds it (the app, or another terminal); `crondeck backfill --show <id>` follows it" : `it is ${b.status} already`,
    ]);
    return EXIT_FAILURE;
  }
  if (result.kind === "lost") {
    ctx.out.result({ ok: false, result: "lost" }, () => "another runner took the backfill over (this one's lease expired); it goes on there");
    return EXIT_FAILURE;
  }
  const b = result.backfill;
  const ok = result.kind === "done" && b.status === "completed" && b.failed === 0;
  ctx.out.result({ ok, result: result.kind, ...(result.kind === "paused" ? { why: result.why } : {}), backfill: describeBackfill(b), ...(plan ? { plan: describePlan(plan) } : {}) }, () => [
    ...backfillLines(b),
    ...(result.kind === "paused" ? [`paused (${result.why === "waiting" ? "its next slot waits for an upstream job" : "out of time"}): \`crondeck backfill --resume ${b.id}\` or the app's tick goes on`] : []),
  ]);
  return ok ? EXIT_OK : EXIT_FAILURE;
}

export async function backfill(ctx: CliContext, input: CommandInput): Promise<number> {
  const byId = (["show", "cancel", "resume"] as const).filter((o) => input.options[o] !== undefined);
  if (byId.length > 1) throw new UsageError(`--${byId[0]} and --${byId[1]} do not go together: one at a time`);
  if (byId.length === 1) {
    if (input.args[0] !== undefined) throw new UsageError(`--${byId[0]} takes a backfill's id, not a job: \`crondeck backfill --${byId[0]} <id>\``);
    const id = idOption(input, byId[0]);
    if (byId[0] === "resume") return runHere(ctx, id, null);
    const deps = await ctx.ops();
    const b = byId[0] === "cancel" ? await cancelBackfillNow(deps, ctx.actor, id) : await requireBackfill(deps, id);
    ctx.out.result({ ok: true, backfill: describeBackfill(b) }, () => [
      ...backfillLines(b),
      ...(byId[0] === "cancel" && b.status === "running" ? ["its runner stops before the next slot; the slot in flight finishes"] : []),
    ]);
    return EXIT_OK;
  }
  if (input.args[0] === undefined) throw new UsageError("a job is required: `crondeck backfill <job> --from <ISO> --to <ISO> [--dry-run]` (or --show/--cancel/--resume <id>)");
  const job = ctx.job(input.args[0]);
  if (input.options.list) {
    const list = await listBackfills(await ctx.ops(), job.name);
    ctx.out.result({ ok: true, job: job.name, backfills: list.map((b) => describeBackfill(b)) }, () =>
      list.length === 0
        ? `no backfills of ${job.name} yet`
        : table(["ID", "STATUS", "RANGE", "DONE", "BY", "CREATED"], list.map((b) => [b.id, b.status, `${b.from.toISOString()} .. ${b.to.toISOString()}`, progressLine(b), b.actor, formatTime(b.createdAt)])),
    );
    return EXIT_OK;
  }
  const request = { job, from: instantOption(input, "from"), to: instantOption(input, "to"), overlap: overlapOption(input), runInput: inputOption(input, ctx.cwd) };
  const deps = await ctx.opsWithEngine();
  if (input.options["dry-run"]) {
    const plan = await previewBackfill(deps, request);
    ctx.out.result({ ok: true, dryRun: true, plan: describePlan(plan) }, () => planLines(plan, true));
    return EXIT_OK;
  }
  const { plan, backfill: started } = await startBackfill(deps, ctx.actor, request);
  if (!ctx.out.json) ctx.out.note(planLines(plan, false).join("\n"));
  if (!started) {
    ctx.out.result({ ok: true, dryRun: false, backfill: null, plan: describePlan(plan) }, () => `nothing to run: every slot of ${job.name} in the range has a run (--overlap all runs them again)`);
    return EXIT_OK;
  }
  return runHere(ctx, started.id, plan);
}
