import { runAttempts, type AttemptsResult } from "./attempts";
import { FINISH_RESERVE_MS } from "./budget";
import { claimTrigger, type HeldClaim } from "./claim";
import { steadyNowOf, systemClock, type Clock } from "./clock";
import type { JobDefinition } from "./define-job";
import { holdLease } from "./lease-keeper";
import type { LeaseStore } from "./lease-store";
import { finishInputOf, outcomeOf, recordFinish, type RunOutcome } from "./record";
import { LiveProgress, RunLog } from "./run-log";
import type { AttemptRecord, FinishResult, RunStore } from "./run-store";
import { inBounds } from "./schedule";
import { isSlotTrigger, type FinishStatus, type NotRecordedReason, type RunTrigger, type SkipReason, type WaitReason } from "./vocabulary";

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
  /** Time: every reading of "now", every timer and every sleep of the engine. Default the system clock. */
  clock?: Clock;
  /** The reading the lease is kept by (ms since the epoch). Default `clock.now`; tests move it alone to freeze the holder. */
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
  /**
   * The job as it runs now: the code's definition with its run-time overrides applied
   * (lib/overrides). Called once per trigger, before anything else. Default: the job as given.
   */
  resolveJob?: (job: JobDefinition) => Promise<JobDefinition>;
  /**
   * Decides before the claim whether a trigger may run (job dependencies decide here): null to
   * go on, a skip to record (a reason of SKIP_REASONS), or a wait (nothing is recorded; the
   * caller answers that the slot waits, and the tick asks again). Its errors are the trigger's
   * (nothing ran).
   */
  gate?: (input: TriggerInput) => Promise<GateDecision | null>;
}

/** What a gate decided for a trigger (see EngineDeps.gate). */
export type GateDecision = { kind: "skip"; reason: SkipReason; message?: string } | { kind: "wait"; reason: WaitReason; message: string };

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
  /**
   * The run's input, already validated against the job's input schema by the caller (run-now,
   * backfill, replay); stored with the run. Null or absent: the job's default input.
   */
  input?: unknown;
  /**
   * A backfill that runs every slot again (lib/backfill, overlap all): the run is keyed by the
   * backfill and the slot instead of the slot alone, so it runs beside the slot's own run, once.
   */
  backfillId?: string | null;
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
  | { kind: "ran"; run: RunReport }
  /** Not yet: a gate held the trigger back (an upstream job of this slot is still running); nothing was recorded. */
  | { kind: "waiting"; reason: WaitReason; jobName: string; scheduledFor: Date | null; trigger: RunTrigger; message: string };

/**
 * Runs one trigger of one job: claim (lib/cron/claim.ts), hold the lease (lease-keeper.ts), run
 * the attempts (attempts.ts), record the result (record.ts). Never runs the handler without a
 * claim. Expected outcomes are values; only store failures before the claim throw (nothing ran
 * then). From the claim on, it always returns a report and always calls onRunFinished, whatever
 * the store does.
 */
