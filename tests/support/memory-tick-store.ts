import type { Clock } from "@/lib/cron/clock";
import type { JobDefinition } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import { runTick, type DispatchRequest, type Dispatcher, type TickDeps, type TickReport } from "@/lib/cron/tick";
import type { AbandonedRun, DueRetry, JobSlot, OrphanedRetry, TickJobConfig, TickStore } from "@/lib/cron/tick-store";
import type { RunStatus, RunTrigger, SkipReason } from "@/lib/cron/vocabulary";

/**
 * The tick's store in memory, kept to lib/db/tick-store.ts's contract: missed rows keyed
 * `missed:<slot>`, a slot with any row is not missed, a catch-up is a missed row with a next
 * retry time that leaves the queue once a row keyed `slot:<slot>` exists, the bookmark only
 * moves forward, leases expire by the store's clock. Besides the port it has what the execute
 * route and the engine would write (claims, deferred retries, leases), and a way to make a
 * call fail.
 */

export interface MemoryRun {
  id: string;
  jobName: string;
  status: RunStatus;
  trigger: RunTrigger;
  scheduledFor: Date | null;
  dedupeKey: string | null;
  nextRetryAt: Date | null;
  holder: string | null;
  startedAt: Date;
  leaseExpiresAt: Date | null;
  errorMessage: string | null;
  /** A skip's reason (recordMissedSlots of a snoozed or skip-requested slot) and who it is attributed to. */
  skipReason?: SkipReason | null;
  actor?: string | null;
}

interface Lease {
  runId: string;
  holder: string;
  acquiredAt: Date;
  expiresAt: Date;
}

export type TickStoreMethod = keyof TickStore;

export class MemoryTickStore implements TickStore {
  readonly runs: MemoryRun[] = [];
  readonly leases = new Map<string, Lease>();
  readonly configs = new Map<string, TickJobConfig>();
  /** The snooze and skip-next columns of cron_job_config, which recordMissedSlots reads (the tick never does). */
  readonly snoozes = new Map<string, { snoozedUntil?: Date | null; snoozedBy?: string | null; skipSlots?: Date[]; skipRequestedBy?: string | null }>();
  /** Calls by method, to check what the tick asked. */
  readonly calls: Array<{ method: TickStoreMethod; jobName?: string }> = [];
  private readonly failures: Array<{ method: TickStoreMethod; jobName?: string; error: Error }> = [];
  private readonly streaks = new Map<string, number>();
  private nextId = 0;

  /** `clock` is the database's: what the sweep and the lease checks compare with. */
  constructor(private readonly clock: Pick<Clock, "now">) {}

  // ---- What others write ---------------------------------------------------------------

  /** The execute route's claim of a slot: a row keyed by the slot, once; a second claim is a duplicate. */
  claimSlot(jobName: string, slot: Date, trigger: RunTrigger = "schedule", status: RunStatus = "completed"): "claimed" | "duplicate" {
    const dedupeKey = `slot:${slot.toISOString()}`;
    if (this.runs.some((r) => r.jobName === jobName && r.dedupeKey === dedupeKey)) return "duplicate";
    this.insert({ jobName, status, trigger, scheduledFor: slot, dedupeKey });
    return "claimed";
  }

  /** A run whose next attempt was deferred to `nextRetryAt`. */
  deferRetry(jobName: string, nextRetryAt: Date): string {
    return this.insert({ jobName, status: "retry_scheduled", trigger: "schedule", nextRetryAt }).id;
  }

  /** A started run holding the job's lease until `expiresAt` (or only its own, for overlap "allow"). */
  startRun(jobName: string, holder: string, expiresAt: Date, options: { jobLease?: boolean } = {}): string {
    const run = this.insert({ jobName, status: "started", trigger: "schedule", holder, leaseExpiresAt: expiresAt });
    if (options.jobLease ?? true) this.leases.set(jobName, { runId: run.id, holder, acquiredAt: run.startedAt, expiresAt });
    return run.id;
  }

  setConfig(jobName: string, config: Partial<Omit<TickJobConfig, "jobName">>): void {
    this.configs.set(jobName, { ...this.configOf(jobName), ...config });
  }

  /** The next call of `method` (for `jobName`, when given) throws `error`. */
  failNext(method: TickStoreMethod, error: Error, jobName?: string): void {
    this.failures.push({ method, jobName, error });
  }

  rowsOf(jobName: string, status?: RunStatus): MemoryRun[] {
    return this.runs.filter((r) => r.jobName === jobName && (!status || r.status === status));
  }

  // ---- The port ----------------------------------------------------------------------------

