import type { SlotRows, UpstreamSource } from "@/lib/cron/dependencies";
import type { RunStatus, SkipReason } from "@/lib/cron/vocabulary";

/** The fields of a run row job dependencies read (tests/support/memory-run-store.ts MemoryRun has them all). */
export interface UpstreamRow {
  jobName: string;
  status: RunStatus;
  skipReason?: SkipReason | null;
  scheduledFor: Date | null;
  dedupeKey: string | null;
  startedAt: number | Date;
  completedAt?: number | Date | null;
  nextRetryAt: Date | null;
  errorMessage: string | null;
}

const ms = (v: number | Date) => (typeof v === "number" ? v : v.getTime());

/**
 * lib/db/queries/dependencies.ts in memory: the same summary of a (job, slot)'s rows, over
 * whatever rows `rows()` returns (a MemoryRunStore's, with rows a test adds). Counts its calls,
 * so a test can check the gate reads once per trigger.
 */
export class MemoryUpstreamSource implements UpstreamSource {
  calls = 0;

  constructor(private readonly rows: () => Iterable<UpstreamRow>) {}

  async slotRows(pairs: ReadonlyArray<{ jobName: string; slot: Date }>): Promise<SlotRows[]> {
    this.calls += 1;
    const all = [...this.rows()];
    const seen = new Set<string>();
    const out: SlotRows[] = [];
    for (const p of pairs) {
      const key = `${p.jobName} ${p.slot.getTime()}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const rows = all.filter((r) => r.jobName === p.jobName && r.scheduledFor?.getTime() === p.slot.getTime());
      const pending = (r: UpstreamRow) => r.status === "started" || r.status === "queued" || r.status === "retry_scheduled" || (r.status === "missed" && r.nextRetryAt !== null);
      const completed = rows.filter((r) => r.status === "completed").map((r) => ms(r.completedAt ?? r.startedAt));
      const waiting = rows.filter(pending).sort((a, b) => ms(a.startedAt) - ms(b.startedAt));
      const failed = rows.filter((r) => r.status !== "completed" && !pending(r)).sort((a, b) => ms(b.completedAt ?? b.startedAt) - ms(a.completedAt ?? a.startedAt));
      out.push({
        jobName: p.jobName,
        slot: p.slot,
        rows: rows.length,
        completedAt: completed.length ? new Date(Math.min(...completed)) : null,
        pendingSince: waiting.length ? new Date(ms(waiting[0].startedAt)) : null,
        pendingStatus: waiting[0]?.status ?? null,
        lastFailure: failed.length ? { status: failed[0].status, at: new Date(ms(failed[0].completedAt ?? failed[0].startedAt)), error: failed[0].errorMessage } : null,
        skippedUpstreamFailed: rows.some((r) => r.status === "skipped" && r.skipReason === "upstream_failed"),
        slotClaimed: rows.some((r) => r.dedupeKey?.startsWith("slot:") ?? false),
      });
    }
    return out;
  }
}
