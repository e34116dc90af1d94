import { unrefTimer, type Clock, type TimerHandle } from "./clock";
import { coerceError } from "./errors";
import type { LiveProgress, ProgressSnapshot } from "./run-log";
import type { EventLoopStall, HeartbeatResult, RunProgress, RunStore } from "./run-store";

/** Heartbeat (and so "you were replaced") interval cap for overlap "replace" jobs. */
const REPLACE_POLL_MS = 1_000;
/**
 * While a run has progress its row does not show (log lines, an attempt started or ended), a
 * heartbeat carrying it goes out once this long has passed since the last one, even before
 * the heartbeat is due (every third of the lease: 10 s for the default 30 s lease, 100 s for a
 * 5-minute one). So the run page is at most about 2 s (plus the keeper's 1 s wake) behind, and
 * a crash loses at most that much of the log; a job that logs all the time costs one
 * heartbeat every 2 s instead of every 10 s, never a write per line (bench/live-progress.ts
 * measures a heartbeat with and without a tail).
 */
export const PROGRESS_FLUSH_MS = 2_000;
/** Stalls kept per attempt (all are counted in the warning log line's total). */
const MAX_STALLS_PER_ATTEMPT = 20;
/** Stalls written to the run's log (every one goes to the warnings). */
const MAX_STALLS_LOGGED = 5;

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

/** Why a run stopped early: its lease is gone, or a newer "replace" trigger asked it to stop. */
export type RunEnding = { kind: "lease_lost" | "replaced"; error: Error };

export interface LeaseKeeperOptions {
  leaseMs: number;
  replacePolling: boolean;
  /** Where the wake-up timers are set. */
  clock: Clock;
  /** The reading the lease is kept by (ms). */
  now: () => number;
  /** One heartbeat, with the progress to write in the same call (null: none). */
  beat: (progress: RunProgress | null) => Promise<HeartbeatResult>;
  /** The run's progress not yet on its row; each heartbeat carries it. */
  progress?: Pick<LiveProgress, "pending" | "take" | "written"> | null;
  onEnd: (ending: RunEnding) => void;
  /** An event-loop stall of `ms`; `count` is how many this run has had. */
  onStall: (ms: number, count: number) => void;
  onHeartbeatError: (error: Error, failures: number) => void;
}

/**
 * Keeps one run's lease for as long as the run holds it. A timer wakes every second or so
 * (more often for short leases) and, in this order: measures how late it fired (an event-loop
 * stall: synchronous code that held the loop, during which no heartbeat could go out), checks
 * the lease by the local clock (last confirmed heartbeat + lease - margin: past it, the run
 * stops), and sends the heartbeat when one is due. Heartbeats go out every third of the lease,
 * and at least every second for overlap "replace" jobs, so a replaced handler hears of it
 * within about a second. A heartbeat also carries the run's progress (new log lines, attempts),
 * and goes out early, {@link PROGRESS_FLUSH_MS} after the last one, while progress is pending:
 * still one round trip per heartbeat, none per line. The keeper only ever says "stop" (through
 * `onEnd`); it writes nothing but the heartbeat.
 */
export class LeaseKeeper {
  /** Local time at which the last confirmed heartbeat (or the claim) was sent. */
  private confirmedAt: number;
  private lastSentAt: number;
  private inFlight: Promise<boolean> | null = null;
  private running = false;
  private timer: TimerHandle | undefined;
  private nextWakeAt = 0;
  private ended: RunEnding | null = null;
  private failures = 0;
  /** The run's finish (which frees the lease) is under way: a heartbeat that finds no lease is no loss. */
  private finishing = false;
  private stalls: EventLoopStall[] = [];
  private stallCount = 0;
  readonly heartbeatEveryMs: number;
  private readonly wakeEveryMs: number;
  /** A timer this late means the event loop was blocked. */
  readonly stallMs: number;
  private readonly marginMs: number;