  async sweepExpiredLeases(): Promise<AbandonedRun[]> {
    this.enter("sweepExpiredLeases");
    const now = this.clock.now();
    for (const r of this.runs) if (r.status === "queued" && r.leaseExpiresAt && r.leaseExpiresAt.getTime() <= now) r.status = "skipped";
    const found: AbandonedRun[] = [];
    const leased = new Set([...this.leases.values()].map((l) => l.runId));
    for (const [jobName, lease] of [...this.leases]) {
      if (lease.expiresAt.getTime() > now) continue;
      this.leases.delete(jobName);
      const run = this.runs.find((r) => r.id === lease.runId && r.status === "started");
      if (run) found.push(this.abandon(run, lease.holder, lease.acquiredAt, lease.expiresAt));
    }
    for (const run of this.runs) {
      if (run.status !== "started" || leased.has(run.id) || !run.leaseExpiresAt || run.leaseExpiresAt.getTime() > now) continue;
      found.push(this.abandon(run, run.holder ?? "unknown", run.startedAt, run.leaseExpiresAt));
    }
    return found;
  }

  async settleOrphanedRetries(now: Date, jobNames: readonly string[], limit = 100): Promise<OrphanedRetry[]> {
    this.enter("settleOrphanedRetries");
    const orphans = this.due(now).filter((r) => !jobNames.includes(r.jobName)).slice(0, limit);
    return orphans.map((r) => {
      Object.assign(r, { status: "failed", nextRetryAt: null, errorMessage: `job ${r.jobName} is no longer in the registry: its deferred retry cannot run` });
      return { runId: r.id, jobName: r.jobName, scheduledFor: r.scheduledFor, error: r.errorMessage! };
    });
  }

  async dueRetries(now: Date, jobNames: readonly string[], caps: { perJob: number; limit: number }): Promise<DueRetry[]> {
    this.enter("dueRetries");
    const taken = new Map<string, number>();
    const out: DueRetry[] = [];
    for (const r of this.due(now)) {
      if (!jobNames.includes(r.jobName) || out.length >= caps.limit) continue;
      const n = (taken.get(r.jobName) ?? 0) + 1;
      taken.set(r.jobName, n);
      if (n <= caps.perJob) out.push({ runId: r.id, jobName: r.jobName, nextRetryAt: r.nextRetryAt! });
    }
    return out;
  }

  async jobConfigs(jobNames: readonly string[]): Promise<Map<string, TickJobConfig>> {
    this.enter("jobConfigs");
    return new Map([...this.configs].filter(([name]) => jobNames.includes(name)).map(([name, c]) => [name, { ...c }]));
  }

  async setMissedCheckedUntil(jobName: string, until: Date): Promise<void> {
    this.enter("setMissedCheckedUntil", jobName);
    const current = this.configOf(jobName).missedCheckedUntil;
    this.setConfig(jobName, { missedCheckedUntil: current && current > until ? current : until });
  }

  async recordMissedSlots(jobName: string, slots: readonly Date[], holder: string): Promise<Date[]> {
    this.enter("recordMissedSlots", jobName);
    const recorded: Date[] = [];
    for (const slot of slots) {
      if (this.runs.some((r) => r.jobName === jobName && r.scheduledFor?.getTime() === slot.getTime())) continue;
      const s = this.snoozes.get(jobName);
      const skip: SkipReason | null = s?.snoozedUntil && slot < s.snoozedUntil ? "snoozed" : (s?.skipSlots ?? []).some((x) => x.getTime() === slot.getTime()) ? "skip_requested" : null;
      if (skip) {
        this.insert({ jobName, status: "skipped", trigger: "tick", scheduledFor: slot, dedupeKey: `missed:${slot.toISOString()}`, holder, skipReason: skip, actor: skip === "snoozed" ? s?.snoozedBy : s?.skipRequestedBy });
        continue;
      }
      this.insert({ jobName, status: "missed", trigger: "tick", scheduledFor: slot, dedupeKey: `missed:${slot.toISOString()}`, holder, errorMessage: "no trigger arrived for this slot" });
      recorded.push(slot);
    }
    return recorded.sort((a, b) => a.getTime() - b.getTime());
  }

  async scheduleCatchUps(jobName: string, slots: readonly Date[], at: Date): Promise<void> {
    this.enter("scheduleCatchUps", jobName);
    const wanted = new Set(slots.map((s) => s.getTime()));
    for (const r of this.rowsOf(jobName, "missed")) if (wanted.has(r.scheduledFor!.getTime())) r.nextRetryAt = at;
  }

  async nextPendingCatchUp(jobName: string, now: Date): Promise<Date | null> {
    this.enter("nextPendingCatchUp", jobName);
    const missed = this.rowsOf(jobName, "missed");
    for (const m of missed) if (m.nextRetryAt && this.isClaimed(jobName, m.scheduledFor!)) m.nextRetryAt = null;
    const lease = this.leases.get(jobName);
    if (lease && lease.expiresAt.getTime() > this.clock.now()) return null;
    const due = missed.filter((m) => m.nextRetryAt && m.nextRetryAt <= now).sort((a, b) => a.scheduledFor!.getTime() - b.scheduledFor!.getTime());
    return due[0]?.scheduledFor ?? null;
  }

  async dropCatchUp(jobName: string, slot: Date): Promise<void> {
    this.enter("dropCatchUp", jobName);
    for (const r of this.rowsOf(jobName, "missed")) if (r.scheduledFor!.getTime() === slot.getTime()) r.nextRetryAt = null;
  }

