import { FINISH_RESERVE_MS } from "../cron/budget";
import { dedupeKeyFor } from "../cron/claim";
import { steadyNowOf, systemClock, type Clock } from "../cron/clock";
import type { JobDefinition } from "../cron/define-job";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "../cron/run-job";
import type { Backfill, BackfillStore, SlotStep } from "./store";

/**
 * Runs a backfill one slot at a time through the engine (trigger backfill, the slot as
 * scheduledFor: the same claim, overlap, retries, dead letters and alerts as any run), from its
 * cursor, while it holds the backfill's runner lease:
 * - before each slot it reads the cancel request (the slot in flight finishes; none starts after);
 * - before running a slot it looks up the slot's run by its dedupe key: a runner that died after
 *   its claim left that row, so the slot is counted, never run twice;
 * - while a slot runs the lease is heartbeated; a runner that dies stops heartbeating and the
 *   next one (the tick, the API, the CLI) takes the backfill over once the lease has expired;
 * - it stops starting slots when the invocation's budget would not fit one, and frees the lease
 *   so the next tick goes on at once.
 */

/** How long a runner's lease lasts without a heartbeat: the tick takes over a dead runner's backfill after this. */
export const BACKFILL_LEASE_MS = 60_000;

export interface BackfillRunnerDeps {
  store: BackfillStore;
  engine: EngineDeps;
  /** The job by name (null once it is gone from the registry: the backfill fails). */
  jobOf(name: string): JobDefinition | null;
  /** This runner's name on the lease: unique per runner, even within one process. */
  holder: string;
  leaseMs?: number;
  /** Called after each slot (the CLI prints a progress line). */
  onSlot?: (backfill: Backfill, slot: Date, step: SlotStep, outcome: TriggerOutcome | null) => void;
}

/** How a runner's turn ended: done (the backfill's status), paused (budget, or a slot that waits), busy (another runner holds it), lost (taken over mid-way). */
export type RunnerResult =
  | { kind: "done"; backfill: Backfill }
  | { kind: "paused"; backfill: Backfill; why: "budget" | "waiting" }
  | { kind: "busy" }
  | { kind: "lost" };

/** A finished run's or a skip's contribution to the counts. */
export function stepOf(outcome: TriggerOutcome): SlotStep {
  if (outcome.kind === "skipped") return { ran: 0, completed: 0, failed: 0, skipped: 1, runId: outcome.runId };
  if (outcome.kind === "waiting") return { ran: 0, completed: 0, failed: 0, skipped: 0, runId: null };
  const s = outcome.run.status;
  return { ran: 1, completed: s === "completed" ? 1 : 0, failed: s === "failed" || s === "timed_out" ? 1 : 0, skipped: 0, runId: outcome.run.id };
}

/** The counts of a slot whose keyed row a previous runner left. */
function stepOfExisting(found: { runId: string; status: string }): SlotStep {
  if (found.status === "skipped") return { ran: 0, completed: 0, failed: 0, skipped: 1, runId: found.runId };
  const failed = found.status === "failed" || found.status === "timed_out" || found.status === "abandoned";
  return { ran: 1, completed: found.status === "completed" ? 1 : 0, failed: failed ? 1 : 0, skipped: 0, runId: found.runId };
}

/** Runs `work` while heartbeating the runner's lease every third of its length. */
async function heartbeating<T>(clock: Clock, beat: () => Promise<unknown>, everyMs: number, work: () => Promise<T>): Promise<T> {
  let handle: unknown = null;
  let stopped = false;
  const schedule = () => {
    handle = clock.setTimeout(() => {
      void beat()
        .catch(() => false)
        .finally(() => {
          if (!stopped) schedule();
        });
    }, everyMs);
  };
  schedule();
  try {
    return await work();
  } finally {
    stopped = true;
    clock.clearTimeout(handle);
  }
}

export async function runBackfill(deps: BackfillRunnerDeps, id: string, options: { budgetMs: number }): Promise<RunnerResult> {
  const { store, engine, holder } = deps;
  const leaseMs = deps.leaseMs ?? BACKFILL_LEASE_MS;
  const clock = engine.clock ?? systemClock;
  const now = steadyNowOf(clock);
  const t0 = now();
  let backfill = await store.acquire(id, holder, leaseMs);
  if (!backfill) return { kind: "busy" };
  const job = deps.jobOf(backfill.jobName);
  if (!job) {
    const ended = await store.finish(id, holder, "failed", `the job ${backfill.jobName} is no longer in the registry`);
    return ended ? { kind: "done", backfill: ended } : { kind: "lost" };
  }
  for (;;) {
    if (backfill.cancelRequestedAt || backfill.nextIndex >= backfill.slots.length) {
      const ended = await store.finish(id, holder, backfill.cancelRequestedAt ? "cancelled" : "completed");
      return ended ? { kind: "done", backfill: ended } : { kind: "lost" };
    }
    const left = options.budgetMs - (now() - t0);
    // A slot starts only with room for its handler (as a queued run's wait, claim.ts) and its finish.
    if (left < Math.min(job.timeoutMs, options.budgetMs / 2) + FINISH_RESERVE_MS) {
      await store.release(id, holder);
      return { kind: "paused", backfill, why: "budget" };
    }
    const index = backfill.nextIndex;
    const slot = backfill.slots[index];
    const key = dedupeKeyFor({ trigger: "backfill", scheduledFor: slot, idempotencyKey: null, backfillId: backfill.overlap === "all" ? backfill.id : null });
    const found = key ? await store.runByKey(job.name, key) : null;
    let outcome: TriggerOutcome | null = null;
    let step: SlotStep;
    if (found) {
      step = stepOfExisting(found);
    } else {
      const current = backfill;
      outcome = await heartbeating(clock, () => store.heartbeat(id, holder, leaseMs), Math.max(1, Math.floor(leaseMs / 3)), () =>
        runTrigger(engine, {
          job,
          trigger: "backfill",
          scheduledFor: slot,
          actor: current.actor,
          input: current.input,
          backfillId: current.overlap === "all" ? current.id : null,
          budgetMs: left,
        }),
      );
      if (outcome.kind === "waiting") {
        // An upstream job of this slot is still running (dependsOn): the slot is asked again on the next turn.
        await store.release(id, holder);
        return { kind: "paused", backfill, why: "waiting" };
      }
      step = stepOf(outcome);
    }
    const next = await store.advance(id, holder, index, step, leaseMs);
    if (!next) return { kind: "lost" };
    backfill = next;
    deps.onSlot?.(backfill, slot, step, outcome);
  }
}

/** Takes over the backfills nobody runs (a dead runner's, or one paused for budget), one after the other, within the budget. */
export async function resumeBackfills(deps: Omit<BackfillRunnerDeps, "holder"> & { holder: () => string }, options: { budgetMs: number; limit?: number }): Promise<RunnerResult[]> {
  const clock = deps.engine.clock ?? systemClock;
  const now = steadyNowOf(clock);
  const t0 = now();
  const results: RunnerResult[] = [];
  for (const id of await deps.store.resumable(options.limit ?? 5)) {
    const left = options.budgetMs - (now() - t0);
    if (left <= FINISH_RESERVE_MS * 2) break;
    results.push(await runBackfill({ ...deps, holder: deps.holder() }, id, { budgetMs: left }));
  }
  return results;
}
