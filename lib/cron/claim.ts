import { FINISH_RESERVE_MS, sleep } from "./budget";
import type { EngineDeps, TriggerInput, TriggerOutcome } from "./run-job";
import type { AttemptRecord, ClaimInput, LogLine, SkipReason } from "./run-store";

/**
 * The claim phase of a trigger: the Redis pre-check, the Postgres claim (or the resume of a
 * deferred retry), and the wait of a queued bufferOne/replace run for the lease. Ends with
 * either a recorded skip or a run that holds the job's lease; the handler never runs without one.
 */

/** The Redis pre-lock that goes with a claim (a no-op when there is none). */
export interface PreLockHandle {
  extend(ttlMs: number): Promise<boolean>;
  release(): Promise<void>;
}

export interface HeldClaim {
  runId: string;
  fencingToken: number;
  startedAt: Date;
  scheduledFor: Date | null;
  /** A resumed retry's earlier attempts and log lines. */
  priorAttempts: AttemptRecord[];
  priorLogLines: LogLine[];
  preLock: PreLockHandle;
}

export type ClaimPhase = { kind: "skipped"; outcome: TriggerOutcome & { kind: "skipped" } } | { kind: "held"; claim: HeldClaim };

/** `slot:<iso>` for scheduled runs, `key:<key>` for manual runs with an Idempotency-Key. */
export function dedupeKeyFor(input: Pick<TriggerInput, "trigger" | "scheduledFor" | "idempotencyKey">): string | null {
  if (input.idempotencyKey) return `key:${input.idempotencyKey}`;
  if (input.scheduledFor && (input.trigger === "schedule" || input.trigger === "tick" || input.trigger === "catchup")) return `slot:${input.scheduledFor.toISOString()}`;
  return null;
}

export async function claimTrigger(deps: EngineDeps, input: TriggerInput, leaseMs: number, t0: number): Promise<ClaimPhase> {
  const { job } = input;
  const claimInput: ClaimInput = {
    jobName: job.name,
    trigger: input.trigger,
    scheduledFor: input.scheduledFor,
    dedupeKey: dedupeKeyFor(input),
    overlap: job.overlap,
    enabledByDefault: job.enabled,
    checkState: input.trigger !== "manual" && input.trigger !== "replay",
    leaseMs,
    holder: deps.holder,
    codeVersion: deps.codeVersion,
    actor: input.actor ?? null,
    replayOf: input.replayOf ?? null,
    runId: input.runId ?? null,
  };
  const skipped = (r: { runId: string; reason: SkipReason; startedAt: Date }): ClaimPhase => ({
    kind: "skipped",
    outcome: { kind: "skipped", jobName: job.name, reason: r.reason, runId: r.runId, scheduledFor: input.scheduledFor, trigger: input.trigger, startedAt: r.startedAt },
  });

  // 1. Fast pre-check: a Redis lease held elsewhere means a loser, recorded in one Postgres round trip.
  const preLockKey = `job:${job.name}`;
  const preLockOwner = crypto.randomUUID();
  const usePreLock = Boolean(deps.preLock) && job.overlap === "skip";
  if (usePreLock && !(await deps.preLock!.acquire(preLockKey, preLockOwner, leaseMs))) {
    return skipped(await deps.runs.recordSkip(claimInput, "already_running"));
  }
  const preLock: PreLockHandle = {
    extend: (ttlMs) => (usePreLock ? deps.preLock!.extend(preLockKey, preLockOwner, ttlMs).catch(() => false) : Promise.resolve(true)),
    release: async () => {
      if (usePreLock) await deps.preLock!.release(preLockKey, preLockOwner).catch(() => false);
    },
  };

  // 2. Claim in Postgres, the source of truth.
  if (input.retryOf) {
    // A deferred retry resumes its own row: no new row, no new slot.
    const resumed = await deps.runs.claimRetry(input.retryOf, leaseMs, deps.holder);
    if (resumed.outcome !== "claimed") {
      await preLock.release();
      return skipped({ runId: input.retryOf, reason: resumed.outcome === "busy" ? "already_running" : "duplicate", startedAt: new Date() });
    }
    return {
      kind: "held",
      claim: {
        runId: input.retryOf,
        fencingToken: resumed.fencingToken,
        startedAt: resumed.startedAt,
        scheduledFor: resumed.scheduledFor,
        priorAttempts: resumed.attemptDetails,
        priorLogLines: resumed.logLines,
        preLock,
      },
    };
  }
  let claim;
  try {
    claim = await deps.runs.claim(claimInput);
  } catch (error) {
    await preLock.release();
    throw error;
  }
  if (claim.outcome === "skipped") {
    await preLock.release();
    return skipped(claim);
  }
  const runId = claim.runId;
  if (claim.outcome === "claimed") {
    return { kind: "held", claim: { runId, fencingToken: claim.fencingToken, startedAt: claim.startedAt, scheduledFor: input.scheduledFor, priorAttempts: [], priorLogLines: [], preLock } };
  }
  // 3. bufferOne / replace: wait for the holder to finish (or to obey its abort), within the budget.
  const deadline = t0 + Math.max(0, input.budgetMs - FINISH_RESERVE_MS - Math.min(job.timeoutMs, input.budgetMs / 2));
  let promoted;
  for (;;) {
    promoted = await deps.runs.promote(runId, leaseMs, deps.holder);
    if (promoted.outcome !== "waiting" || Date.now() >= deadline) break;
    await sleep(Math.min(deps.queuePollMs ?? 250, deadline - Date.now()));
  }
  if (promoted.outcome !== "claimed") {
    await deps.runs.dropQueued(runId);
    await preLock.release();
    return skipped({ runId, reason: "already_running", startedAt: new Date() });
  }
  return { kind: "held", claim: { runId, fencingToken: promoted.fencingToken, startedAt: promoted.startedAt, scheduledFor: input.scheduledFor, priorAttempts: [], priorLogLines: [], preLock } };
}
