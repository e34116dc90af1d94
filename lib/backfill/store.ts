import type { BackfillOverlap, BackfillStatus, RunStatus, RunTrigger, SkipReason } from "../cron/vocabulary";

/**
 * The backfill's storage, as a port: the runner (runner.ts) reads and moves a backfill only
 * through it, so it runs on Postgres (lib/db/commands/backfills.ts) and, in tests, in memory on
 * a fake clock. Every runner write is fenced by the runner's holder: a runner whose lease was
 * taken over writes nothing.
 */

/** A backfill as stored (cron_backfills). */
export interface Backfill {
  id: string;
  jobName: string;
  from: Date;
  to: Date;
  overlap: BackfillOverlap;
  /** The exact slots it runs, oldest first (the plan's, fixed at creation). */
  slots: Date[];
  /** The input each slot's run gets (as checked by the job's schema); null: the job's default. */
  input: unknown;
  /** Index in `slots` of the next slot to run; `slots.length` when done. */
  nextIndex: number;
  /** Slots that ran (a run claimed), of which completed and failed; skipped: slots that did not run. */
  ran: number;
  completed: number;
  failed: number;
  skipped: number;
  status: BackfillStatus;
  error: string | null;
  lastRunId: string | null;
  actor: string;
  cancelRequestedAt: Date | null;
  cancelledBy: string | null;
  runnerHolder: string | null;
  runnerExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** A run row found for a slot (the plan's "already has a run"). */
export interface SlotRun {
  runId: string;
  status: RunStatus;
  trigger: RunTrigger;
  skipReason: SkipReason | null;
  /** Keyed `slot:<iso>`: the slot is taken (a claim for it would answer duplicate). */
  taken: boolean;
}

/** What one slot came to, added to the backfill's counts when the cursor moves past it. */
export interface SlotStep {
  ran: number;
  completed: number;
  failed: number;
  skipped: number;
  runId: string | null;
}

export interface BackfillStore {
  get(id: string): Promise<Backfill | null>;
  /** Per slot (by ISO string), its run: the keyed one when there is one, else the newest row for it. */
  slotRuns(jobName: string, slots: readonly Date[]): Promise<Map<string, SlotRun>>;
  /** The run row with this dedupe key, if any. */
  runByKey(jobName: string, dedupeKey: string): Promise<{ runId: string; status: RunStatus } | null>;
  /** Takes the runner lease of a running backfill when nobody holds it or its holder's lease expired; null otherwise. */
  acquire(id: string, holder: string, leaseMs: number): Promise<Backfill | null>;
  /** Extends the holder's lease; false when another runner holds it now. */
  heartbeat(id: string, holder: string, leaseMs: number): Promise<boolean>;
  /** Moves the cursor past slot `index` with its step; null when the holder lost the lease or the cursor is elsewhere. */
  advance(id: string, holder: string, index: number, step: SlotStep, leaseMs: number): Promise<Backfill | null>;
  /** Ends the backfill (completed, cancelled, failed) and frees the lease; null when the holder lost it. */
  finish(id: string, holder: string, status: Exclude<BackfillStatus, "running">, error?: string | null): Promise<Backfill | null>;
  /** Frees the lease so that the next runner (the tick) goes on at once. */
  release(id: string, holder: string): Promise<void>;
  /** Running backfills nobody holds (or whose holder's lease expired), oldest first. */
  resumable(limit: number): Promise<string[]>;
}
