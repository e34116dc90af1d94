import { backoffDelayMs } from "./backoff";
import { FINISH_RESERVE_MS, sleep } from "./budget";
import { claimTrigger } from "./claim";
import type { JobContext, JobDefinition, RunTrigger } from "./define-job";
import { coerceError, JobTimeoutError, NonRetriableError, RetryAfterError } from "./errors";
import type { LeaseStore } from "./lease-store";
import { redact, truncate } from "./redact";
import { isUnavailable } from "./store-errors";
import type { AttemptRecord, EventLoopStall, FinishResult, HeartbeatResult, LogLine, RunStore } from "./run-store";
import type { FinishStatus, NotRecordedReason, SkipReason } from "./vocabulary";

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
  /** Lease length for a job; default the job's own `leaseMs` (defineJob's `lease`). */
  leaseMs?: (job: JobDefinition) => number;
  /** The local clock the lease is kept by (ms since the epoch). Default Date.now; tests pass a fake one. */
  now?: () => number;
  /** Where warnings go (event-loop stalls, failed heartbeats, a result that could not be written). Default console.warn. */
  warn?: (message: string) => void;
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
  /**
   * retry_scheduled: an attempt failed and the next one is due after this invocation's budget.
   * replaced: a newer trigger of an overlap "replace" job stopped it (not a failure).
   */
  status: FinishStatus;
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
  /** False when this run's result was not written (see notRecorded). */
  recorded: boolean;
  /**
   * Why the result was not written: lease_lost (another holder took the job over; the fenced
   * finish changed nothing), store_unavailable (the finish failed after its retries: the handler
   * ran, the run stays started until its lease expires and the sweep closes it). Null when recorded.
   */
  notRecorded: NotRecordedReason | null;
  /** With lease_lost: the run that took the job over, when known. */
  takenOverBy: string | null;
}

export type TriggerOutcome =
  | { kind: "skipped"; jobName: string; reason: SkipReason; runId: string; scheduledFor: Date | null; trigger: RunTrigger; startedAt: Date }
  | { kind: "ran"; run: RunReport };

const MAX_LOG_LINES = 200;
const MAX_LOG_CHARS = 2_000;
const MAX_ERROR_CHARS = 2_000;
const MAX_STACK_CHARS = 8_000;
const MAX_OUTPUT_BYTES = 16_384;
/** Stalls kept per attempt (all are counted in the warning log line's total). */
const MAX_STALLS_PER_ATTEMPT = 20;
/** Heartbeat (and so "you were replaced") interval cap for overlap "replace" jobs. */
const REPLACE_POLL_MS = 1_000;
/** A failed finish is retried for at most this long (and never past the invocation's budget). */
const FINISH_RETRY_MAX_MS = 20_000;

/**
 * The lease's safety margin: a holder whose last confirmed heartbeat is older than
 * lease - margin stops (its signal aborts, it starts no new attempt), so it has stopped
 * before the database lets another instance take the job. A quarter of the lease, at most
 * 10 s: for the 30 s minimum default lease, 7.5 s (heartbeats every 10 s, so about two
 * heartbeats in a row must fail).
 */
