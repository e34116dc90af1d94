import { FINISH_RESERVE_MS } from "./budget";
import { sleepOn, type Clock } from "./clock";
import type { PreLockHandle } from "./lease-keeper";
import type { EngineDeps, TriggerInput, TriggerOutcome } from "./run-job";
import type { AttemptRecord, ClaimInput, ClaimResult, LogLine, PromoteResult } from "./run-store";
import { isUnavailable } from "./store-errors";
import { isOperatorTrigger, isSlotTrigger, type SkipReason } from "./vocabulary";

/**
 * The claim phase of a trigger: the Redis pre-check, the Postgres claim (or the resume of a
 * deferred retry), and the wait of a queued bufferOne/replace run for the lease. Ends with
 * either a recorded skip or a run that holds the job's lease; the handler never runs without one.
 *
 * Under faults:
 * - Postgres decides; Redis never skips a trigger on its own. A Redis "held" is confirmed by
 *   the claim itself (a losing claim costs the one round trip a recorded skip would), so a
 *   stale key whose release failed cannot block the job, and a failing Redis leaves Postgres
 *   to decide alone.
 * - The claim is retry-safe: the run id is chosen here, and a connection error retries the
 *   claim once with it; the database recognises a row with that id as the caller's own claim.
 * - A queued row is dropped on every exit of its wait (errors, budget, shutdown), the drop is
 *   retried, and the row carries its own expiry in case the drop cannot be written at all.
 */

/** Delays before each retry of a queued row's drop: about 0.9 s in all, then the row's own expiry settles it. */
const DROP_RETRY_DELAYS_MS = [100, 250, 500];

/**
 * A queued row's expiry is its waiter's budget plus this: room for the drop's retries and a
 * slow round trip. Past it the row no longer holds the job's one queued place.
 */
export const QUEUE_DROP_MARGIN_MS = 5_000;

/** Resolves to the lock's fate without ever throwing: true taken, false held elsewhere, null Redis failed. */
const tryPreLock = (lock: NonNullable<EngineDeps["preLock"]>, key: string, owner: string, ttlMs: number): Promise<boolean | null> =>
  lock.acquire(key, owner, ttlMs).catch(() => null);

const NO_PRE_LOCK: PreLockHandle = { extend: () => Promise.resolve(true), release: () => Promise.resolve() };

/** Runs `call`; on a connection error (its reply may have been lost after it committed) runs it once more. */
async function onceMoreIfUnavailable<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!isUnavailable(error)) throw error;
    return call();
  }
}

/** Drops a queued row, retrying briefly. Never throws: a row it cannot drop expires by itself. */
async function dropQueuedRow(deps: EngineDeps, runId: string, clock: Clock): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await deps.runs.dropQueued(runId, deps.holder);
    } catch {
      if (i >= DROP_RETRY_DELAYS_MS.length) return;
      await sleepOn(clock, DROP_RETRY_DELAYS_MS[i]);
    }
  }
}

/** The claim's view of time: the lease to ask for, when the invocation started, and the clock. */
export interface ClaimTime {
  leaseMs: number;
  /** The invocation's start, in `now`'s reading. */
  t0: number;
  /** The steady reading deadlines are measured in. */
  now: () => number;
  clock: Clock;
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
  /** The run's stored input (a resumed retry's is its row's); null: the job's default. */
  input: unknown;
}

export type ClaimPhase = { kind: "skipped"; outcome: TriggerOutcome & { kind: "skipped" } } | { kind: "held"; claim: HeldClaim };

/**
 * `slot:<iso>` for scheduled runs, `key:<key>` for manual runs with an Idempotency-Key, and
 * `backfill:<id>:<iso>` for a slot of a backfill that runs every slot again (`--overlap all`).
 */
export function dedupeKeyFor(input: Pick<TriggerInput, "trigger" | "scheduledFor" | "idempotencyKey" | "backfillId">): string | null {
  if (input.idempotencyKey) return `key:${input.idempotencyKey}`;
  if (input.backfillId && input.scheduledFor) return `backfill:${input.backfillId}:${input.scheduledFor.toISOString()}`;
  if (input.scheduledFor && isSlotTrigger(input.trigger)) return `slot:${input.scheduledFor.toISOString()}`;
  return null;
}