  async claimedSlots(slots: readonly JobSlot[]): Promise<JobSlot[]> {
    this.enter("claimedSlots");
    return slots.filter((s) => this.isClaimed(s.jobName, s.slot));
  }

  // ---- Inside --------------------------------------------------------------------------

  private enter(method: TickStoreMethod, jobName?: string): void {
    this.calls.push({ method, jobName });
    const i = this.failures.findIndex((f) => f.method === method && (f.jobName === undefined || f.jobName === jobName));
    if (i >= 0) throw this.failures.splice(i, 1)[0].error;
  }

  private configOf(jobName: string): TickJobConfig {
    return this.configs.get(jobName) ?? { jobName, enabled: null, paused: false, deadLettered: false, missedCheckedUntil: null };
  }

  /** Due deferred retries, oldest first (next retry time, then id), as the Postgres store orders them. */
  private due(now: Date): MemoryRun[] {
    return this.runs
      .filter((r) => r.status === "retry_scheduled" && r.nextRetryAt && r.nextRetryAt <= now)
      .sort((a, b) => a.nextRetryAt!.getTime() - b.nextRetryAt!.getTime() || a.id.localeCompare(b.id));
  }

  private isClaimed(jobName: string, slot: Date): boolean {
    return this.runs.some((r) => r.jobName === jobName && r.dedupeKey === `slot:${slot.toISOString()}`);
  }

  private abandon(run: MemoryRun, holder: string, from: Date, expiredAt: Date): AbandonedRun {
    const now = this.clock.now();
    run.status = "abandoned";
    run.errorMessage = `abandoned: the lease expired with no result recorded. Holder ${holder}`;
    const streak = (this.streaks.get(run.jobName) ?? 0) + 1;
    this.streaks.set(run.jobName, streak);
    return {
      runId: run.id,
      jobName: run.jobName,
      holder,
      heldForSeconds: Math.round((expiredAt.getTime() - from.getTime()) / 1000),
      expiredSecondsAgo: Math.round((now - expiredAt.getTime()) / 1000),
      consecutiveFailures: streak,
      autoPaused: false,
    };
  }

  private insert(row: Partial<MemoryRun> & Pick<MemoryRun, "jobName" | "status" | "trigger">): MemoryRun {
    const run: MemoryRun = {
      id: `run-${String(++this.nextId).padStart(6, "0")}`,
      scheduledFor: null,
      dedupeKey: null,
      nextRetryAt: null,
      holder: null,
      startedAt: new Date(this.clock.now()),
      leaseExpiresAt: null,
      errorMessage: null,
      ...row,
    };
    this.runs.push(run);
    return run;
  }
}

/**
 * The execute route as the tick reaches it, writing to `store`: a 2xx answer claims the slot
 * (a second claim of a slot is a duplicate and runs nothing) or resumes the deferred retry;
 * any other answer (`answer` decides, default 200) changes nothing, as a call that failed
 * before its claim. Every request is pushed to `calls`; claims that ran to `ran`.
 */
export function memoryExecuteRoute(
  store: MemoryTickStore,
  log: { calls: DispatchRequest[]; ran: string[] } = { calls: [], ran: [] },
  answer: (request: DispatchRequest) => number | null = () => 200,
): Dispatcher {
  return async (request) => {
    log.calls.push(request);
    const status = answer(request);
    if (status === null || status >= 300) return { request, status };
    if (request.trigger === "retry") {
      const run = store.runs.find((r) => r.id === request.runId && r.status === "retry_scheduled");
      if (run) {
        run.status = "completed";
        run.nextRetryAt = null;
        log.ran.push(`${request.jobName} retry ${run.id}`);
      }
    } else if (store.claimSlot(request.jobName, request.slot, request.trigger) === "claimed") {
      log.ran.push(`${request.jobName} ${request.trigger} ${request.slot.toISOString()}`);
    }
    return { request, status };
  };
}

/**
 * A tick world for tests: one fake clock for the tick and the store (set by each `tick(at)`),
 * the execute route writing to the store (answering as `answer` says) unless `dispatch` replaces
 * it. Pro's grace by default.
 */
export function tickWorld(
  jobs: JobDefinition[],
  options: Partial<Omit<TickDeps, "store" | "clock" | "registry">> & { answer?: (request: DispatchRequest) => number | null } = {},
) {
  const clock = { t: 0, now: () => clock.t };
  const store = new MemoryTickStore(clock);
  const log = { calls: [] as DispatchRequest[], ran: [] as string[] };
  const registry = new JobRegistry(jobs);
  const tick = (instant: string | number): Promise<TickReport> => {
    clock.t = typeof instant === "number" ? instant : new Date(instant).getTime();
    const { answer, ...deps } = options;
    return runTick({ dispatch: memoryExecuteRoute(store, log, answer), graceMs: 60_000, holder: "tick-test", ...deps, store, clock, registry });
  };
  return { clock, store, log, tick };
}
