import { backoffDelayMs } from "./backoff";
import { sleepOn, type Clock, type TimerHandle } from "./clock";
import type { JobContext, JobDefinition } from "./define-job";
import { coerceError, ExpectationError, JobTimeoutError, NonRetriableError, RetryAfterError } from "./errors";
import { runInputOf } from "./input";
import type { HeldLease } from "./lease-keeper";
import { MAX_ERROR_CHARS, type LiveProgress, type RunLog } from "./run-log";
import type { AttemptRecord } from "./run-store";
import { nextRunAfter, slotAt, type Schedule } from "./schedule";
import type { RunTrigger } from "./vocabulary";

export type AttemptOutcome =
  | { ok: true; value: unknown; settled: true }
  | { ok: false; error: Error; timedOut: boolean; settled: boolean; running: Promise<unknown> };

export interface AttemptsInput {
  job: JobDefinition;
  trigger: RunTrigger;
  runId: string;
  fencingToken: number;
  scheduledFor: Date | null;
  /** The run's stored input (its row's `input`); null or absent: the job's default input. */
  input?: unknown;
  codeVersion: string | null;
  /** A resumed retry's earlier attempts. */
  priorAttempts: readonly AttemptRecord[];
  lease: HeldLease;
  log: RunLog;
  /** The run's progress as its row shows it while it runs (attempts started and ended). */
  progress?: LiveProgress | null;
  /** Timers and wall-clock times (attempt starts, the next retry). */
  clock: Clock;
  /** The steady reading durations are measured with. */
  now: () => number;
  /** What this invocation may still use, the finish reserve already taken off. */
  remainingMs: () => number;
  /** How long to wait after a timeout for the handler to settle. */
  settleGraceMs: number;
}

export interface AttemptsResult {
  /** Attempts made in all, a resumed retry's earlier ones included. */
  attempts: number;
  attemptDetails: AttemptRecord[];
  /** The last attempt of this invocation; undefined when none started (lease lost, or no time for a resumed retry). */
  last: AttemptOutcome | undefined;
  /** A retry was due but its delay and timeout did not fit in this invocation. */
  retryDeferred: boolean;
  nextRetryAt: Date | null;
}

/**
 * One attempt: the handler with its signal, raced against the timeout and the lease's own
 * "stop". After a timeout or a stop, a handler that honours its signal gets the settle grace to
 * return; one that does not is reported as still running (its promise goes with the outcome).
 */
async function runAttempt(a: AttemptsInput, attempt: number, timeoutMs: number): Promise<AttemptOutcome> {
  const { clock, lease } = a;
  // Parsed for each attempt, so a handler that changes its ctx.input leaves the next attempt's alone.
  let input: unknown;
  try {
    input = runInputOf(a.job, a.input);
  } catch (error) {
    return { ok: false, error: coerceError(error), timedOut: false, settled: true, running: Promise.resolve() };
  }
  const controller = new AbortController();
  const onStop = () => controller.abort(lease.signal.reason);
  if (lease.signal.aborted) onStop();
  lease.signal.addEventListener("abort", onStop, { once: true });
  const from = a.scheduledFor ?? new Date(clock.now());
  const ctx: JobContext = {
    signal: controller.signal,
    attempt,
    scheduledFor: a.scheduledFor,
    runId: a.runId,
    trigger: a.trigger,
    log: a.log.add,
    heartbeat: async () => void (await lease.keeper.beat()),
    fencingToken: a.fencingToken,
    input,
    lastSlot: lastSlotOf(a.job.schedule, a.scheduledFor, from),
    upcoming: upcomingSlots(a.job.schedule, from, UPCOMING_SLOTS),
  };
  const running = (async () => a.job.handler(ctx))();
  let timer: TimerHandle | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = clock.setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const aborted = new Promise<"aborted">((resolve) => controller.signal.addEventListener("abort", () => resolve("aborted"), { once: true }));
  try {
    const winner = await Promise.race([running.then((value) => ({ value }), (error) => ({ error })), timeout, aborted]);
    if (winner === "timeout" || winner === "aborted") {
      const error = winner === "timeout" ? new JobTimeoutError(timeoutMs) : coerceError(controller.signal.reason);
      if (winner === "timeout") controller.abort(error);
      // Give a handler that honours its signal a moment to stop before answering.
      const graceOver = new AbortController();
      const settled = await Promise.race([running.then(() => true, () => true), sleepOn(clock, a.settleGraceMs, graceOver.signal).then(() => false)]);
      graceOver.abort(); // a handler that stopped in time leaves no grace timer behind
      return { ok: false, error, timedOut: winner === "timeout", settled, running };
    }
    if ("error" in winner) return { ok: false, error: coerceError(winner.error), timedOut: false, settled: true, running };
    const refused = await expectationFailure(a.job, winner.value);
    if (refused) return { ok: false, error: refused, timedOut: false, settled: true, running };
    return { ok: true, value: winner.value, settled: true };
  } finally {
    clock.clearTimeout(timer);
    lease.signal.removeEventListener("abort", onStop);
  }
}

/** How many of the next slots a handler sees as ctx.upcoming. */
export const UPCOMING_SLOTS = 5;

/** A slot as the schedule functions answer it: a Date, or none (null, undefined or an invalid date past a bounded schedule's end). */
const slotOrNull = (value: Date | null | undefined): Date | null => (value instanceof Date && Number.isFinite(value.getTime()) ? value : null);

