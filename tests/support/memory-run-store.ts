import type { Clock, TimerHandle } from "@/lib/cron/clock";
import type {
  AttemptRecord,
  ClaimInput,
  ClaimResult,
  FinishInput,
  FinishResult,
  HeartbeatResult,
  LogLine,
  PromoteResult,
  RetryClaimResult,
  RunProgress,
  RunStore,
  SkipInput,
} from "@/lib/cron/run-store";
import type { OverlapPolicy, RunStatus, RunTrigger, SkipReason } from "@/lib/cron/vocabulary";

/**
 * A clock the test moves by hand. Timers run on elapsed time (like Node's, which a change of
 * the wall clock does not move); `now()` is the wall clock, which `step` can move on its own,
 * as an NTP correction would. `advance` fires the timers that fall due in order and lets the
 * promises they start settle after each, so no test sleeps.
 */
export class ManualClock implements Clock {
  /** Milliseconds since the clock was made: what timers are scheduled on. */
  elapsed = 0;
  private wall: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = "2026-11-24T10:00:00Z") {
    this.wall = Date.parse(start);
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.elapsed;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.set(id, { at: this.elapsed + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves the wall clock alone, by `ms` (negative: backwards); timers keep their place. */
  step(ms: number): void {
    this.wall += ms;
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.elapsed + ms;
    await settle();
    for (let next = this.nextDue(target); next; next = this.nextDue(target)) await this.fire(next);
    this.moveTo(target);
    await settle();
  }

  /** Fires timers (jumping to each) until `promise` settles; fails if it waits on nothing. */
  async run<T>(promise: Promise<T>, limitMs = 3_600_000): Promise<T> {
    let done = false;
    const watched = promise.finally(() => void (done = true));
    const limit = this.elapsed + limitMs;
    await settle();
    while (!done) {
      const next = this.nextDue(limit);
      if (!next) throw new Error(`the promise waits on nothing this clock will fire (${this.timers.size} timers pending)`);
      await this.fire(next);
    }
    return watched;
  }

  private nextDue(limit: number): [number, { at: number; fn: () => void }] | undefined {
    let best: [number, { at: number; fn: () => void }] | undefined;
    for (const entry of this.timers) if (entry[1].at <= limit && (!best || entry[1].at < best[1].at)) best = entry;
    return best;
  }

  private async fire([id, timer]: [number, { at: number; fn: () => void }]): Promise<void> {
    this.timers.delete(id);
    this.moveTo(timer.at);
    timer.fn();
    await settle();
  }

  private moveTo(at: number): void {
    this.wall += at - this.elapsed;
    this.elapsed = at;
  }
}

/** Lets every pending promise chain run (they never wait on a timer of their own here). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export interface MemoryRun {
  id: string;
  jobName: string;
  trigger: RunTrigger;
  status: RunStatus;
  skipReason: SkipReason | null;
  scheduledFor: Date | null;
  dedupeKey: string | null;
  fencingToken: number | null;
  holder: string;
  startedAt: number;
  completedAt: number | null;
  leaseExpiresAt: number | null;
  attempts: number;
  attemptDetails: AttemptRecord[];
  logLines: LogLine[];
  errorMessage: string | null;
  output: unknown;
  nextRetryAt: Date | null;
  cancelRequested: boolean;
  /** The run's input (ClaimInput.input); null: the default. */
  input: unknown;
  /** Who the row is attributed to (ClaimInput.actor, or the operator behind a snooze or skip-next). */
  actor: string | null;
}

interface Lease {
  runId: string;
  fencingToken: number;
  expiresAt: number;
}

/**
 * The RunStore port in memory, keeping the contract the Postgres functions keep: one row per
 * (job, dedupe key), so a slot runs once; one lease per job, taken only when free or expired
 * (the expired holder's run is then abandoned); a fencing token that grows with every holder,
 * and writes that need it; lease expiry by `now`, the store's own clock (the database's).
 * Failure streaks, dead letters and auto-pause are the database's and are left out.
 */
export class MemoryRunStore implements RunStore {
  readonly runs = new Map<string, MemoryRun>();
  readonly leases = new Map<string, Lease>();
  /** Job states the claim checks (the config table). */
  readonly states = new Map<
    string,
    { enabled?: boolean; paused?: boolean; deadLettered?: boolean; snoozedUntil?: Date | null; snoozedBy?: string | null; skipSlots?: Date[]; skipRequestedBy?: string | null }
  >();
  /** The store's time of each heartbeat, in the order they arrived. */
  readonly heartbeatsAt: number[] = [];
  /** The heartbeats that carried progress, in the order they arrived. */
  readonly progressWrites: Array<{ at: number; runId: string; progress: RunProgress }> = [];
  private token = 0;

  constructor(private readonly now: () => number) {}

  private takeLease(jobName: string, runId: string, fencingToken: number, leaseMs: number): boolean {
    const held = this.leases.get(jobName);
    if (held && held.expiresAt > this.now()) return false;
    const old = held && this.runs.get(held.runId);
    if (old?.status === "started") Object.assign(old, { status: "abandoned", completedAt: this.now(), leaseExpiresAt: null });
    this.leases.set(jobName, { runId, fencingToken, expiresAt: this.now() + leaseMs });
    return true;
  }

  private insert(c: ClaimInput, status: RunStatus, skipReason: SkipReason | null): MemoryRun {
    const row: MemoryRun = {
      id: c.runId ?? crypto.randomUUID(),
      jobName: c.jobName, trigger: c.trigger, status, skipReason, scheduledFor: c.scheduledFor,
      dedupeKey: status === "skipped" ? null : c.dedupeKey, fencingToken: null, holder: c.holder,
      startedAt: this.now(), completedAt: status === "skipped" ? this.now() : null, leaseExpiresAt: null,
      attempts: 0, attemptDetails: [], logLines: [], errorMessage: null, output: null, nextRetryAt: null, cancelRequested: false,
      input: status === "skipped" ? null : (c.input ?? null), actor: c.actor,
    };
    this.runs.set(row.id, row);
    return row;
  }

  private skipped(row: MemoryRun): ClaimResult & { outcome: "skipped" } {
    return { outcome: "skipped", runId: row.id, reason: row.skipReason!, blockingRunId: this.leases.get(row.jobName)?.runId ?? null, startedAt: new Date(row.startedAt) };
  }

  private async skipClaim(c: ClaimInput, reason: SkipReason) {
    return this.skipped(this.insert(c, "skipped", reason));
  }

  async recordSkip(s: SkipInput): Promise<ClaimResult & { outcome: "skipped" }> {
    const c: ClaimInput = { ...s, dedupeKey: null, overlap: "skip", enabledByDefault: true, checkState: false, leaseMs: 0, runId: s.runId && !this.runs.has(s.runId) ? s.runId : null };
    return this.skipped(this.insert(c, "skipped", s.reason));
  }

  async claim(c: ClaimInput): Promise<ClaimResult> {
    const own = c.runId ? this.runs.get(c.runId) : undefined;
    if (own && own.holder === c.holder) return this.ownClaim(own, c.overlap);
    const state = this.states.get(c.jobName);
    // As crondeck_claim_run (drizzle/0014_schedules.sql): a snooze or a skip-next is attributed to its operator.
    const at = c.scheduledFor?.getTime() ?? this.now();
    const snoozed = !!state?.snoozedUntil && at < state.snoozedUntil.getTime();
    const skipAsked = !!c.scheduledFor && (state?.skipSlots ?? []).some((s) => s.getTime() === c.scheduledFor!.getTime());
    const reason: SkipReason | null = !c.checkState
      ? null
      : state?.deadLettered ? "dead_lettered" : state?.paused ? "paused" : !(state?.enabled ?? c.enabledByDefault) ? "disabled" : snoozed ? "snoozed" : skipAsked ? "skip_requested" : null;
    if (reason) return this.skipClaim({ ...c, actor: reason === "snoozed" ? (state?.snoozedBy ?? c.actor) : reason === "skip_requested" ? (state?.skipRequestedBy ?? c.actor) : c.actor }, reason);
    if (c.dedupeKey && [...this.runs.values()].some((r) => r.jobName === c.jobName && r.dedupeKey === c.dedupeKey)) return this.skipClaim(c, "duplicate");
    const row = this.insert(c, "started", null);
    row.fencingToken = ++this.token;
    row.leaseExpiresAt = this.now() + c.leaseMs;
    const claimed = () => ({ outcome: "claimed" as const, runId: row.id, fencingToken: row.fencingToken!, startedAt: new Date(row.startedAt) });
    if (c.overlap === "allow" || this.takeLease(c.jobName, row.id, row.fencingToken, c.leaseMs)) return claimed();
    const blocking = this.leases.get(c.jobName)!.runId;
    const waiting = [...this.runs.values()].some((r) => r.jobName === c.jobName && r.status === "queued" && r.leaseExpiresAt! > this.now());
    if ((c.overlap === "bufferOne" || c.overlap === "replace") && !waiting) {
      Object.assign(row, { status: "queued", fencingToken: null, leaseExpiresAt: this.now() + (c.queueTtlMs ?? c.leaseMs) });
      const holder = this.runs.get(blocking);
      if (c.overlap === "replace" && holder?.status === "started") holder.cancelRequested = true;
      return { outcome: "queued", runId: row.id, blockingRunId: blocking };
    }
    Object.assign(row, { status: "skipped", skipReason: "already_running", completedAt: this.now(), fencingToken: null, leaseExpiresAt: null });
    return this.skipped(row);
  }

  private ownClaim(own: MemoryRun, overlap: OverlapPolicy): ClaimResult {
    if (own.status === "skipped") return this.skipped(own);
    if (own.status === "queued") return { outcome: "queued", runId: own.id, blockingRunId: this.leases.get(own.jobName)?.runId ?? null };
    const lease = this.leases.get(own.jobName);
    const live = overlap === "allow" ? own.leaseExpiresAt! > this.now() : lease?.runId === own.id && lease.expiresAt > this.now();
    // No longer the caller's claim: the id is taken, so the database would record a duplicate.
    if (own.status !== "started" || own.attempts > 0 || !live) return { outcome: "skipped", runId: own.id, reason: "duplicate", blockingRunId: lease?.runId ?? null, startedAt: new Date(this.now()) };
    return { outcome: "claimed", runId: own.id, fencingToken: own.fencingToken!, startedAt: new Date(own.startedAt) };
  }

  async promote(runId: string, leaseMs: number, holder: string): Promise<PromoteResult> {
    const row = this.runs.get(runId);
    if (!row || row.status !== "queued" || row.leaseExpiresAt! <= this.now()) {
      if (row?.status === "queued") Object.assign(row, { status: "skipped", skipReason: "already_running", completedAt: this.now(), leaseExpiresAt: null });
      return { outcome: "gone" };
    }
    const token = ++this.token;
    if (!this.takeLease(row.jobName, runId, token, leaseMs)) return { outcome: "waiting" };
    Object.assign(row, { status: "started", startedAt: this.now(), fencingToken: token, leaseExpiresAt: this.now() + leaseMs, holder });
    return { outcome: "claimed", fencingToken: token, startedAt: new Date(row.startedAt) };
  }

  async dropQueued(runId: string, holder: string): Promise<void> {
    const row = this.runs.get(runId);
    if (!row) return;
    const promotedHere = row.status === "started" && row.attempts === 0 && row.holder === holder;
    if (promotedHere && this.leases.get(row.jobName)?.runId === runId) this.leases.delete(row.jobName);
    if (row.status === "queued" || promotedHere) Object.assign(row, { status: "skipped", skipReason: "already_running", completedAt: this.now(), fencingToken: null, leaseExpiresAt: null });
  }

  async heartbeat(runId: string, fencingToken: number, leaseMs: number, progress?: RunProgress | null): Promise<HeartbeatResult> {
    this.heartbeatsAt.push(this.now());
    if (progress) this.progressWrites.push({ at: this.now(), runId, progress: structuredClone(progress) });
    const row = this.runs.get(runId);
    const lease = row && this.leases.get(row.jobName);
    if (row && lease?.runId === runId && lease.fencingToken === fencingToken) {
      lease.expiresAt = row.leaseExpiresAt = this.now() + leaseMs;
      if (row.status === "started" && row.fencingToken === fencingToken) this.writeProgress(row, progress);
      return { alive: true, cancelRequested: row.cancelRequested };
    }
    // Runs of overlap "allow" jobs hold no job lease: their own row is their lease.
    if (row && !lease && row.fencingToken === fencingToken && row.status === "started" && row.leaseExpiresAt! > this.now()) {
      row.leaseExpiresAt = this.now() + leaseMs;
      this.writeProgress(row, progress);
      return { alive: true, cancelRequested: row.cancelRequested };
    }
    return { alive: false, cancelRequested: false };
  }

  /** As crondeck_heartbeat writes it (drizzle/0013_live_progress.sql): the row's first logFrom lines, then the tail. */
  private writeProgress(row: MemoryRun, progress: RunProgress | null | undefined): void {
    if (!progress) return;
    row.attempts = Math.max(row.attempts, progress.attempts);
    if (progress.attemptDetails) row.attemptDetails = structuredClone(progress.attemptDetails);
    if (progress.logLines.length) row.logLines = [...row.logLines.slice(0, progress.logFrom), ...structuredClone(progress.logLines)];
  }

  async finish(f: FinishInput): Promise<FinishResult> {
    const row = this.runs.get(f.runId);
    const lease = row && this.leases.get(row.jobName);
    if (f.releaseLease && lease?.runId === f.runId && lease.fencingToken === f.fencingToken) this.leases.delete(row!.jobName);
    if (!row || row.fencingToken !== f.fencingToken || row.status !== "started") {
      const next = row && this.leases.get(row.jobName);
      return { finished: false, takenOverBy: next && next.runId !== f.runId ? next.runId : null, completedAt: null, durationMs: null, consecutiveFailures: null, previousFailures: null, deadLetterId: null, autoPaused: false };
    }
    const completedAt = f.status === "retry_scheduled" ? null : this.now();
    Object.assign(row, {
      // Copies, as the database keeps them: the caller's log may still grow (a handler that lingers after its timeout).
      status: f.status, completedAt, attempts: f.attempts, errorMessage: f.errorMessage, output: f.output, logLines: structuredClone(f.logLines),
      attemptDetails: structuredClone(f.attemptDetails), nextRetryAt: f.nextRetryAt ?? null, leaseExpiresAt: f.releaseLease ? null : row.leaseExpiresAt,
    });
    return { finished: true, takenOverBy: null, completedAt: completedAt === null ? null : new Date(completedAt), durationMs: this.now() - row.startedAt, consecutiveFailures: null, previousFailures: null, deadLetterId: null, autoPaused: false };
  }

  async claimRetry(runId: string, leaseMs: number, holder: string): Promise<RetryClaimResult> {
    const row = this.runs.get(runId);
    if (!row || row.status !== "retry_scheduled") return { outcome: "gone" };
    const token = ++this.token;
    if (!this.takeLease(row.jobName, runId, token, leaseMs)) return { outcome: "busy", blockingRunId: this.leases.get(row.jobName)!.runId };
    Object.assign(row, { status: "started", fencingToken: token, leaseExpiresAt: this.now() + leaseMs, holder, nextRetryAt: null });
    return { outcome: "claimed", fencingToken: token, startedAt: new Date(this.now()), scheduledFor: row.scheduledFor, attemptDetails: row.attemptDetails, logLines: row.logLines, input: row.input };
  }

  async releaseLease(runId: string, fencingToken: number): Promise<void> {
    const row = this.runs.get(runId);
    if (row?.fencingToken === fencingToken) row.leaseExpiresAt = null;
    const lease = row && this.leases.get(row.jobName);
    if (lease?.runId === runId && lease.fencingToken === fencingToken) this.leases.delete(row!.jobName);
  }
}
