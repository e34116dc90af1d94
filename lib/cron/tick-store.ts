/**
 * What the tick needs from storage, as a port: lib/db implements it on Postgres (and PGlite),
 * tests/support/memory-tick-store.ts in memory. Instants the tick decides by are passed in
 * (`now`, from the tick's clock); lease expiry is the store's own clock (the database's), so
 * two processes with skewed clocks agree on which leases expired.
 */

import type { UpstreamSource } from "./dependencies";

/** A run whose lease expired with no result recorded, as the sweep found it. */
export interface AbandonedRun {
  runId: string;
  jobName: string;
  holder: string;
  heldForSeconds: number;
  expiredSecondsAgo: number;
  /** The job's consecutive failures, this run included (the failure path counted it). */
  consecutiveFailures: number | null;
  /** This run's dead letter paused the job. */
  autoPaused: boolean;
}

/** A deferred retry whose job is gone from the registry, settled as failed. */
export interface OrphanedRetry {
  runId: string;
  jobName: string;
  scheduledFor: Date | null;
  error: string;
}

/** A deferred retry whose time has come. */
export interface DueRetry {
  runId: string;
  jobName: string;
  nextRetryAt: Date;
}

/** What the tick knows of a job's runtime state (a job without a config row has none). */
export interface TickJobConfig {
  jobName: string;
  /** null: as the job's definition says. */
  enabled: boolean | null;
  paused: boolean;
  deadLettered: boolean;
  /** Slots up to here were checked for missed runs; null: the tick has not seen the job yet. */
  missedCheckedUntil: Date | null;
}

/** One slot of one job. */
export interface JobSlot {
  jobName: string;
  slot: Date;
}

export interface TickStore {
  /**
   * Frees expired leases (by the store's clock) and marks their runs abandoned, also runs that
   * hold no job lease (overlap "allow") whose own lease expired; settles queued runs whose
   * waiter is gone. Each run is returned once: the next sweep does not find it again.
   */
  sweepExpiredLeases(): Promise<AbandonedRun[]>;
  /**
   * Due retries (next retry at or before `now`) of jobs not in `jobNames`, settled as failed
   * with the reason, once each, oldest first, at most `limit`.
   */
  settleOrphanedRetries(now: Date, jobNames: readonly string[], limit?: number): Promise<OrphanedRetry[]>;
  /**
   * Due retries of the jobs in `jobNames`: oldest first (by next retry time, then run id), at
   * most `perJob` of each job and `limit` in all.
   */
  dueRetries(now: Date, jobNames: readonly string[], caps: { perJob: number; limit: number }): Promise<DueRetry[]>;
  /** The config rows of the given jobs, by name (a job without a row is absent). */
  jobConfigs(jobNames: readonly string[]): Promise<Map<string, TickJobConfig>>;
  /** Moves the job's missed-slot bookmark forward to `until` (never back), creating its config row. */
  setMissedCheckedUntil(jobName: string, until: Date): Promise<void>;
  /**
   * Of `slots`, records those with no row at all as `missed` (once each, however often asked)
   * and returns the ones recorded now, oldest first. A slot the job's snooze or skip-next covers
   * (cron_job_config) is recorded as that skip instead (snoozed or skip_requested, the operator
   * as actor), once, and not returned: nobody expected it to run, so it is not missed.
   */
  recordMissedSlots(jobName: string, slots: readonly Date[], holder: string): Promise<Date[]>;
  /** Queues recorded missed slots for a catch-up run, due from `at`. */
  scheduleCatchUps(jobName: string, slots: readonly Date[], at: Date): Promise<void>;
  /**
   * The oldest queued catch-up due at `now`, if the job's lease is free. A catch-up leaves the
   * queue when its slot has been claimed (a run keyed by the slot exists), not when it is dispatched.
   */
  nextPendingCatchUp(jobName: string, now: Date): Promise<Date | null>;
  /** Takes a catch-up out of the queue without a run. */
  dropCatchUp(jobName: string, slot: Date): Promise<void>;
  /**
   * Of the given slots, those already claimed by a run (the execute route would answer
   * "duplicate"), or skipped because an upstream failed (dependsOn: a second try would too).
   */
  claimedSlots(slots: readonly JobSlot[]): Promise<JobSlot[]>;
  /**
   * The run log's rows for (job, slot) pairs, summed up: how the tick tells a dependent job's
   * slot that waits for its upstream from a missed one. Absent: dependent jobs' slots are
   * checked as any job's.
   */
  slotRows?: UpstreamSource["slotRows"];
}
