import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createObservers } from "@/lib/app/observers";
import { AlertDispatcher } from "@/lib/alerts/dispatcher";
import { SlackChannel } from "@/lib/alerts/slack";
import { defineJob, type JobConfig } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import { runTrigger, type EngineDeps, type RunReport } from "@/lib/cron/run-job";
import { queryRows, type Db } from "@/lib/db/client";
import { durationBaseline } from "@/lib/db/queries/regression";
import { PostgresRunStore } from "@/lib/db/run-store";
import { parseEnv } from "@/lib/env";
import { createTestDatabase, describeOnDatabases } from "../support/db";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";

/**
 * Duration regressions against real rows, on PGlite and the Postgres server: the baseline is the
 * exact p95 of the job's last `window` completed runs before the judged one (abandoned, timed-out
 * and failed runs never count), and a run through the real engine and observers alerts once when
 * it is far slower than that, never otherwise; a broken database never fails the run.
 */

let slack: RecordingServer;
beforeAll(async () => {
  slack = await startRecordingServer();
});
afterAll(async () => {
  await slack?.close();
});

const unique = (prefix: string) => `${prefix}-${randomBytes(3).toString("hex")}`;

/** Rows of a job's history: `durations` runs with that status, started `agoMs` and earlier (one second apart). */
async function history(db: Db, job: string, durations: number[], opts: { status?: string; agoMs?: number } = {}): Promise<void> {
  const base = Date.now() - (opts.agoMs ?? 60_000);
  for (const [i, duration] of durations.entries()) {
    const started = new Date(base - i * 1_000);
    await db.execute(sql`INSERT INTO cron_job_logs (job_name, status, started_at, completed_at, duration_ms, trigger)
      VALUES (${job}, ${opts.status ?? "completed"}, ${started.toISOString()}::timestamptz, ${new Date(started.getTime() + duration).toISOString()}::timestamptz, ${duration}, 'schedule')`);
  }
}

const slackTexts = (job: string) => slack.requests.map((r) => String((r.json as { text?: string })?.text ?? "")).filter((t) => t.includes(job));