/**
 * The slot before this run's (the latest at or before now, for a run without a slot); null when
 * the schedule has none there (before startAt, a one-time job's only slot). A schedule that has
 * no such slot may throw: a handler's context never fails its run for it.
 */
export function lastSlotOf(schedule: Schedule, slot: Date | null, now: Date): Date | null {
  try {
    return slotOrNull(slot ? slotAt(schedule, new Date(slot.getTime() - 1)) : slotAt(schedule, now));
  } catch {
    return null;
  }
}

/** Up to `count` slots strictly after `after`, oldest first (fewer past endAt or a one-time slot). */
export function upcomingSlots(schedule: Schedule, after: Date, count: number): Date[] {
  const out: Date[] = [];
  let at = after;
  try {
    while (out.length < count) {
      const next = slotOrNull(nextRunAfter(schedule, at));
      if (!next || next.getTime() <= at.getTime()) break;
      out.push(next);
      at = next;
    }
  } catch {
    // no further slot
  }
  return out;
}

/**
 * The job's `expect` on a result: null when it passes (true or nothing), the failure otherwise
 * (a string is the reason; a throw fails the attempt with its message; anything else is a
 * mistake in the check, named as such).
 */
async function expectationFailure(job: JobDefinition, value: unknown): Promise<Error | null> {
  if (!job.expect) return null;
  try {
    const verdict = await job.expect(value);
    if (verdict === true || verdict === undefined) return null;
    if (verdict === false) return new ExpectationError("the check returned false");
    if (typeof verdict === "string") return new ExpectationError(verdict || "the result was refused");
    return new ExpectationError(`the check returned ${JSON.stringify(verdict) ?? String(verdict)}; return true to pass or a reason to fail`);
  } catch (error) {
    return new ExpectationError(`the check threw: ${coerceError(error).message}`);
  }
}

/**
 * The attempts of one run, with backoff. Each starts only under a live lease, with the job's
 * whole timeout; a retry whose delay and timeout do not fit in what this invocation has left is
 * not slept but deferred (retry_scheduled, due after the delay: the tick resumes it).
 */
export async function runAttempts(a: AttemptsInput): Promise<AttemptsResult> {
  const { job, lease, log } = a;
  const attemptDetails = [...a.priorAttempts];
  const result: AttemptsResult = { attempts: a.priorAttempts.length, attemptDetails, last: undefined, retryDeferred: false, nextRetryAt: null };
  const defer = (delayMs: number, message: string) => {
    result.retryDeferred = true;
    result.nextRetryAt = new Date(a.clock.now() + delayMs);
    log.add(message);
  };
  for (;;) {
    if (!(await lease.keeper.confirm())) break;
    const remaining = a.remainingMs();
    const attempt = result.attempts;
    // In-request retries were checked before their backoff sleep; this is a resumed retry.
    if (attempt > 0 && attempt === a.priorAttempts.length && remaining < job.timeoutMs) {
      // A resumed retry in an invocation too short for a whole attempt: due again at once.
      defer(0, `attempt ${attempt + 1} needs its ${job.timeoutMs}ms timeout and this invocation has ${Math.max(0, remaining)}ms left: deferred`);
      break;
    }
    result.attempts = attempt + 1;
    a.progress?.attemptStarted(result.attempts);
    // Only a first attempt can start with less than the job's timeout (an invocation shorter
    // than it, or a queued run that waited): its attempt record keeps the timeout it had.
    const timeoutMs = Math.max(1, Math.min(job.timeoutMs, remaining));
    lease.keeper.takeStalls();
    const startedAt = a.clock.now();
    const start = a.now();
    const last = await runAttempt(a, result.attempts, timeoutMs);
    result.last = last;
    lease.keeper.check();
    attemptDetails.push(recordOf(a, result.attempts, last, { startedAt, durationMs: a.now() - start, timeoutMs }));
    a.progress?.attemptsRecorded(attemptDetails);
    if (last.ok || !last.settled || lease.keeper.ending) break;
    if (last.error instanceof NonRetriableError || result.attempts > job.retries) break;
    const delay = last.error instanceof RetryAfterError ? last.error.retryAfterMs : backoffDelayMs(job.backoff, result.attempts);
    if (delay + job.timeoutMs > a.remainingMs()) {
      defer(delay, `retry ${result.attempts + 1} is due in ${delay}ms and needs its ${job.timeoutMs}ms timeout, beyond this invocation's time budget: deferred`);
      break;
    }
    if (delay > 0) await sleepOn(a.clock, delay, lease.signal);
    if (lease.signal.aborted) break;
  }
  return result;
}

/** The attempt as its run's attempt_details keep it. */
function recordOf(a: AttemptsInput, attempt: number, outcome: AttemptOutcome, t: { startedAt: number; durationMs: number; timeoutMs: number }): AttemptRecord {
  const record: AttemptRecord = { attempt, startedAt: new Date(t.startedAt).toISOString(), durationMs: t.durationMs, timeoutMs: t.timeoutMs, codeVersion: a.codeVersion };
  if (!outcome.ok) {
    record.error = a.log.clean(outcome.error.message, MAX_ERROR_CHARS);
    if (outcome.timedOut) record.timedOut = true;
    a.log.add(`attempt ${attempt} failed: ${outcome.error.message}`);
  }
  const ending = a.lease.keeper.ending;
  if (ending?.kind === "lease_lost") record.leaseLost = true;
  if (ending?.kind === "replaced") record.replaced = true;
  const stalls = a.lease.keeper.takeStalls();
  if (stalls.length) record.stalls = stalls;
  return record;
}
