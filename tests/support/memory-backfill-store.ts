import type { Backfill, BackfillStore, SlotRun, SlotStep } from "@/lib/backfill/store";
import type { BackfillOverlap, BackfillStatus } from "@/lib/cron/vocabulary";
import type { MemoryRunStore } from "./memory-run-store";

/**
 * The backfill store in memory, keeping the Postgres store's contract (lib/db/commands/backfills.ts):
 * one runner lease per backfill, taken only when free or expired by `now` (the database's clock),
 * every runner write fenced by its holder, the cursor moved only from where the writer saw it.
 * Slot runs are read from a MemoryRunStore's rows.
 */
export class MemoryBackfillStore implements BackfillStore {
  readonly rows = new Map<string, Backfill>();
  /** Every runner write, in order: `acquire <holder>`, `advance <index>`, ... */
  readonly writes: string[] = [];

  constructor(
    private readonly runs: MemoryRunStore,
    private readonly now: () => number,
  ) {}

  create(input: { jobName: string; slots: Date[]; overlap?: BackfillOverlap; actor?: string; input?: unknown }): Backfill {
    const at = new Date(this.now());
    const row: Backfill = {
      id: crypto.randomUUID(), jobName: input.jobName, from: input.slots[0], to: input.slots[input.slots.length - 1], overlap: input.overlap ?? "skip",
      slots: input.slots, input: input.input ?? null, nextIndex: 0, ran: 0, completed: 0, failed: 0, skipped: 0, status: "running", error: null, lastRunId: null,
      actor: input.actor ?? "test", cancelRequestedAt: null, cancelledBy: null, runnerHolder: null, runnerExpiresAt: null, createdAt: at, updatedAt: at, finishedAt: null,
    };
    this.rows.set(row.id, row);
    return { ...row };
  }

  requestCancel(id: string, by = "test"): void {
    const row = this.rows.get(id)!;
    row.cancelRequestedAt = new Date(this.now());
    row.cancelledBy = by;
  }

  private live(row: Backfill): boolean {
    return row.runnerHolder !== null && row.runnerExpiresAt !== null && row.runnerExpiresAt.getTime() > this.now();
  }

  async get(id: string) {
    const row = this.rows.get(id);
    return row ? { ...row } : null;
  }

  async slotRuns(jobName: string, slots: readonly Date[]): Promise<Map<string, SlotRun>> {
    const found = new Map<string, SlotRun>();
    const wanted = new Set(slots.map((s) => s.toISOString()));
    const rows = [...this.runs.runs.values()].filter((r) => r.jobName === jobName && r.scheduledFor && wanted.has(r.scheduledFor.toISOString()));
    for (const r of rows.sort((a, b) => b.startedAt - a.startedAt)) {
      const slot = r.scheduledFor!.toISOString();
      const taken = r.dedupeKey?.startsWith("slot:") ?? false;
      const prior = found.get(slot);
      if (!prior || (taken && !prior.taken)) found.set(slot, { runId: r.id, status: r.status, trigger: r.trigger, skipReason: r.skipReason, taken });
    }
    return found;
  }

  async runByKey(jobName: string, dedupeKey: string) {
    const r = [...this.runs.runs.values()].find((x) => x.jobName === jobName && x.dedupeKey === dedupeKey);
    return r ? { runId: r.id, status: r.status } : null;
  }

  async acquire(id: string, holder: string, leaseMs: number) {
    const row = this.rows.get(id);
    if (!row || row.status !== "running" || this.live(row)) return null;
    this.writes.push(`acquire ${holder}`);
    Object.assign(row, { runnerHolder: holder, runnerExpiresAt: new Date(this.now() + leaseMs) });
    return { ...row };
  }

  async heartbeat(id: string, holder: string, leaseMs: number) {
    const row = this.rows.get(id);
    if (!row || row.status !== "running" || row.runnerHolder !== holder) return false;
    row.runnerExpiresAt = new Date(this.now() + leaseMs);
    return true;
  }

  async advance(id: string, holder: string, index: number, step: SlotStep, leaseMs: number) {
    const row = this.rows.get(id);
    if (!row || row.status !== "running" || row.runnerHolder !== holder || row.nextIndex !== index) return null;
    this.writes.push(`advance ${index}`);
    Object.assign(row, {
      nextIndex: index + 1, ran: row.ran + step.ran, completed: row.completed + step.completed, failed: row.failed + step.failed, skipped: row.skipped + step.skipped,
      lastRunId: step.runId ?? row.lastRunId, runnerExpiresAt: new Date(this.now() + leaseMs), updatedAt: new Date(this.now()),
    });
    return { ...row };
  }

  async finish(id: string, holder: string, status: Exclude<BackfillStatus, "running">, error: string | null = null) {
    const row = this.rows.get(id);
    if (!row || row.status !== "running" || row.runnerHolder !== holder) return null;
    this.writes.push(`finish ${status}`);
    Object.assign(row, { status, error, runnerHolder: null, runnerExpiresAt: null, finishedAt: new Date(this.now()) });
    return { ...row };
  }

  async release(id: string, holder: string) {
    const row = this.rows.get(id);
    if (row?.runnerHolder !== holder) return;
    this.writes.push("release");
    Object.assign(row, { runnerHolder: null, runnerExpiresAt: null });
  }

  async resumable(limit: number) {
    return [...this.rows.values()].filter((r) => r.status === "running" && !this.live(r)).slice(0, limit).map((r) => r.id);
  }
}