describeOnDatabases("duration regression", (ctx) => {
  it("takes the exact p95 of the last `window` completed runs that started before the judged run, this job's only", async () => {
    const job = unique("rg-base");
    const durations = Array.from({ length: 30 }, (_, i) => (i + 1) * 10); // 10..300 ms, newest first
    await history(ctx.db, job, durations);
    await history(ctx.db, job, [99_999, 88_888], { status: "abandoned", agoMs: 30_500 });
    await history(ctx.db, job, [77_777], { status: "timed_out", agoMs: 45_500 });
    await history(ctx.db, job, [66_666], { status: "failed", agoMs: 50_500 });
    await history(ctx.db, unique("rg-other"), [1_000_000]);
    const before = new Date();
    const b = await durationBaseline(ctx.db, { jobName: job, before, window: 20 });
    // The 20 newest completed runs are 10..200 ms; percentile_cont(0.95) over 20 sorted values
    // interpolates at position 0.95 * 19 = 18.05: 190 + 0.05 * 10 = 190.5.
    expect(b).toEqual({ runs: 20, p95Ms: 190.5 });
    const [exact] = await queryRows<{ p95: number }>(
      ctx.db,
      sql`SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY d)::float8 AS p95 FROM unnest(${`{${durations.slice(0, 20).join(",")}}`}::int[]) AS d`,
    );
    expect(b.p95Ms).toBeCloseTo(Number(exact.p95), 9);
    // Runs that started at or after `before` are not their own baseline.
    const early = await durationBaseline(ctx.db, { jobName: job, before: new Date(Date.now() - 60_000 - 9_500), window: 50 });
    expect(early.runs).toBe(20); // runs 11..30 (110..300 ms) started before that
    expect(await durationBaseline(ctx.db, { jobName: unique("rg-none"), before, window: 50 })).toEqual({ runs: 0, p95Ms: null });
  });

  async function engine(db: Db, config: Partial<JobConfig>, logs: string[] = []) {
    const job = defineJob({
      name: unique("rg-run"),
      schedule: "0 0 1 1 *",
      handler: async () => {
        await new Promise((r) => setTimeout(r, 150));
        return { ok: true };
      },
      alerts: { regression: { factor: 3, window: 20, minRuns: 10 } },
      ...config,
    });
    const dispatcher = new AlertDispatcher({ db, channels: [new SlackChannel({ webhookUrl: `${slack.url}/hooks/rg` })] });
    const observers = createObservers(parseEnv({}), db, [], { registry: () => new JobRegistry([job]), dispatcher, log: (m) => logs.push(m) });
    const deps: EngineDeps = { runs: new PostgresRunStore(db), holder: "regression-test:1", codeVersion: null, settleGraceMs: 50, onRunFinished: observers.onRunFinished };
    const run = async (): Promise<RunReport> => {
      const outcome = await runTrigger(deps, { job, trigger: "manual", scheduledFor: null, budgetMs: 60_000 });
      if (outcome.kind !== "ran") throw new Error(`skipped: ${outcome.reason}`);
      return outcome.run;
    };
    return { job, run };
  }

  it("alerts once when a completed run is 10x its history's p95, leaving abandoned and timed-out runs out of the p95", async () => {
    const { job, run } = await engine(ctx.db, {});
    await history(ctx.db, job.name, Array(12).fill(15));
    // Were these in the p95, it would be far above 150 ms and nothing would alert.
    await history(ctx.db, job.name, [60_000, 60_000], { status: "abandoned", agoMs: 30_500 });
    await history(ctx.db, job.name, [30_000], { status: "timed_out", agoMs: 40_500 });
    const report = await run();
    expect(report.status).toBe("completed");
    const texts = slackTexts(job.name);
    expect(texts, texts.join("\n---\n")).toHaveLength(1);
    expect(texts[0]).toContain(`${job.name} took far longer than its recent runs`);
    expect(texts[0]).toMatch(/Duration ms: \d+/);
    expect(texts[0]).toContain("P95 ms: 15");
    expect(texts[0]).toContain("Factor: 3");
    expect(texts[0]).toContain("Runs compared: 12");
    const rows = await queryRows<{ kind: string; status: string; run_id: string }>(ctx.db, sql`SELECT kind, status, run_id FROM cron_alerts WHERE job_name = ${job.name}`);
    expect(rows).toEqual([{ kind: "regression", status: "sent", run_id: report.id }]);
  });

  it("sends nothing for a run within its history, before minRuns, for a failed run, or with regression off", async () => {
    const normal = await engine(ctx.db, {});
    await history(ctx.db, normal.job.name, Array(12).fill(140));
    expect((await normal.run()).status).toBe("completed");

    const young = await engine(ctx.db, {});
    await history(ctx.db, young.job.name, Array(9).fill(1));
    await young.run();

    const failing = await engine(ctx.db, {
      handler: async () => {
        await new Promise((r) => setTimeout(r, 150));
        throw new Error("boom");
      },
      alerts: { regression: { factor: 3, window: 20, minRuns: 10 }, afterConsecutiveFailures: 100, onDeadLetter: false },
      deadLetter: { pauseAfter: 0 },
    });
    await history(ctx.db, failing.job.name, Array(12).fill(1));
    expect((await failing.run()).status).toBe("failed");

    const off = await engine(ctx.db, { alerts: { regression: false } });
    await history(ctx.db, off.job.name, Array(12).fill(1));
    await off.run();

    for (const j of [normal, young, failing, off]) expect(slackTexts(j.job.name), j.job.name).toEqual([]);
  });

  it("never fails a run when the regression check cannot read the database: it logs and goes on", async () => {
    const broken = await createTestDatabase(ctx.kind);
    const logs: string[] = [];
    const { job } = await engine(broken.db, {}, logs);
    await broken.dispose();
    const dispatcher = new AlertDispatcher({ db: broken.db, channels: [] });
    const observers = createObservers(parseEnv({}), broken.db, [], { registry: () => new JobRegistry([job]), dispatcher, log: (m) => logs.push(m) });
    const report: RunReport = {
      id: "6f1c2a0e-4b7d-4c1e-9a53-0d2f8e7b1c44", jobName: job.name, status: "completed", trigger: "manual", scheduledFor: null, startedAt: new Date(), completedAt: new Date(), durationMs: 5_000,
      attempts: 1, attemptDetails: [], error: null, errorStack: null, output: null, retryDeferred: false, nextRetryAt: null, consecutiveFailures: 0, previousFailures: 0, deadLetterId: null,
      autoPaused: false, recorded: true, notRecorded: null, takenOverBy: null,
    };
    await expect(observers.onRunFinished(report, job)).resolves.toBeUndefined();
    expect(logs.some((m) => m.includes(`regression check for ${job.name}`))).toBe(true);
  });
});
