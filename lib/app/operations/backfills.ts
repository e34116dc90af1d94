import { randomUUID } from "node:crypto";
import { planBackfill, type BackfillPlan, type BackfillRequest } from "../../backfill/plan";
import { resumeBackfills, runBackfill, type BackfillRunnerDeps, type RunnerResult } from "../../backfill/runner";
import type { Backfill } from "../../backfill/store";
import { systemClock } from "../../cron/clock";
import type { JobDefinition } from "../../cron/define-job";
import { OperationError } from "../../cron/errors";
import { requireRunInput } from "../../cron/input";
import type { Actor } from "../../cron/vocabulary";
import { cancelBackfill, createBackfill, PgBackfillStore } from "../../db/commands/backfills";
import { inTransaction } from "../../db/commands/transaction";
import { backfillById, backfillsOfJob } from "../../db/queries/backfills";
import type { OperationDeps } from "./deps";

/**
 * Backfills over a range, one function each for the admin API, the CLI and the dashboard:
 * the dry run (the exact slots and their runs), the start (the row and its audit row in one
 * transaction; the caller then runs it: the API after its response, the CLI at once), the
 * run and the resume (lib/backfill/runner.ts), cancel, and the reads.
 */

const nowOf = (deps: Pick<OperationDeps, "engine">) => new Date((deps.engine.clock ?? systemClock).now());

/** The dry run: what a backfill of the range would run (its input checked too). Changes nothing. */
export async function previewBackfill(deps: Pick<OperationDeps, "db" | "engine">, input: { job: JobDefinition; runInput?: unknown } & BackfillRequest): Promise<BackfillPlan> {
  requireRunInput(input.job, input.runInput);
  return planBackfill(new PgBackfillStore(deps.db), input.job, input, nowOf(deps));
}

/**
 * Starts a backfill of the plan's slots (job.backfill), each run with `runInput` (checked by the
 * job's input schema; none: the job's default). Nothing to run (every slot taken, with
 * overlap skip): no backfill, the plan says why. 409 backfill_running when one runs already.
 */
export async function startBackfill(
  deps: Pick<OperationDeps, "db" | "engine">,
  actor: Actor,
  input: { job: JobDefinition; runInput?: unknown } & BackfillRequest,
): Promise<{ plan: BackfillPlan; backfill: Backfill | null }> {
  // Checked before anything is planned or written: 400 invalid_input naming the field.
  const runInput = requireRunInput(input.job, input.runInput);
  const plan = await previewBackfill(deps, input);
  if (plan.toRun.length === 0) return { plan, backfill: null };
  const backfill = await inTransaction(deps.db, (tx) =>
    createBackfill(tx, actor, { id: randomUUID(), jobName: input.job.name, from: input.from, to: input.to, overlap: input.overlap, slots: plan.toRun, input: runInput }),
  );
  return { plan, backfill };
}

function runnerDeps(deps: OperationDeps, onSlot?: BackfillRunnerDeps["onSlot"]): Omit<BackfillRunnerDeps, "holder"> {
  return { store: new PgBackfillStore(deps.db), engine: deps.engine, jobOf: (name) => deps.registry.get(name) ?? null, onSlot };
}

/** A runner's name: the process's holder and a nonce, so two runners of one process never share a lease. */
const runnerHolder = (deps: Pick<OperationDeps, "engine">) => `${deps.engine.holder}/backfill-${randomUUID().slice(0, 8)}`;

/** Runs (or goes on with) a backfill within the budget; busy when another runner holds it. */
export function runBackfillNow(deps: OperationDeps, id: string, options: { budgetMs: number; onSlot?: BackfillRunnerDeps["onSlot"] }): Promise<RunnerResult> {
  return runBackfill({ ...runnerDeps(deps, options.onSlot), holder: runnerHolder(deps) }, id, { budgetMs: options.budgetMs });
}

/** The tick's turn: takes over the running backfills nobody runs (a dead runner's lease expired, or one paused for budget). */
export function resumeStaleBackfills(deps: OperationDeps, options: { budgetMs: number }): Promise<RunnerResult[]> {
  return resumeBackfills({ ...runnerDeps(deps), holder: () => runnerHolder(deps) }, options);
}

/** Cancel (job.backfill_cancel): the runner stops before its next slot. */
export function cancelBackfillNow(deps: Pick<OperationDeps, "db">, actor: Actor, id: string): Promise<Backfill> {
  return inTransaction(deps.db, (tx) => cancelBackfill(tx, actor, id));
}

/** A backfill by id, or 404 backfill_not_found. */
export async function requireBackfill(deps: Pick<OperationDeps, "db">, id: string): Promise<Backfill> {
  const found = await backfillById(deps.db, id);
  if (!found) throw new OperationError("not_found", "backfill_not_found", `No backfill with id ${id}.`);
  return found;
}

export function listBackfills(deps: Pick<OperationDeps, "db">, jobName: string, limit = 20): Promise<Backfill[]> {
  return backfillsOfJob(deps.db, jobName, limit);
}

/** A backfill as the API, the CLI's --json and the dashboard show it. */
export function describeBackfill(b: Backfill, now: Date = new Date()) {
  return {
    id: b.id,
    jobName: b.jobName,
    from: b.from.toISOString(),
    to: b.to.toISOString(),
    overlap: b.overlap,
    status: b.status,
    total: b.slots.length,
    done: b.nextIndex,
    ran: b.ran,
    completed: b.completed,
    failed: b.failed,
    skipped: b.skipped,
    nextSlot: b.nextIndex < b.slots.length && b.status === "running" ? b.slots[b.nextIndex].toISOString() : null,
    lastRunId: b.lastRunId,
    error: b.error,
    actor: b.actor,
    cancelRequestedAt: b.cancelRequestedAt?.toISOString() ?? null,
    cancelledBy: b.cancelledBy,
    // A holder whose lease expired is a dead runner: the next tick takes the backfill over.
    runnerActive: b.runnerHolder !== null && b.runnerExpiresAt !== null && b.runnerExpiresAt.getTime() > now.getTime(),
    runnerExpiresAt: b.runnerExpiresAt?.toISOString() ?? null,
    createdAt: b.createdAt.toISOString(),
    updatedAt: b.updatedAt.toISOString(),
    finishedAt: b.finishedAt?.toISOString() ?? null,
    input: b.input,
    slots: b.slots.map((s) => s.toISOString()),
  };
}

/** A plan as the API and the CLI's --json show it. */
export function describePlan(plan: BackfillPlan) {
  return {
    jobName: plan.jobName,
    from: plan.from,
    to: plan.to,
    overlap: plan.overlap,
    total: plan.slots.length,
    toRun: plan.toRun.length,
    taken: plan.slots.filter((s) => s.taken).length,
    slots: plan.slots,
  };
}
