import type { RateMonitorKind } from "./policy";

/**
 * What the monitors' evaluation needs from storage, as a port (lib/db/queries/monitors.ts
 * implements it on Postgres and PGlite). Every question is asked for all jobs at once: one
 * round trip per question per tick, whatever the number of jobs.
 */

/** The job name system-wide monitors are kept under (dead-letter backlog, the tick's own). */
export const SYSTEM_MONITOR = "*";

/** An open monitor as the store keeps it (lib/db/monitors.ts OpenMonitor). */
export interface MonitorState {
  jobName: string;
  kind: string;
  incidentId: string;
  openedAt: Date;
  alertedAt: Date | null;
  value: number | null;
}

/** A run still `started` past its job's maxRuntime that has not had its long_running alert. */
export interface LongRun {
  runId: string;
  jobName: string;
  startedAt: Date;
  scheduledFor: Date | null;
  trigger: string;
}

/** Per job: the runs of each rate monitor's window and how many match (failed, timed out, lock miss). */
export type RateCounts = Record<RateMonitorKind, { runs: number; matching: number }>;

/** A lease that expired long ago and is still held. */
export interface StaleLease {
  jobName: string;
  runId: string;
  holder: string;
  expiredMs: number;
}

export interface MonitorStore {
  openMonitors(): Promise<MonitorState[]>;
  /** Records each condition as holding at `at`, in one round trip; `opened` when it was not open before (a new incident). Results in the order given. */
  holdMonitors(monitors: ReadonlyArray<{ jobName: string; kind: string; at: Date; value: number | null; detail: Record<string, unknown> | null }>): Promise<Array<MonitorState & { opened: boolean }>>;
  /** Closes the monitor; what was open, or null. */
  closeMonitor(m: { jobName: string; kind: string }): Promise<MonitorState | null>;
  /** The re-alert window of these incidents counts from `at`. */
  markAlerted(monitors: ReadonlyArray<{ jobName: string; kind: string; incidentId: string }>, at: Date): Promise<void>;

  /** The late-slot bookmarks of these jobs (null: not checked yet). */
  lateBookmarks(jobNames: readonly string[]): Promise<Map<string, Date | null>>;
  /** Moves the bookmarks forward (never back), creating config rows as needed. */
  setLateBookmarks(marks: ReadonlyArray<{ jobName: string; until: Date }>): Promise<void>;
  /** Of these slots, those for which a trigger arrived (any row for the slot other than a `missed` one). */
  triggeredSlots(slots: ReadonlyArray<{ jobName: string; slot: Date }>): Promise<Array<{ jobName: string; slot: Date }>>;

  /** Runs still `started` at `now` for longer than their job's maxRuntimeMs, without a long_running alert yet. */
  longRuns(jobs: ReadonlyArray<{ jobName: string; maxRuntimeMs: number }>, now: Date): Promise<LongRun[]>;
  /** Each job's counts over the trailing windows (ms before `now`) of its rate monitors; absent kinds count nothing. */
  rateCounts(jobs: ReadonlyArray<{ jobName: string; windowsMs: Partial<Record<RateMonitorKind, number>> }>, now: Date): Promise<Map<string, RateCounts>>;
  /** Pending dead-letter entries and the oldest one's creation time. */
  deadLetterBacklog(): Promise<{ pending: number; oldestPendingAt: Date | null }>;
  /** Leases that expired more than `olderThanMs` ago (by the store's clock) and are still held. */
  staleLeases(olderThanMs: number): Promise<StaleLease[]>;
}
