import { backoffDelayMs } from "./backoff";
import { FINISH_RESERVE_MS, sleep } from "./budget";
import { claimTrigger } from "./claim";
import type { JobContext, JobDefinition, RunTrigger } from "./define-job";
import { coerceError, JobTimeoutError, NonRetriableError, RetryAfterError } from "./errors";
import type { LeaseStore } from "./lease-store";
import { redact, truncate } from "./redact";
import type { AttemptRecord, LogLine, RunStore, SkipReason } from "./run-store";

/** What the engine needs from the outside world. */
export interface EngineDeps {
  runs: RunStore;
  /** A fast pre-check (Upstash Redis) in front of the run store for overlap "skip" jobs. */
  preLock?: LeaseStore | null;
  /** host:pid, or deployment/region on Vercel. */
  holder: string;
  /** The git commit or deployment that runs the handler. */
  codeVersion: string | null;
  /** Secret values scrubbed from errors and logs. */
  secrets?: readonly string[];
  /** Lease length for a job; default {@link leaseMsFor}. */
  leaseMs?: (job: JobDefinition) => number;
  /** How long to wait after a timeout for the handler to settle before answering. Default 1s. */
  settleGraceMs?: number;
  /** Aborts when this process is shutting down: queued runs stop waiting (and drop their rows). */
  stopping?: AbortSignal;
  /** Polling interval while a queued run waits for the lease. Default 250ms. */
  queuePollMs?: number;
  /** Called once a run holds its claim, before the handler starts (Sentry check-in). Must not throw. */
  onRunStarted?: (run: { id: string; jobName: string; trigger: RunTrigger; scheduledFor: Date | null }, job: JobDefinition) => void;
  /** Called after every claimed run is recorded (alerts, Sentry). Its errors are swallowed. */
  onRunFinished?: (report: RunReport, job: JobDefinition) => Promise<void>;
}

export interface TriggerInput {
  job: JobDefinition;
  trigger: RunTrigger;
  /** The slot; null for a manual run. */
  scheduledFor: Date | null;
  /** A manual caller's Idempotency-Key: a second call with the same key is a duplicate. */
  idempotencyKey?: string | null;
  actor?: string | null;
  replayOf?: string | null;
  /** The id the run's row gets (so a caller can answer with it before the run happens). */
  runId?: string | null;
  /** Resume this run, whose retry was deferred (status retry_scheduled), instead of claiming a new one. */
  retryOf?: string | null;
  /** Milliseconds this invocation may still use (the route's maxDuration minus a margin). */
  budgetMs: number;
}

export interface RunReport {
  id: string;
  jobName: string;
  /** retry_scheduled: an attempt failed and the next one is due after this invocation's budget. */
  status: "completed" | "failed" | "timed_out" | "retry_scheduled";
  trigger: RunTrigger;
  scheduledFor: Date | null;
  startedAt: Date;
  completedAt: Date;
  durationMs: number;
  attempts: number;
  attemptDetails: AttemptRecord[];
  error: string | null;
  errorStack: string | null;
  output: unknown;
  /** A retry was due but its delay did not fit in this invocation. */
  retryDeferred: boolean;
  nextRetryAt: Date | null;
  consecutiveFailures: number | null;
  /** Consecutive failures before this run (a success after some is a recovery). */
  previousFailures: number | null;
  /** Set when this run failed for good and went to the dead-letter queue. */
  deadLetterId: string | null;
  /** This run's dead letter paused the job. */
  autoPaused: boolean;
  /** False when another holder had taken the job over: this run's result was not written. */
  recorded: boolean;
}

export type TriggerOutcome =
  | { kind: "skipped"; jobName: string; reason: SkipReason; runId: string; scheduledFor: Date | null; trigger: RunTrigger; startedAt: Date }
  | { kind: "ran"; run: RunReport };

const MAX_LOG_LINES = 200;
const MAX_LOG_CHARS = 2_000;
const MAX_ERROR_CHARS = 2_000;
const MAX_STACK_CHARS = 8_000;
const MAX_OUTPUT_BYTES = 16_384;

/**
 * The lease outlives a crash by at most this long; heartbeats every third of it keep a
 * live run's lease. 15-60 s: short enough that a dead holder frees the job soon, long
 * enough that one slow heartbeat does not lose it.
 */
export function leaseMsFor(job: JobDefinition): number {
  return Math.min(60_000, Math.max(15_000, job.timeoutMs + 5_000));
}