export async function claimTrigger(deps: EngineDeps, input: TriggerInput, time: ClaimTime): Promise<ClaimPhase> {
  const { job } = input;
  const { leaseMs, t0, now, clock } = time;
  // A queued run waits at most until here, leaving the finish reserve and time for the handler.
  const waitDeadline = t0 + Math.max(0, input.budgetMs - FINISH_RESERVE_MS - Math.min(job.timeoutMs, input.budgetMs / 2));
  const claimInput: ClaimInput = {
    jobName: job.name,
    trigger: input.trigger,
    scheduledFor: input.scheduledFor,
    dedupeKey: dedupeKeyFor(input),
    overlap: job.overlap,
    enabledByDefault: job.enabled,
    checkState: !isOperatorTrigger(input.trigger),
    leaseMs,
    holder: deps.holder,
    codeVersion: deps.codeVersion,
    actor: input.actor ?? null,
    replayOf: input.replayOf ?? null,
    // Chosen here, not by the database, so a claim whose reply was lost can be asked again.
    runId: input.runId ?? crypto.randomUUID(),
    queueTtlMs: Math.max(0, waitDeadline - now()) + QUEUE_DROP_MARGIN_MS,
    input: input.input ?? null,
  };
  const skipped = (r: { runId: string; reason: SkipReason; startedAt: Date }): ClaimPhase => ({
    kind: "skipped",
    outcome: { kind: "skipped", jobName: job.name, reason: r.reason, runId: r.runId, scheduledFor: input.scheduledFor, trigger: input.trigger, startedAt: r.startedAt },
  });

  // 1. Fast pre-lock in Redis. Only a lock taken there is used; "held" (perhaps a stale key
  //    whose release failed) and a failing Redis both leave the decision to Postgres below.
  let preLock = NO_PRE_LOCK;
  if (deps.preLock && job.overlap === "skip") {
    const lock = deps.preLock;
    const key = `job:${job.name}`;
    const owner = crypto.randomUUID();
    if ((await tryPreLock(lock, key, owner, leaseMs)) === true) {
      preLock = {
        extend: (ttlMs) => lock.extend(key, owner, ttlMs).catch(() => false),
        release: async () => {
          await lock.release(key, owner).catch(() => false);
        },
      };
    }
  }

  // 2. Claim in Postgres, the source of truth.
  if (input.retryOf) {
    // A deferred retry resumes its own row: no new row, no new slot. It records this deployment's code version.
    let resumed;
    try {
      resumed = await deps.runs.claimRetry(input.retryOf, leaseMs, deps.holder, deps.codeVersion);
    } catch (error) {
      await preLock.release();
      throw error;
    }
    if (resumed.outcome !== "claimed") {
      await preLock.release();
      return skipped({ runId: input.retryOf, reason: resumed.outcome === "busy" ? "already_running" : "duplicate", startedAt: new Date(clock.now()) });
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
        input: resumed.input ?? null,
      },
    };
  }
  let claim: ClaimResult;
  try {
    claim = await onceMoreIfUnavailable(() => deps.runs.claim(claimInput));
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
    return { kind: "held", claim: { runId, fencingToken: claim.fencingToken, startedAt: claim.startedAt, scheduledFor: input.scheduledFor, priorAttempts: [], priorLogLines: [], preLock, input: claimInput.input } };
  }

  // 3. bufferOne / replace: wait for the holder to finish (or to obey its abort), within the
  //    budget, until this process stops. Every exit without the lease drops the queued row.
  let promoted: PromoteResult | null = null;
  try {
    for (;;) {
      if (deps.stopping?.aborted) break;
      try {
        promoted = await deps.runs.promote(runId, leaseMs, deps.holder);
      } catch (error) {
        // A database blip: keep asking until the deadline (promote is safe to repeat).
        if (!isUnavailable(error)) throw error;
        promoted = null;
      }
      if ((promoted && promoted.outcome !== "waiting") || now() >= waitDeadline) break;
      await sleepOn(clock, Math.min(deps.queuePollMs ?? 250, waitDeadline - now()), deps.stopping);
    }
  } finally {
    if (promoted?.outcome !== "claimed") {
      await dropQueuedRow(deps, runId, clock);
      await preLock.release();
    }
  }
  if (promoted?.outcome !== "claimed") return skipped({ runId, reason: "already_running", startedAt: new Date(clock.now()) });
  return { kind: "held", claim: { runId, fencingToken: promoted.fencingToken, startedAt: promoted.startedAt, scheduledFor: input.scheduledFor, priorAttempts: [], priorLogLines: [], preLock, input: claimInput.input } };
}
