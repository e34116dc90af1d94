import type { JobContext } from "../cron/define-job";
import { RetryAfterError } from "../cron/errors";
import { faultLedger, type LedgerOutcome } from "../db/fault-ledger";
import { loadEnv } from "../env";

/**
 * The fault-injection jobs' handler: it behaves as fault_control says and records what it
 * really did in fault_ledger (both in lib/db/fault-ledger.ts), for the harness in tests/faults.
 */

/** The ledger this process writes to. */
function ledger() {
  const env = loadEnv();
  return faultLedger(env.CRONDECK_FAULT_LEDGER_URL || env.DATABASE_URL);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The handler every fault job shares: reads its behaviour, records its start, works for
 * holdMs (stopping early on abort when it obeys), records when its signal told it to stop,
 * and records its end on every exit.
 */
export async function faultHandler(jobName: string, ctx: JobContext): Promise<unknown> {
  const book = ledger();
  const behaviour = await book.behaviourOf(jobName);
  if (behaviour.startDelayMs > 0) await sleep(behaviour.startDelayMs);
  const id = await book.recordStart({
    jobName,
    runId: ctx.runId,
    slot: ctx.scheduledFor ?? null,
    trigger: ctx.trigger,
    attempt: ctx.attempt,
    pid: process.pid,
    fencingToken: ctx.fencingToken,
  });
  let told: Promise<void> = Promise.resolve();
  const onAbort = () => {
    const reason: unknown = ctx.signal.reason;
    told = book.recordTold(id, reason instanceof Error ? reason.message : String(reason)).catch(() => {});
  };
  if (ctx.signal.aborted) onAbort();
  else ctx.signal.addEventListener("abort", onAbort, { once: true });
  let outcome: LedgerOutcome = "ok";
  try {
    // Work is counted in steps, not by the wall clock: a process frozen (SIGSTOP) in the middle
    // still has its remaining steps to do when it wakes up.
    for (let done = 0; done < behaviour.holdMs; done += 25) {
      if (behaviour.obey && ctx.signal.aborted) break;
      await sleep(Math.min(25, behaviour.holdMs - done));
    }
    if (behaviour.obey && ctx.signal.aborted) outcome = "aborted";
    if (outcome === "aborted") throw new Error(`stopped on abort: ${ctx.signal.reason instanceof Error ? ctx.signal.reason.message : "aborted"}`);
    if (ctx.attempt === 1 && behaviour.deferMs > 0) {
      outcome = "failed";
      throw new RetryAfterError("fault job: attempt 1 asks for a deferred retry", behaviour.deferMs);
    }
    if (ctx.attempt <= behaviour.failAttempts) {
      outcome = "failed";
      throw new Error(`fault job: attempt ${ctx.attempt} fails as told`);
    }
    return { pid: process.pid, heldMs: behaviour.holdMs };
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    await told;
    await book.recordEnd(id, outcome).catch(() => {});
  }
}