function capOutput(value: unknown): unknown {
  if (value === undefined) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return { unserializable: truncate(String(value), 500) };
  }
  if (text === undefined) return null;
  if (Buffer.byteLength(text) <= MAX_OUTPUT_BYTES) return JSON.parse(text);
  return { truncated: true, bytes: Buffer.byteLength(text), preview: text.slice(0, 2_000) };
}

type AttemptOutcome =
  | { ok: true; value: unknown; settled: true }
  | { ok: false; error: Error; timedOut: boolean; settled: boolean; running: Promise<unknown> };

/**
 * Runs one trigger of one job: claim, run with timeout and retries, finish. Never runs the
 * handler without a claim. Expected outcomes are values; only store failures throw.
 */
export async function runTrigger(deps: EngineDeps, input: TriggerInput): Promise<TriggerOutcome> {
  const t0 = Date.now();
  const { job } = input;
  const leaseMs = (deps.leaseMs ?? leaseMsFor)(job);
  const secrets = deps.secrets ?? [];

  // 1-3. Pre-check, claim, queue wait (lib/cron/claim.ts).
  const phase = await claimTrigger(deps, input, leaseMs, t0);
  if (phase.kind === "skipped") return phase.outcome;
  const { runId, fencingToken, startedAt, scheduledFor, priorAttempts, priorLogLines, preLock } = phase.claim;
  const releasePreLock = () => preLock.release();

  try {
    deps.onRunStarted?.({ id: runId, jobName: job.name, trigger: input.trigger, scheduledFor }, job);
  } catch {
    // observers never stop a run
  }

  // 3. Heartbeats keep the lease while the handler runs; they also carry "you were replaced".
  const runAbort = new AbortController();
  let heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  const beat = async () => {
    const [result] = await Promise.all([
      deps.runs.heartbeat(runId, fencingToken, leaseMs),
      preLock.extend(leaseMs),
    ]);
    if (!result.alive) runAbort.abort(new Error("lease lost: another holder took this job over"));
    else if (result.cancelRequested) runAbort.abort(new Error("replaced by a newer run (overlap: replace)"));
  };
  const startHeartbeats = () => {
    heartbeatTimer = setInterval(() => void beat().catch(() => {}), Math.max(50, Math.floor(leaseMs / 3)));
    heartbeatTimer.unref?.();
  };
  const stopHeartbeats = () => clearInterval(heartbeatTimer);
  startHeartbeats();

  const logLines: LogLine[] = [...priorLogLines];
  let droppedLines = 0;
  const attemptDetails: AttemptRecord[] = [...priorAttempts];
  const log = (message: string, data?: Record<string, unknown>) => {
    if (logLines.length >= MAX_LOG_LINES) return void droppedLines++;
    const line: LogLine = { at: new Date().toISOString(), message: truncate(redact(String(message), secrets), MAX_LOG_CHARS) };
    if (data !== undefined) line.data = capOutput(data) as Record<string, unknown>;
    logLines.push(line);
  };

  const runAttempt = async (attempt: number, timeoutMs: number): Promise<AttemptOutcome> => {
    const controller = new AbortController();
    const onRunAbort = () => controller.abort(runAbort.signal.reason);
    if (runAbort.signal.aborted) onRunAbort();
    runAbort.signal.addEventListener("abort", onRunAbort, { once: true });
    const ctx: JobContext = {
      signal: controller.signal,
      attempt,
      scheduledFor,
      runId,
      trigger: input.trigger,
      log,
      heartbeat: () => beat(),
    };
    const running = (async () => job.handler(ctx))();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const aborted = new Promise<"aborted">((resolve) => controller.signal.addEventListener("abort", () => resolve("aborted"), { once: true }));
    try {
      const winner = await Promise.race([running.then((value) => ({ value }), (error) => ({ error })), timeout, aborted]);
      if (winner === "timeout" || winner === "aborted") {
        const error = winner === "timeout" ? new JobTimeoutError(timeoutMs) : coerceError(controller.signal.reason);
        if (winner === "timeout") controller.abort(error);
        // Give a handler that honours its signal a moment to stop before answering.
        const settled = await Promise.race([running.then(() => true, () => true), sleep(deps.settleGraceMs ?? 1_000).then(() => false)]);
        return { ok: false, error, timedOut: winner === "timeout", settled, running };
      }
      if ("error" in winner) return { ok: false, error: coerceError(winner.error), timedOut: false, settled: true, running };
      return { ok: true, value: winner.value, settled: true };
    } finally {
      clearTimeout(timer);
      runAbort.signal.removeEventListener("abort", onRunAbort);
    }
  };

  // 4. Attempts with backoff; a delay that does not fit in this invocation is deferred.
  let attempt = priorAttempts.length;
  let last: AttemptOutcome | undefined;
  let retryDeferred = false;
  let nextRetryAt: Date | null = null;
  for (;;) {
    attempt++;
    const remaining = input.budgetMs - (Date.now() - t0) - FINISH_RESERVE_MS;
    const timeoutMs = Math.max(1, Math.min(job.timeoutMs, remaining));
    const attemptStart = Date.now();
    last = await runAttempt(attempt, timeoutMs);
    const record: AttemptRecord = { attempt, startedAt: new Date(attemptStart).toISOString(), durationMs: Date.now() - attemptStart };
    if (!last.ok) {
      record.error = truncate(redact(last.error.message, secrets), MAX_ERROR_CHARS);
      if (last.timedOut) record.timedOut = true;
      log(`attempt ${attempt} failed: ${last.error.message}`);
    }
    attemptDetails.push(record);
    if (last.ok || !last.settled || runAbort.signal.aborted) break;
    if (last.error instanceof NonRetriableError || attempt > job.retries) break;
    const delay = last.error instanceof RetryAfterError ? last.error.retryAfterMs : backoffDelayMs(job.backoff, attempt);
    const left = input.budgetMs - (Date.now() - t0) - FINISH_RESERVE_MS;
    if (delay + FINISH_RESERVE_MS >= left) {
      retryDeferred = true;
      nextRetryAt = new Date(Date.now() + delay);
      log(`retry ${attempt + 1} is due in ${delay}ms, beyond this invocation's time budget: deferred`);
      break;
    }
    if (delay > 0) await sleep(delay, runAbort.signal);
    if (runAbort.signal.aborted) break;
  }

  // 5. The fenced finish. A handler still running after its timeout keeps the lease until it settles.
  const status: RunReport["status"] = last.ok ? "completed" : retryDeferred ? "retry_scheduled" : last.timedOut ? "timed_out" : "failed";
  const error = last.ok ? null : last.error;
  const releaseLease = last.ok || last.settled;
  if (releaseLease) stopHeartbeats();
  let finish;
  try {
    finish = await deps.runs.finish({
      runId,
      fencingToken,
      status,
      attempts: attempt,
      errorMessage: error ? truncate(redact(error.message, secrets), MAX_ERROR_CHARS) : null,
      errorStack: error?.stack ? truncate(redact(error.stack, secrets), MAX_STACK_CHARS) : null,
      output: last.ok ? capOutput(last.value) : null,
      logLines: droppedLines ? [...logLines, { at: new Date().toISOString(), message: `${droppedLines} more log lines dropped` }] : logLines,
      attemptDetails,
      releaseLease,
      nextRetryAt,
      deadLetter: status === "failed" || status === "timed_out",
      pauseAfter: job.deadLetter.pauseAfter,
    });
  } finally {
    if (releaseLease) await releasePreLock();
  }
  if (!last.ok && !releaseLease) {
    const running = last.running;
    void running
      .catch(() => {})
      .finally(async () => {
        stopHeartbeats();
        await deps.runs.releaseLease(runId, fencingToken).catch(() => {});
        await releasePreLock();
      });
  }

  const report: RunReport = {
    id: runId,
    jobName: job.name,
    status,
    trigger: input.trigger,
    scheduledFor,
    startedAt,
    completedAt: finish.completedAt ?? new Date(),
    durationMs: finish.durationMs ?? Date.now() - startedAt.getTime(),
    attempts: attempt,
    attemptDetails,
    error: error ? truncate(redact(error.message, secrets), MAX_ERROR_CHARS) : null,
    errorStack: error?.stack ? truncate(redact(error.stack, secrets), MAX_STACK_CHARS) : null,
    output: last.ok ? capOutput(last.value) : null,
    retryDeferred,
    nextRetryAt,
    consecutiveFailures: finish.consecutiveFailures,
    previousFailures: finish.previousFailures,
    deadLetterId: finish.deadLetterId,
    autoPaused: finish.autoPaused,
    recorded: finish.finished,
  };
  if (deps.onRunFinished) await deps.onRunFinished(report, job).catch(() => {});
  return { kind: "ran", run: report };
}
