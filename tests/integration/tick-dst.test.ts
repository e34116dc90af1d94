import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineJob, type JobDefinition } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import { runTrigger, type EngineDeps } from "@/lib/cron/run-job";
import { occurrencesBetween } from "@/lib/cron/schedule";
import { scheduleNotation } from "@/lib/dashboard/format";
import { queryRows } from "@/lib/db/client";
import { PostgresRunStore } from "@/lib/db/run-store";
import { runTick, type Dispatcher } from "@/lib/app/tick";
import { createTestDatabase, type TestDatabase } from "../support/db";

/**
 * A fake clock walked minute by minute through runTick across every DST change of 2025-2027 in
 * six zones, with hourly, daily (at a local time the change skips or repeats) and
 * every-15-minutes jobs dispatched by the tick and claimed through the real engine: every
 * expected slot runs once, none twice, and nothing that ran is flagged missed. The walk covers
 * 50 minutes on either side of each change, then the missed-slot check's grace. On PGlite (the
 * embedded database, in process): the walk is thousands of ticks.
 */

const ZONES = ["Europe/Paris", "America/New_York", "America/Santiago", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham"];
const MIN = 60_000;
const HOUR = 3_600_000;
/** Minutes walked on either side of each change (the daily job's slot lies within 45 of it). */
const WALK_MS = 50 * MIN;

function offsetAt(zone: string, ms: number): number {
  const f = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - ms;
}

/** The zone's offset changes in 2025-2027: the instant, and the offsets before and after. */
function changes(zone: string): Array<{ at: number; before: number; after: number }> {
  const out: Array<{ at: number; before: number; after: number }> = [];
  let previous = offsetAt(zone, Date.UTC(2025, 0, 1));
  for (let t = Date.UTC(2025, 0, 1); t < Date.UTC(2028, 0, 1); t += 6 * HOUR) {
    const next = offsetAt(zone, t + 6 * HOUR);
    if (next === previous) continue;
    let m = t;
    while (offsetAt(zone, m) === previous) m += MIN;
    out.push({ at: m, before: previous, after: next });
    previous = next;
  }
  return out;
}

const pad = (n: number) => String(n).padStart(2, "0");
let counter = 0;

describe("the tick across DST changes [pglite]", () => {
  let database: TestDatabase;
  let deps: EngineDeps;
  beforeAll(async () => {
    database = await createTestDatabase("pglite");
    deps = { runs: new PostgresRunStore(database.db), holder: "dst-walk:1", codeVersion: null, settleGraceMs: 50 };
  });
  afterAll(async () => {
    await database?.dispose();
  });
  const ctx = { get db() { return database.db; }, kind: "pglite" };

  it("runs every expected slot once, none twice, and flags nothing missed that ran (2025-2027, six zones)", async () => {
    const figures = { windows: 0, ticks: 0, jobs: 0, expected: 0, ran: 0, twice: 0, notRun: 0, extra: 0, missedThatRan: 0, missed: 0, dispatchedTwice: 0, tickErrors: 0 };
    const problems: string[] = [];

    for (const zone of ZONES) {
      let windows = changes(zone);
      // Kathmandu has no DST: walk it over two of Paris's change instants anyway.
      if (windows.length === 0) windows = changes("Europe/Paris").slice(0, 2).map((c) => ({ at: c.at, before: offsetAt(zone, c.at), after: offsetAt(zone, c.at) }));
      for (const change of windows) {
        figures.windows++;
        // A daily job in the middle of the skipped or repeated local time (02:30 in Paris).
        const local = new Date(change.at + Math.min(change.before, change.after) + Math.max(15 * MIN, Math.abs(change.after - change.before) / 2));
        const daily = `${local.getUTCMinutes()} ${local.getUTCHours()} * * *`;
        const tag = `${++counter}`;
        const jobs: JobDefinition[] = [
          ["hourly", "0 * * * *"],
          ["daily", daily],
          ["quarter", "*/15 * * * *"],
        ].map(([kind, cron]) => defineJob({ name: `dst-${kind}-${tag}-${process.pid}`, schedule: { cron, timezone: zone }, dispatch: "tick", timeout: "5s", handler: async () => "ok" }));
        figures.jobs += jobs.length;
        const registry = new JobRegistry(jobs);
        const dispatched = new Map<string, number>();
        const dispatch: Dispatcher = async (request) => {
          if (request.trigger === "retry") return { request, status: 400 };
          const key = `${request.jobName} ${request.slot.toISOString()}`;
          dispatched.set(key, (dispatched.get(key) ?? 0) + 1);
          const job = registry.get(request.jobName)!;
          const outcome = await runTrigger(deps, { job, trigger: request.trigger, scheduledFor: request.slot, budgetMs: 60_000 });
          return { request, status: outcome.kind === "ran" && outcome.run.status !== "completed" ? 500 : 200 };
        };

        const start = Math.floor((change.at - WALK_MS) / MIN) * MIN;
        const end = change.at + WALK_MS + 3 * MIN; // past the last slot's missed-check grace
        let lastTick = start;
        for (let t = start; t <= end; t += MIN) {
          // Anywhere in the minute, as a platform scheduler calls (the same seconds on every run).
          lastTick = t + (((t / MIN) * 37) % 60) * 1_000;
          const report = await runTick({ db: ctx.db, registry, dispatch, plan: "pro", holder: "dst-tick", now: new Date(lastTick) });
          figures.ticks++;
          figures.tickErrors += report.errors.length;
          for (const e of report.errors) problems.push(`${zone} ${e.scope}: ${e.error}`);
        }

        for (const job of jobs) {
          const expected = occurrencesBetween(job.schedule, new Date(start - 1), new Date(lastTick), 10_000).map((d) => d.toISOString());
          const rows = await queryRows<{ slot: string; status: string; n: number }>(
            ctx.db,
            sql`SELECT to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS slot, status, count(*)::int AS n
                FROM cron_job_logs WHERE job_name = ${job.name} GROUP BY 1, 2`,
          );
          const completed = new Map(rows.filter((r) => r.status === "completed").map((r) => [r.slot, r.n]));
          const missed = new Set(rows.filter((r) => r.status === "missed").map((r) => r.slot));
          figures.expected += expected.length;
          figures.missed += missed.size;
          for (const slot of expected) {
            const n = completed.get(slot) ?? 0;
            if (n === 1) figures.ran++;
            if (n > 1) (figures.twice++, problems.push(`${scheduleNotation(job.schedule)} ${zone}: ${slot} ran ${n} times`));
            if (n === 0) (figures.notRun++, problems.push(`${scheduleNotation(job.schedule)} ${zone}: ${slot} did not run`));
            if (n > 0 && missed.has(slot)) (figures.missedThatRan++, problems.push(`${scheduleNotation(job.schedule)} ${zone}: ${slot} ran and was flagged missed`));
          }
          for (const slot of completed.keys()) if (!expected.includes(slot)) (figures.extra++, problems.push(`${scheduleNotation(job.schedule)} ${zone}: ${slot} ran but is not a slot`));
          for (const slot of missed) problems.push(`${scheduleNotation(job.schedule)} ${zone}: ${slot} flagged missed`);
        }
        for (const [key, n] of dispatched) if (n > 1) (figures.dispatchedTwice++, problems.push(`dispatched ${n} times: ${key}`));
      }
    }
    console.log(`tick DST walk [${ctx.kind}]: ${JSON.stringify(figures)}`);
    expect(problems.slice(0, 20)).toEqual([]);
    expect(figures.windows).toBe(32);
    expect(figures.ran).toBe(figures.expected);
  }, 600_000);
});