  constructor(private readonly o: LeaseKeeperOptions) {
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
    this.running = true;
    this.nextWakeAt = this.o.now() + this.wakeEveryMs;
    this.arm();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * The run is about to record its finish, which frees the lease: a heartbeat still in flight
   * (a progress flush sent as the last attempt ended) may now find the lease gone. That is the
   * finish, not another holder: it ends nothing and warns of nothing.
   */
  finish(): void {
    this.finishing = true;
  }

  /** The stalls seen since the last call (one attempt's), at most {@link MAX_STALLS_PER_ATTEMPT}. */
  takeStalls(): EventLoopStall[] {
    const stalls = this.stalls;
    this.stalls = [];
    return stalls;
  }

  private arm(): void {
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      this.check();
    }, this.wakeEveryMs);
    unrefTimer(this.timer);
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
    if (!this.running) return;
    this.inspect();
    if (this.running) this.arm();
  }

  private inspect(): void {
    const now = this.o.now();
    const late = now - this.nextWakeAt;
    this.nextWakeAt = now + this.wakeEveryMs;
    if (late >= this.stallMs) this.stalled(Math.round(late));
    if (this.lost || this.loseIfPastDeadline(now)) return;
    // After a failed heartbeat the next one goes out within 2 s, not a whole interval later:
    // a long lease (heartbeats every 100 s for 5 minutes) would otherwise get one more try.
    const due = this.failures > 0 ? Math.min(this.heartbeatEveryMs, 2_000) : this.heartbeatEveryMs;
    const sinceSent = now - this.lastSentAt;
    if (!this.inFlight && (sinceSent >= due || (sinceSent >= PROGRESS_FLUSH_MS && this.o.progress?.pending))) void this.beat();
  }

  private stalled(ms: number): void {
    this.stallCount++;
    if (this.stalls.length < MAX_STALLS_PER_ATTEMPT) this.stalls.push({ at: new Date(this.o.clock.now()).toISOString(), ms });
    this.o.onStall(ms, this.stallCount);
  }

  /** Sends a heartbeat (or joins the one in flight); true when the store confirmed the lease. */
  beat(): Promise<boolean> {
    if (this.lost) return Promise.resolve(false);
    this.inFlight ??= (async () => {
      const sentAt = this.o.now();
      this.lastSentAt = sentAt;
      try {
        const snapshot: ProgressSnapshot | null = this.o.progress?.take() ?? null;
        const result = await this.o.beat(snapshot?.progress ?? null);
        if (!result.alive) {
          if (this.finishing) return false;
          this.lose("another holder took this job over");
          return false;
        }
        this.failures = 0;
        if (snapshot) this.o.progress?.written(snapshot);
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
    return !this.lost && !this.loseIfPastDeadline(this.o.now());
  }

  /** Past the local deadline with no confirmed heartbeat, the lease is lost: true then. */
  private loseIfPastDeadline(now: number): boolean {
    if (now <= this.deadline) return false;
    this.lose(`no heartbeat confirmed for ${now - this.confirmedAt}ms (lease ${this.o.leaseMs}ms); another instance may take this job over`);
    return true;
  }
}

/** The Redis pre-lock that goes with a claim (a no-op when there is none). */
export interface PreLockHandle {
  extend(ttlMs: number): Promise<boolean>;
  release(): Promise<void>;
}

export interface HoldLeaseOptions {
  runs: RunStore;
  runId: string;
  fencingToken: number;
  leaseMs: number;
  preLock: PreLockHandle;
  replacePolling: boolean;
  clock: Clock;
  now: () => number;
  /** Adds a line to the run's log. */
  log: (message: string) => void;
  /** Warns about this run (the message is prefixed with the job and run already). */
  warn: (message: string) => void;
  /** Scrubs and cuts text for the log. */
  clean: (text: string, max: number) => string;
  /** The run's progress, written with the heartbeats. */
  progress?: LiveProgress | null;
}

/** The lease while a run holds it: its keeper, the signal that says "stop", and how it ends. */
export interface HeldLease {
  readonly keeper: LeaseKeeper;
  /** Aborts when the lease is lost or a newer "replace" trigger took over. */
  readonly signal: AbortSignal;
  /** A timed-out handler still runs: keep the lease (heartbeats go on) until it settles. */
  lingerUntil(running: Promise<unknown>): void;
  /** The lingering handler's result was recorded: free the lease once it settles. */
  freeOnSettle(): void;
}

/**
 * Holds a claimed run's lease while `body` runs: the keeper heartbeats from here on, and the
 * one `finally` below stops it and frees the Redis pre-lock on every path, at once or, for a
 * handler that still runs after its timeout, once that handler settles. The database lease is
 * freed by the finish itself, or here after a lingering handler whose result was recorded;
 * a run whose result was not written keeps its lease until it expires, because freeing it
 * would hide the still-started row from the sweep, which closes it.
 */
export async function holdLease<T>(o: HoldLeaseOptions, body: (lease: HeldLease) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const keeper = new LeaseKeeper({
    leaseMs: o.leaseMs,
    replacePolling: o.replacePolling,
    clock: o.clock,
    now: o.now,
    progress: o.progress ?? null,
    beat: async (progress) => {
      const [result] = await Promise.all([o.runs.heartbeat(o.runId, o.fencingToken, o.leaseMs, progress), o.preLock.extend(o.leaseMs)]);
      return result;
    },
    onEnd: (ending) => {
      o.log(ending.error.message);
      if (ending.kind === "lease_lost") o.warn(ending.error.message);
      abort.abort(ending.error);
    },
    onStall: (ms, count) => {
      const message = `the event loop was blocked for ${ms}ms (lease ${o.leaseMs}ms): handlers must yield (await) regularly; a block longer than the lease lets another instance take this job over`;
      if (count <= MAX_STALLS_LOGGED) o.log(message);
      o.warn(message);
    },
    onHeartbeatError: (error, failures) => {
      const message = `heartbeat failed (${failures} in a row): ${o.clean(error.message, 300)}`;
      if (failures === 1) o.log(message);
      o.warn(message);
    },
  });
  let lingering: Promise<unknown> | null = null;
  let free = false;
  keeper.start();
  try {
    return await body({
      keeper,
      signal: abort.signal,
      lingerUntil: (running) => void (lingering = running),
      freeOnSettle: () => void (free = true),
    });
  } finally {
    const release = async () => {
      keeper.stop();
      if (free) await o.runs.releaseLease(o.runId, o.fencingToken).catch(() => {});
      await o.preLock.release();
    };
    if (lingering) void (lingering as Promise<unknown>).then(release, release);
    else await release();
  }
}
