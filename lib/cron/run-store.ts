import type { FinishStatus, OverlapPolicy, RunTrigger, SkipReason } from "./vocabulary";


export interface ClaimInput {
  jobName: string;
  trigger: RunTrigger;
  scheduledFor: Date | null;
  /** `slot:<iso>` or `key:<Idempotency-Key>`; null when repeats are allowed. */
  dedupeKey: string | null;
  overlap: OverlapPolicy;
  /** The job's `enabled` from code, used until the database says otherwise. */
  enabledByDefault: boolean;
  /** Scheduled triggers respect disabled/paused/dead-lettered; an operator's manual run does not. */
  checkState: boolean;
  leaseMs: number;
  holder: string;
  codeVersion: string | null;
  actor: string | null;
  replayOf?: string | null;
  /**
   * The id of the run's row, chosen by the caller (claimTrigger makes one when the trigger has
   * none). Asking again with the same id after a lost reply returns the caller's own claim.
   */
  runId?: string | null;
  /**
   * How long a queued (bufferOne/replace) row keeps its place: the waiter's budget plus the
   * time its drop may take. Past it the row counts as dropped. Default: leaseMs.
   */
  queueTtlMs?: number | null;
  /** The run's input as validated by the job's input schema (JSON); null or absent: the job's default input. */
  input?: unknown;
}

export type ClaimResult =
  | { outcome: "claimed"; runId: string; fencingToken: number; startedAt: Date }
  | { outcome: "queued"; runId: string; blockingRunId: string | null }
  | { outcome: "skipped"; runId: string; reason: SkipReason; blockingRunId: string | null; startedAt: Date };

export type PromoteResult =
  | { outcome: "claimed"; fencingToken: number; startedAt: Date }
  | { outcome: "waiting" }
  | { outcome: "gone" };

/** A late timer in the run's lease keeper: the event loop was blocked this long. */
export interface EventLoopStall {
  at: string;
  /** How late the timer fired: about how long synchronous code held the event loop. */
  ms: number;
}

export interface AttemptRecord {
  attempt: number;
  startedAt: string;
  durationMs: number;
  /** The timeout this attempt ran with (the job's, or less for a first attempt short of budget). */
  timeoutMs?: number;
  /** The git commit or deployment that ran this attempt. */
  codeVersion?: string | null;
  error?: string;
  timedOut?: boolean;
  /** The attempt ended because this holder could no longer prove its lease. */
  leaseLost?: boolean;
  /** The run that took the job over, when known. */
  takenOverBy?: string | null;
  /** The attempt was stopped by a newer trigger of an overlap "replace" job. */
  replaced?: boolean;
  /** Event-loop stalls seen while this attempt ran (a heartbeat timer that fired late). */
  stalls?: EventLoopStall[];
}

export interface LogLine {
  at: string;
  message: string;
  data?: Record<string, unknown>;
}

export interface FinishInput {
  runId: string;
  fencingToken: number;
  status: FinishStatus;
  attempts: number;
  errorMessage: string | null;
  errorStack: string | null;
  output: unknown;
  logLines: LogLine[];
  attemptDetails: AttemptRecord[];
  /** False while a timed-out handler is still running: the lease stays until it settles. */
  releaseLease: boolean;
  nextRetryAt?: Date | null;
  /** The run failed for good (retries exhausted or not retriable): make a dead-letter entry. */
  deadLetter?: boolean;
  /** Pause the job after this many dead-lettered runs in a row. */
  pauseAfter?: number;
}

export interface FinishResult {
  /**
   * False when the run was no longer ours (fenced out): the outcome was not written; only this
   * holder's new attempts were appended to its row's attempt_details, marked leaseLost.
   */
  finished: boolean;
  /** When fenced out: the run that held the job's lease next, if any. */
  takenOverBy: string | null;
  completedAt: Date | null;
  durationMs: number | null;
  consecutiveFailures: number | null;
  /** The count before this run: a success after failures is a recovery. */
  previousFailures: number | null;
  deadLetterId: string | null;
  /** This run's dead letter paused the job. */
  autoPaused: boolean;
}

export type RetryClaimResult =
  | {
      outcome: "claimed";
      fencingToken: number;
      startedAt: Date;
      scheduledFor: Date | null;
      /** The attempts made so far: the resumed run counts on from their number. */
      attemptDetails: AttemptRecord[];
      logLines: LogLine[];
      /** The run's stored input: the resumed attempts run with it. */
      input?: unknown;
    }
  | { outcome: "busy"; blockingRunId: string | null }
  | { outcome: "gone" };

/**
 * A running run's progress, written with a heartbeat (the same round trip) so its row shows the
 * attempts and log lines before the finish. The log goes as a tail after the lines the row has.
 */
export interface RunProgress {
  /** Attempts started so far, the running one included. */
  attempts: number;
  /** The finished attempts' records; null when unchanged since the last write. */
  attemptDetails: AttemptRecord[] | null;
  /** How many of the run's lines the row has already (those before `logLines`). */
  logFrom: number;
  /** The lines after them; empty when there are none. */
  logLines: LogLine[];
}

export interface HeartbeatResult {
  alive: boolean;
  cancelRequested: boolean;
}

/** Where runs are claimed and recorded. lib/db/run-store.ts implements it on Postgres. */
/** A skip decided before any claim (lib/cron/run-job.ts gates: outside_window, upstream_failed). */
export interface SkipInput {
  jobName: string;
  trigger: RunTrigger;
  scheduledFor: Date | null;
  reason: SkipReason;
  holder: string;
  codeVersion: string | null;
  actor: string | null;
  runId?: string | null;
}

export interface RunStore {
  claim(input: ClaimInput): Promise<ClaimResult>;
  /**
   * Records a skip decided before the claim (no lease, no fencing token, no dedupe key: the slot
   * can still run later, say after a replay of its upstream). One statement.
   */
  recordSkip(input: SkipInput): Promise<ClaimResult & { outcome: "skipped" }>;
  promote(runId: string, leaseMs: number, holder: string): Promise<PromoteResult>;
  /**
   * Gives up on a queued run that never ran its handler: skipped. Also undoes this holder's
   * promotion of it whose reply was lost (started, no handler ran), freeing that lease.
   */
  dropQueued(runId: string, holder: string): Promise<void>;
  /**
   * Extends a live lease (fenced by the token) and, with `progress`, writes it to the run's row
   * in the same call: only while the row is this holder's and still started, and idempotently
   * (the same tail twice leaves each line once).
   */
  heartbeat(runId: string, fencingToken: number, leaseMs: number, progress?: RunProgress | null): Promise<HeartbeatResult>;
  finish(input: FinishInput): Promise<FinishResult>;
  /** Resumes a run whose retry was deferred, under the job's lease, recording the resuming code version. */
  claimRetry(runId: string, leaseMs: number, holder: string, codeVersion: string | null): Promise<RetryClaimResult>;
  releaseLease(runId: string, fencingToken: number): Promise<void>;
}