export function leaseMarginMs(leaseMs: number): number {
  return Math.min(10_000, leaseMs / 4);
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

/** Why a run stopped early: its lease is gone, or a newer "replace" trigger asked it to stop. */
type RunEnding = { kind: "lease_lost" | "replaced"; error: Error };

/**
 * Keeps one run's lease for as long as the run holds it. A timer wakes every second or so
 * (more often for short leases) and, in this order: measures how late it fired (an event-loop
 * stall: synchronous code that held the loop, during which no heartbeat could go out), checks
 * the lease by the local clock (last confirmed heartbeat + lease - margin: past it, the run
 * stops), and sends the heartbeat when one is due. Heartbeats go out every third of the lease,
 * and at least every second for overlap "replace" jobs, so a replaced handler hears of it
 * within about a second. The keeper only ever says "stop" (through `onEnd`); it writes nothing.
 */
class LeaseKeeper {
  /** Local time at which the last confirmed heartbeat (or the claim) was sent. */
  private confirmedAt: number;
  private lastSentAt: number;
  private inFlight: Promise<boolean> | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private nextWakeAt = 0;
  private ended: RunEnding | null = null;
  private failures = 0;
  readonly heartbeatEveryMs: number;
  private readonly wakeEveryMs: number;
  /** A timer this late means the event loop was blocked. */
  readonly stallMs: number;
  private readonly marginMs: number;

  constructor(
    private readonly o: {
      leaseMs: number;
      replacePolling: boolean;
      now: () => number;
      beat: () => Promise<HeartbeatResult>;
      onEnd: (ending: RunEnding) => void;
      onStall: (ms: number) => void;
      onHeartbeatError: (error: Error, failures: number) => void;
    },
  ) {
    this.confirmedAt = this.lastSentAt = o.now();
    this.heartbeatEveryMs = Math.max(20, o.replacePolling ? Math.min(REPLACE_POLL_MS, o.leaseMs / 3) : o.leaseMs / 3);
    this.wakeEveryMs = Math.max(10, Math.min(1_000, this.heartbeatEveryMs / 2));
    // One second, or a heartbeat interval for leases so short that a smaller stall matters.
    this.stallMs = Math.max(50, Math.min(1_000, this.heartbeatEveryMs));
    this.marginMs = leaseMarginMs(o.leaseMs);
  }

  get ending(): RunEnding | null {
    return this.ended;
  }

  private get lost(): boolean {
    return this.ended?.kind === "lease_lost";
  }

  /** The local deadline: past it, this holder cannot prove it still holds the lease. */
  private get deadline(): number {
    return this.confirmedAt + this.o.leaseMs - this.marginMs;
  }

  start(): void {
    this.nextWakeAt = this.o.now() + this.wakeEveryMs;
    this.timer = setInterval(() => this.check(), this.wakeEveryMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private end(ending: RunEnding, stopBeating: boolean): void {
    if (stopBeating) this.stop();
    if (this.ended?.kind === "lease_lost" || (this.ended && ending.kind === "replaced")) return;
    this.ended = ending;
    this.o.onEnd(ending);
  }

  private lose(message: string): void {
    this.end({ kind: "lease_lost", error: new Error(`lease lost: ${message}`) }, true);
  }

  /**
   * What the timer does on each wake; also called when an attempt ends, because a handler that
   * blocked the loop and then returned settles before the late timer gets to run.
   */
  check(): void {
    if (!this.timer) return;
    const now = this.o.now();
    const late = now - this.nextWakeAt;
    this.nextWakeAt = now + this.wakeEveryMs;
    if (late >= this.stallMs) this.o.onStall(Math.round(late));
    if (this.lost) return;
    if (now > this.deadline) {
      this.lose(`no heartbeat confirmed for ${now - this.confirmedAt}ms (lease ${this.o.leaseMs}ms); another instance may take this job over`);
      return;
    }
    // After a failed heartbeat the next one goes out within 2 s, not a whole interval later:
    // a long lease (heartbeats every 100 s for 5 minutes) would otherwise get one more try.
    const due = this.failures > 0 ? Math.min(this.heartbeatEveryMs, 2_000) : this.heartbeatEveryMs;
    if (!this.inFlight && now - this.lastSentAt >= due) void this.beat();
  }

  /** Sends a heartbeat (or joins the one in flight); true when the store confirmed the lease. */
  beat(): Promise<boolean> {
    if (this.lost) return Promise.resolve(false);
    this.inFlight ??= (async () => {
      const sentAt = this.o.now();
      this.lastSentAt = sentAt;
      try {
        const result = await this.o.beat();
        if (!result.alive) {
          this.lose("another holder took this job over");
          return false;
        }
        this.failures = 0;
        this.confirmedAt = Math.max(this.confirmedAt, sentAt);
        if (result.cancelRequested) {
          // Keep beating: a replaced handler that ignores its signal keeps the lease until it settles.
          this.end({ kind: "replaced", error: new Error("replaced by a newer run (overlap: replace)") }, false);
        }
        return true;
      } catch (error) {
        this.o.onHeartbeatError(coerceError(error), ++this.failures);
        return false;
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }

  /**
   * Before an attempt: true when the lease is live. Confident while a heartbeat was confirmed
   * within the last interval; in doubt (a heartbeat is overdue, say after a backoff sleep or a
   * frozen process), it heartbeats synchronously first. Past the local deadline with no
   * confirmation, the lease is lost.
   */
  async confirm(): Promise<boolean> {
    if (this.lost) return false;
    if (this.o.now() - this.confirmedAt <= this.heartbeatEveryMs) return true;
    const confirmed = await this.beat();
    if (confirmed) return true;
    if (this.lost) return false;
    if (this.o.now() > this.deadline) {
      this.lose(`no heartbeat confirmed for ${this.o.now() - this.confirmedAt}ms (lease ${this.o.leaseMs}ms)`);
      return false;
    }
    return true;
  }
}

/**
 * Runs one trigger of one job: claim, run with timeout and retries, finish. Never runs the
 * handler without a claim. Expected outcomes are values; only store failures before the claim
 * throw (nothing ran then). From the claim on, it always returns a report and always calls
 * onRunFinished, whatever the store does.
 */
export async function runTrigger(deps: EngineDeps, input: TriggerInput): Promise<TriggerOutcome> {
  const t0 = Date.now();
  const { job } = input;
  const leaseMs = (deps.leaseMs ?? ((j: JobDefinition) => j.leaseMs))(job);
  const secrets = deps.secrets ?? [];
  const now = deps.now ?? Date.now;
  const warn = deps.warn ?? ((message: string) => console.warn(`[crondeck] ${message}`));
  const budgetEnd = t0 + input.budgetMs;
  const remainingMs = () => budgetEnd - Date.now() - FINISH_RESERVE_MS;
  const clean = (text: string, max: number) => truncate(redact(text, secrets), max);

  // 1-3. Pre-check, claim, queue wait (lib/cron/claim.ts).
  const phase = await claimTrigger(deps, input, leaseMs, t0);
  if (phase.kind === "skipped") return phase.outcome;
  const { runId, fencingToken, startedAt, scheduledFor, priorAttempts, priorLogLines, preLock } = phase.claim;

  try {
    deps.onRunStarted?.({ id: runId, jobName: job.name, trigger: input.trigger, scheduledFor }, job);
  } catch {
    // observers never stop a run
  }

  const logLines: LogLine[] = [...priorLogLines];
  let droppedLines = 0;
  const attemptDetails: AttemptRecord[] = [...priorAttempts];
  const log = (message: string, data?: Record<string, unknown>) => {
    if (logLines.length >= MAX_LOG_LINES) return void droppedLines++;
    const line: LogLine = { at: new Date().toISOString(), message: clean(String(message), MAX_LOG_CHARS) };
    if (data !== undefined) line.data = capOutput(data) as Record<string, unknown>;
    logLines.push(line);
  };

  // The lease, from here to the end: `keeper` keeps it, `lingering` is a timed-out handler that
  // still runs (it keeps the lease until it settles), and the `finally` below is the one place
  // that stops the heartbeats and frees the lease, on every path.
  const runAbort = new AbortController();
  let stalls: EventLoopStall[] = [];
  let stallCount = 0;
  const keeper = new LeaseKeeper({
    leaseMs,
    replacePolling: job.overlap === "replace",
    now,
    beat: async () => {
      const [result] = await Promise.all([deps.runs.heartbeat(runId, fencingToken, leaseMs), preLock.extend(leaseMs)]);
      return result;
    },
    onEnd: (ending) => {
      log(ending.error.message);
      if (ending.kind === "lease_lost") warn(`job "${job.name}" run ${runId}: ${ending.error.message}`);
      runAbort.abort(ending.error);
    },
    onStall: (ms) => {
      stallCount++;
      if (stalls.length < MAX_STALLS_PER_ATTEMPT) stalls.push({ at: new Date().toISOString(), ms });
      const message = `the event loop was blocked for ${ms}ms (lease ${leaseMs}ms): handlers must yield (await) regularly; a block longer than the lease lets another instance take this job over`;
      if (stallCount <= 5) log(message);
      warn(`job "${job.name}" run ${runId}: ${message}`);
    },
    onHeartbeatError: (error, failures) => {
      const message = `heartbeat failed (${failures} in a row): ${clean(error.message, 300)}`;
      if (failures === 1) log(message);
      warn(`job "${job.name}" run ${runId}: ${message}`);
    },
  });
  keeper.start();
  let lingering: Promise<unknown> | null = null;
  /** A timed-out handler still runs and its result is recorded: free the lease once it settles. */
  let releaseAfterSettle = false;

  try {
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
        heartbeat: async () => void (await keeper.beat()),
        fencingToken,
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

    // 4. Attempts with backoff. Each starts only under a live lease, with the job's whole
    // timeout; a retry that has not that much time left in this invocation is deferred.
    let attempt = priorAttempts.length;
    let last: AttemptOutcome | undefined;
    let retryDeferred = false;
    let nextRetryAt: Date | null = null;
    for (;;) {
      if (!(await keeper.confirm())) break;
      const remaining = remainingMs();
      // In-request retries were checked before their backoff sleep; this is a resumed retry.
      if (attempt > 0 && attempt === priorAttempts.length && remaining < job.timeoutMs) {
        // A resumed retry in an invocation too short for a whole attempt: due again at once.
        retryDeferred = true;
        nextRetryAt = new Date();
        log(`attempt ${attempt + 1} needs its ${job.timeoutMs}ms timeout and this invocation has ${Math.max(0, remaining)}ms left: deferred`);
        break;
      }
      attempt++;
      const timeoutMs = Math.max(1, Math.min(job.timeoutMs, remaining));
      // Only a first attempt can start with less than the job's timeout (an invocation shorter
      // than it, or a queued run that waited): its attempt record keeps the timeout it had.
      stalls = [];
      const attemptStart = Date.now();
      last = await runAttempt(attempt, timeoutMs);
      keeper.check();
      const record: AttemptRecord = { attempt, startedAt: new Date(attemptStart).toISOString(), durationMs: Date.now() - attemptStart, timeoutMs, codeVersion: deps.codeVersion };
      const ending = keeper.ending;
      if (!last.ok) {
        record.error = clean(last.error.message, MAX_ERROR_CHARS);
        if (last.timedOut) record.timedOut = true;
        log(`attempt ${attempt} failed: ${last.error.message}`);
      }
      if (ending?.kind === "lease_lost") record.leaseLost = true;
      if (ending?.kind === "replaced") record.replaced = true;
      if (stalls.length) record.stalls = stalls;
      attemptDetails.push(record);
      if (last.ok || !last.settled || ending) break;
      if (last.error instanceof NonRetriableError || attempt > job.retries) break;
      const delay = last.error instanceof RetryAfterError ? last.error.retryAfterMs : backoffDelayMs(job.backoff, attempt);
      if (delay + job.timeoutMs > remainingMs()) {
        retryDeferred = true;
        nextRetryAt = new Date(Date.now() + delay);
        log(`retry ${attempt + 1} is due in ${delay}ms and needs its ${job.timeoutMs}ms timeout, beyond this invocation's time budget: deferred`);
        break;
      }
      if (delay > 0) await sleep(delay, runAbort.signal);
      if (runAbort.signal.aborted) break;
    }

    // 5. The outcome. A run stopped by its lease or by a replace trigger says so.
    const ending = keeper.ending;
    const status: RunReport["status"] =
      ending?.kind === "replaced" && !last?.ok
        ? "replaced"
        : last?.ok
          ? "completed"
          : ending?.kind === "lease_lost"
            ? "failed"
            : retryDeferred
              ? "retry_scheduled"
              : last?.timedOut
                ? "timed_out"
                : "failed";
    const error = last?.ok ? null : ending && (status === "replaced" || ending.kind === "lease_lost") ? ending.error : last ? last.error : null;
    const stillRunning = last !== undefined && !last.ok && !last.settled;
    if (stillRunning) lingering = (last as AttemptOutcome & { ok: false }).running;
    const errorMessage = error ? clean(error.message, MAX_ERROR_CHARS) : null;
    const errorStack = error?.stack ? clean(error.stack, MAX_STACK_CHARS) : null;
    const output = last?.ok ? capOutput(last.value) : null;

    // 6. The fenced finish, retried with backoff while the keeper keeps the lease alive.
    const finishInput = {
      runId,
      fencingToken,
      status,
      attempts: attempt,
      errorMessage,
      errorStack,
      output,
      logLines: droppedLines ? [...logLines, { at: new Date().toISOString(), message: `${droppedLines} more log lines dropped` }] : logLines,
      attemptDetails,
      releaseLease: !stillRunning,
      nextRetryAt,
      deadLetter: status === "failed" || status === "timed_out",
      pauseAfter: job.deadLetter.pauseAfter,
    };
    const finishDeadline = Math.min(budgetEnd, Date.now() + FINISH_RETRY_MAX_MS);
    let finish: FinishResult | null = null;
    let finishError: Error | null = null;
    for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
      try {
        finish = await deps.runs.finish(finishInput);
        break;
      } catch (thrown) {
        finishError = coerceError(thrown);
        // Only a connection-level failure is worth asking again; anything else would fail alike.
        if (!isUnavailable(thrown) || Date.now() + delay >= finishDeadline) break;
        warn(`job "${job.name}" run ${runId}: writing the result failed, retrying in ${delay}ms: ${clean(finishError.message, 300)}`);
        await sleep(delay);
      }
    }
    releaseAfterSettle = stillRunning && finish?.finished === true;
    if (!finish) {
      warn(`job "${job.name}" run ${runId}: the handler ran (${status}) but its result could not be written: ${clean(finishError?.message ?? "unknown error", 300)}; the run stays started until its lease expires and the sweep closes it`);
    }

    const report: RunReport = {
      id: runId,
      jobName: job.name,
      status,
      trigger: input.trigger,
      scheduledFor,
      startedAt,
      completedAt: finish?.completedAt ?? new Date(),
      durationMs: finish?.durationMs ?? Date.now() - startedAt.getTime(),
      attempts: attempt,
      attemptDetails,
      error: errorMessage,
      errorStack,
      output,
      retryDeferred,
      nextRetryAt,
      consecutiveFailures: finish?.consecutiveFailures ?? null,
      previousFailures: finish?.previousFailures ?? null,
      deadLetterId: finish?.deadLetterId ?? null,
      autoPaused: finish?.autoPaused ?? false,
      recorded: finish?.finished ?? false,
      notRecorded: !finish ? "store_unavailable" : finish.finished ? null : "lease_lost",
      takenOverBy: finish?.takenOverBy ?? null,
    };
    if (deps.onRunFinished) await deps.onRunFinished(report, job).catch(() => {});
    return { kind: "ran", run: report };
  } finally {
    const release = async () => {
      keeper.stop();
      // A run whose result was not written keeps its lease until it expires: freeing it would
      // hide the still-started row from the sweep, which closes it.
      if (releaseAfterSettle) await deps.runs.releaseLease(runId, fencingToken).catch(() => {});
      await preLock.release();
    };
    if (lingering) void lingering.then(release, release);
    else await release();
  }
}