export async function runTrigger(deps: EngineDeps, given: TriggerInput): Promise<TriggerOutcome> {
  const clock = deps.clock ?? systemClock;
  const now = steadyNowOf(clock);
  const t0 = now();
  const input = deps.resolveJob ? { ...given, job: await deps.resolveJob(given.job) } : given;
  const { job } = input;
  const held = await gateOf(deps, input, clock);
  if (held) return held;
  const leaseMs = (deps.leaseMs ?? ((j: JobDefinition) => j.leaseMs))(job);
  const budgetEnd = t0 + input.budgetMs;

  const phase = await claimTrigger(deps, input, { leaseMs, t0, now, clock });
  if (phase.kind === "skipped") return phase.outcome;
  const claim = phase.claim;
  const { runId, fencingToken } = claim;
  try {
    deps.onRunStarted?.({ id: runId, jobName: job.name, trigger: input.trigger, scheduledFor: claim.scheduledFor }, job);
  } catch {
    // observers never stop a run
  }
  const log = new RunLog(claim.priorLogLines, deps.secrets ?? [], clock);
  const warnOut = deps.warn ?? ((message: string) => console.warn(`[crondeck] ${message}`));
  const warn = (message: string) => warnOut(`job "${job.name}" run ${runId}: ${message}`);
  const keptBy = deps.now ? steadyNowOf(clock, deps.now) : now;

  // The row shows the run's log lines and attempts as they happen, written with the heartbeats.
  const progress = new LiveProgress(log, { attempts: claim.priorAttempts });
  const leaseOptions = {
    runs: deps.runs, runId, fencingToken, leaseMs, preLock: claim.preLock, replacePolling: job.overlap === "replace", clock, now: keptBy,
    log: log.add, warn, clean: log.clean, progress,
  };
  return holdLease(leaseOptions, async (held) => {
    const result = await runAttempts({
      job,
      trigger: input.trigger,
      runId,
      fencingToken,
      scheduledFor: claim.scheduledFor,
      input: claim.input,
      codeVersion: deps.codeVersion,
      priorAttempts: claim.priorAttempts,
      lease: held,
      log,
      progress,
      clock,
      now,
      remainingMs: () => budgetEnd - now() - FINISH_RESERVE_MS,
      settleGraceMs: deps.settleGraceMs ?? 1_000,
    });
    const outcome = outcomeOf(result, held.keeper.ending, log);
    if (outcome.running) held.lingerUntil(outcome.running);
    const finishInput = finishInputOf({ runId, fencingToken, pauseAfter: job.deadLetter.pauseAfter }, result, outcome, log);
    // The finish writes the whole log and every attempt: no progress write after it is needed
    // (one in flight now changes nothing once the row is no longer started).
    progress.close();
    // A handler that settled: the finish frees the lease, so a heartbeat in flight may find it gone.
    if (!outcome.running) held.keeper.finish();
    const finish = await recordFinish({ runs: deps.runs, clock, now, budgetEnd, warn, clean: log.clean }, finishInput);
    if (outcome.running && finish?.finished) held.freeOnSettle();
    const report = reportOf(job, input.trigger, claim, result, outcome, finish, clock);
    if (deps.onRunFinished) await deps.onRunFinished(report, job).catch(() => {});
    return { kind: "ran", run: report };
  });
}

/** The report of a claimed run, as its callers and observers see it. */
function reportOf(job: JobDefinition, trigger: RunTrigger, claim: HeldClaim, result: AttemptsResult, outcome: RunOutcome, finish: FinishResult | null, clock: Clock): RunReport {
  return {
    id: claim.runId,
    jobName: job.name,
    status: outcome.status,
    trigger,
    scheduledFor: claim.scheduledFor,
    startedAt: claim.startedAt,
    completedAt: finish?.completedAt ?? new Date(clock.now()),
    durationMs: finish?.durationMs ?? clock.now() - claim.startedAt.getTime(),
    attempts: result.attempts,
    attemptDetails: result.attemptDetails,
    error: outcome.errorMessage,
    errorStack: outcome.errorStack,
    output: outcome.output,
    retryDeferred: result.retryDeferred,
    nextRetryAt: result.nextRetryAt,
    consecutiveFailures: finish?.consecutiveFailures ?? null,
    previousFailures: finish?.previousFailures ?? null,
    deadLetterId: finish?.deadLetterId ?? null,
    autoPaused: finish?.autoPaused ?? false,
    recorded: finish?.finished ?? false,
    notRecorded: !finish ? "store_unavailable" : finish.finished ? null : "lease_lost",
    takenOverBy: finish?.takenOverBy ?? null,
  };
}

/**
 * The checks before the claim: a slot outside the job's startAt/endAt is skipped
 * (outside_window), then the deps' gate decides (dependencies). Null: go on to the claim.
 */
async function gateOf(deps: EngineDeps, input: TriggerInput, clock: Clock): Promise<TriggerOutcome | null> {
  const { job } = input;
  const slot = input.scheduledFor;
  const decision: GateDecision | null =
    slot && isSlotTrigger(input.trigger) && !input.retryOf && !inBounds(job.schedule, slot) ? { kind: "skip", reason: "outside_window" } : ((await deps.gate?.(input)) ?? null);
  if (!decision) return null;
  if (decision.kind === "wait") return { kind: "waiting", reason: decision.reason, jobName: job.name, scheduledFor: slot, trigger: input.trigger, message: decision.message };
  const skip = await deps.runs.recordSkip({
    jobName: job.name, trigger: input.trigger, scheduledFor: slot, reason: decision.reason, holder: deps.holder, codeVersion: deps.codeVersion, actor: input.actor ?? null, runId: input.runId ?? null,
  });
  return { kind: "skipped", jobName: job.name, reason: skip.reason, runId: skip.runId, scheduledFor: slot, trigger: input.trigger, startedAt: skip.startedAt ?? new Date(clock.now()) };
}
