/**
 * The run explorer (issue 15, items 7-8), on PGlite and on the Postgres server: every filter
 * (job, status, trigger, time range, error text, run id) and their combinations return exactly
 * the runs a plain reading of the rows says, newest first; the keyset pages walk the whole
 * history forwards and back without losing or repeating a run, runs that started in the same
 * microsecond included; a cursor or id that is not one is refused; the export reads it all.
 */
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { beforeAll, expect, it } from "vitest";
import { OperationError } from "@/lib/cron/errors";
import { RUN_STATUSES, RUN_TRIGGERS, type RunStatus, type RunTrigger } from "@/lib/cron/vocabulary";
import { queryRows } from "@/lib/db/client";
import { allRuns, decodeCursor, EMPTY_RUN_FILTER, exploreRuns, runIdRange, type ExplorerRun, type PagePosition, type RunFilter } from "@/lib/db/queries/run-explorer";
import { describeOnDatabases } from "../support/db";

interface Seeded {
  id: string;
  job: string;
  status: RunStatus;
  trigger: RunTrigger;
  /** Microseconds since the epoch: the order's exact key. */
  at: bigint;
  error: string | null;
}

const JOBS = ["explore-a", "explore-b", "explore-c"];
const ERRORS = [null, "connection refused by db", "100% of quota_used", "Timeout after 5 s", "upstream said 502"];
// At most one queued run per job (uq_cron_logs_one_queued): the seed holds none.
const STATUSES = RUN_STATUSES.filter((s) => s !== "queued");
const BASE = Date.UTC(2026, 10, 1, 12, 0, 0);
const toIso = (micros: bigint) => {
  const ms = Number(micros / 1000n);
  const rest = (micros % 1000n).toString().padStart(3, "0");
  return new Date(ms).toISOString().replace("Z", `${rest}Z`);
};

/** The rows, newest first, in the explorer's order (started_at, then id, descending). */
const newestFirst = (rows: Seeded[]) => [...rows].sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1));

function matches(r: Seeded, f: RunFilter): boolean {
  if (f.jobs.length && !f.jobs.includes(r.job)) return false;
  if (f.statuses.length && !f.statuses.includes(r.status)) return false;
  if (f.triggers.length && !f.triggers.includes(r.trigger)) return false;
  if (f.from && r.at < BigInt(f.from.getTime()) * 1000n) return false;
  if (f.to && r.at >= BigInt(f.to.getTime()) * 1000n) return false;
  if (f.error && !(r.error ?? "").toLowerCase().includes(f.error.toLowerCase())) return false;
  if (f.error && r.error === null) return false;
  if (f.id) {
    const { low, high } = runIdRange(f.id);
    if (r.id < low || r.id > high) return false;
  }
  return true;
}

/** Every page from the newest, following `older`; then back, following `newer`. */
async function walk(db: Parameters<typeof exploreRuns>[0], filter: RunFilter, limit: number) {
  const forward: ExplorerRun[][] = [];
  let position: PagePosition = null;
  for (let i = 0; i < 500; i++) {
    const page = await exploreRuns(db, filter, position, limit);
    forward.push(page.runs);
    if (i === 0) expect(page.newer).toBeNull();
    if (!page.older) break;
    position = { after: decodeCursor(page.older, "after") };
  }
  const backward: ExplorerRun[][] = [];
  const lastPage = forward.length > 1 ? await exploreRuns(db, filter, position, limit) : null;
  let newer = lastPage?.newer ?? null;
  while (newer) {
    const page = await exploreRuns(db, filter, { before: decodeCursor(newer, "before") }, limit);
    backward.push(page.runs);
    newer = page.newer;
  }
  return { forward, backward };
}

