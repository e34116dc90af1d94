import type { AttemptsResult } from "./attempts";
import { sleepOn, type Clock } from "./clock";
import { coerceError } from "./errors";
import type { RunEnding } from "./lease-keeper";
import { MAX_ERROR_CHARS, MAX_STACK_CHARS, type RunLog } from "./run-log";
import type { FinishInput, FinishResult, RunStore } from "./run-store";
import { isUnavailable } from "./store-errors";
import type { FinishStatus } from "./vocabulary";

/** A failed finish is retried for at most this long (and never past the invocation's budget). */
const FINISH_RETRY_MAX_MS = 20_000;

/** What a run's attempts amount to, as its row records it. */
export interface RunOutcome {
  status: FinishStatus;
  errorMessage: string | null;
  errorStack: string | null;
  output: unknown;
  /** The last attempt's handler still runs (it ignored its signal): its promise. */
  running: Promise<unknown> | null;
}

/**
 * The status and error of a run from its attempts and how its lease ended. A run stopped by
 * its lease or by a replace trigger says so; a success stays a success.
 */
export function outcomeOf(result: AttemptsResult, ending: RunEnding | null, log: RunLog): RunOutcome {
  const { last } = result;
  const status: FinishStatus =
    ending?.kind === "replaced" && !last?.ok
      ? "replaced"
      : last?.ok
        ? "completed"
        : ending?.kind === "lease_lost"
          ? "failed"
          : result.retryDeferred
            ? "retry_scheduled"
            : last?.timedOut
              ? "timed_out"
              : "failed";
  const error = last?.ok ? null : ending && (status === "replaced" || ending.kind === "lease_lost") ? ending.error : last ? last.error : null;
  return {
    status,
    errorMessage: error ? log.clean(error.message, MAX_ERROR_CHARS) : null,
    errorStack: error?.stack ? log.clean(error.stack, MAX_STACK_CHARS) : null,
    output: last?.ok ? log.json(last.value) : null,
    running: last && !last.ok && !last.settled ? last.running : null,
  };
}

/** The fenced finish's input for a run's outcome. */
export function finishInputOf(
  run: { runId: string; fencingToken: number; pauseAfter: number },
  result: AttemptsResult,
  outcome: RunOutcome,
  log: RunLog,
): FinishInput {
  return {
    runId: run.runId,
    fencingToken: run.fencingToken,
    status: outcome.status,
    attempts: result.attempts,
    errorMessage: outcome.errorMessage,
    errorStack: outcome.errorStack,
    output: outcome.output,
    logLines: log.recorded(),
    attemptDetails: result.attemptDetails,
    // A handler that still runs keeps the lease until it settles.
    releaseLease: !outcome.running,
    nextRetryAt: result.nextRetryAt,
    deadLetter: outcome.status === "failed" || outcome.status === "timed_out",
    pauseAfter: run.pauseAfter,
  };
}

export interface RecordOptions {
  runs: RunStore;
  clock: Clock;
  /** The steady reading the deadline is in. */
  now: () => number;
  /** The invocation's end: no retry of the finish goes past it. */
  budgetEnd: number;
  /** Warns about this run (prefixed with the job and run already). */
  warn: (message: string) => void;
  clean: (text: string, max: number) => string;
}

/**
 * Writes a run's result with the one fenced finish. A connection-level failure is retried with
 * backoff (100 ms doubling to 2 s) for up to 20 s within the budget, while the lease keeper keeps
 * the lease alive; anything else would fail alike and is not asked again. Null when the result
 * could not be written: the run stays started until its lease expires and the sweep closes it.
 */
export async function recordFinish(o: RecordOptions, input: FinishInput): Promise<FinishResult | null> {
  const deadline = Math.min(o.budgetEnd, o.now() + FINISH_RETRY_MAX_MS);
  let failure: Error | null = null;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await o.runs.finish(input);
    } catch (thrown) {
      failure = coerceError(thrown);
      if (!isUnavailable(thrown) || o.now() + delay >= deadline) break;
      o.warn(`writing the result failed, retrying in ${delay}ms: ${o.clean(failure.message, 300)}`);
      await sleepOn(o.clock, delay);
    }
  }
  o.warn(`the handler ran (${input.status}) but its result could not be written: ${o.clean(failure?.message ?? "unknown error", 300)}; the run stays started until its lease expires and the sweep closes it`);
  return null;
}