describeOnDatabases("the run explorer", (ctx) => {
  const rows: Seeded[] = [];

  beforeAll(async () => {
    // 240 runs over 3 jobs, 4 minutes apart, with every status and trigger and some errors;
    // every tenth step, three runs start in the same microsecond (the id breaks the tie).
    for (let step = 0; step < 200; step++) {
      const at = BigInt(BASE - step * 240_000) * 1000n + BigInt((step * 7919) % 1000);
      const count = step % 10 === 0 ? 3 : 1;
      for (let k = 0; k < count; k++) {
        rows.push({
          id: randomUUID(),
          job: JOBS[(step + k) % JOBS.length],
          status: STATUSES[(step * 3 + k) % STATUSES.length],
          trigger: RUN_TRIGGERS[(step * 5 + k) % RUN_TRIGGERS.length],
          at,
          error: ERRORS[(step + k) % ERRORS.length],
        });
      }
    }
    await ctx.db.execute(
      sql`INSERT INTO cron_job_logs (id, job_name, status, trigger, started_at, error_message)
          SELECT (r->>'id')::uuid, r->>'job', r->>'status', r->>'trigger', (r->>'at')::timestamptz, r->>'error'
          FROM jsonb_array_elements(${JSON.stringify(rows.map((r) => ({ ...r, at: toIso(r.at) })))}::jsonb) AS t(r)`,
    );
    const check = await queryRows<{ id: string; at: string }>(ctx.db, sql`SELECT id, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM cron_job_logs`);
    const byId = new Map(check.map((c) => [c.id, c.at]));
    for (const r of rows) expect(byId.get(r.id)).toBe(toIso(r.at));
  });

  const filter = (f: Partial<RunFilter>): RunFilter => ({ ...EMPTY_RUN_FILTER, ...f });
  const expected = (f: RunFilter) => newestFirst(rows.filter((r) => matches(r, f))).map((r) => r.id);

  it("walks the whole history 7 at a time, forwards and back, losing and repeating nothing", async () => {
    const { forward, backward } = await walk(ctx.db, filter({}), 7);
    const ids = forward.flat().map((r) => r.id);
    expect(ids).toEqual(expected(filter({})));
    expect(new Set(ids).size).toBe(rows.length);
    expect(forward.slice(0, -1).every((p) => p.length === 7)).toBe(true);
    // Back from the last page: each page as it was on the way forward, ending on the full first page.
    expect(backward.reverse()).toEqual(forward.slice(0, -1).map((p) => p));
  });

  it("each filter and their combinations return exactly the matching runs, newest first", async () => {
    const id = newestFirst(rows)[17].id;
    const cases: Array<Partial<RunFilter>> = [
      { jobs: ["explore-a"] },
      { jobs: ["explore-a", "explore-c"] },
      { jobs: ["explore-b", "no-such-job"] },
      { statuses: ["failed"] },
      { statuses: ["failed", "timed_out", "abandoned"] },
      { jobs: ["explore-a", "explore-b"], statuses: ["completed", "failed"] },
      { triggers: ["manual"] },
      { triggers: ["manual", "replay", "backfill"] },
      { triggers: ["schedule"] },
      { triggers: ["schedule", "manual"] },
      { jobs: ["explore-c"], triggers: ["retry"] },
      { from: new Date(BASE - 3_600_000), to: new Date(BASE - 1_200_000) },
      { from: new Date(BASE - 86_400_000) },
      { to: new Date(BASE - 40_000_000) },
      { error: "REFUSED" },
      { error: "100%" },
      { error: "quota_" },
      { error: "%" },
      { error: "_" },
      { error: "refused", statuses: ["failed", "missed"], jobs: ["explore-b"] },
      { id },
      { id: id.slice(0, 8) },
      { id: id.slice(0, 13).toUpperCase() },
      { id: id.replace(/-/g, "").slice(0, 6), jobs: ["explore-a", "explore-b", "explore-c"] },
      { statuses: ["skipped"], from: new Date(BASE - 7_200_000), error: "502" },
    ];
    for (const c of cases) {
      const f = filter(c);
      const want = expected(f);
      const { forward } = await walk(ctx.db, f, 5);
      expect({ c, ids: forward.flat().map((r) => r.id) }).toEqual({ c, ids: want });
      if (c.id === id) expect(want).toEqual([id]);
    }
    // The filters above are not all empty: most match something.
    expect(cases.filter((c) => expected(filter(c)).length > 0).length).toBeGreaterThan(20);
  });

  it("returns what a run list shows: job, trigger, times, and the error's start", async () => {
    const target = newestFirst(rows).find((r) => r.error && r.job === "explore-b")!;
    const page = await exploreRuns(ctx.db, filter({ id: target.id }), null, 10);
    expect(page.runs).toEqual([
      expect.objectContaining({ id: target.id, jobName: "explore-b", status: target.status, trigger: target.trigger, error: target.error, startedAt: new Date(Number(target.at / 1000n)).toISOString() }),
    ]);
  });

  it("the export reads every matching run in batches, whatever their number", async () => {
    const f = filter({ jobs: ["explore-a", "explore-b"] });
    const batches: number[] = [];
    const ids: string[] = [];
    const nexts: Array<string | null> = [];
    for await (const batch of allRuns(ctx.db, f, { batch: 9 })) {
      batches.push(batch.runs.length);
      ids.push(...batch.runs.map((r) => r.id));
      nexts.push(batch.next);
    }
    expect(ids).toEqual(expected(f));
    expect(batches.slice(0, -1).every((b) => b === 9)).toBe(true);
    expect(nexts.every((n) => n === null)).toBe(true);

    // Cut short at 20: the last batch says where to continue, and continuing gives the rest.
    const head: string[] = [];
    let next: string | null = null;
    for await (const batch of allRuns(ctx.db, f, { batch: 9, max: 20 })) {
      head.push(...batch.runs.map((r) => r.id));
      next = batch.next;
    }
    expect(head).toEqual(expected(f).slice(0, 20));
    const tail: string[] = [];
    for await (const batch of allRuns(ctx.db, f, { batch: 50, after: decodeCursor(next!, "after") })) tail.push(...batch.runs.map((r) => r.id));
    expect([...head, ...tail]).toEqual(expected(f));
  });

  it("refuses a cursor it did not hand out and an id that is not one, naming the field", async () => {
    for (const bad of ["", "nonsense", Buffer.from("2026-01-01T00:00:00Z|x").toString("base64url"), Buffer.from("yesterday|" + rows[0].id).toString("base64url")]) {
      expect(() => decodeCursor(bad, "after")).toThrow(OperationError);
      expect(() => decodeCursor(bad, "after")).toThrow(/after is not a cursor/);
    }
    for (const bad of ["abc", "xyz12345", "0".repeat(33), "12345678-zz"]) {
      await expect(exploreRuns(ctx.db, filter({ id: bad }), null, 5)).rejects.toThrow(/id must be a run id/);
    }
  });
});
