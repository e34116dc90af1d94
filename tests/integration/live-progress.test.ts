import { sql } from "drizzle-orm";
import { beforeEach, expect, it } from "vitest";
import { defineJob, type JobConfig } from "@/lib/cron/define-job";
import { RetryAfterError } from "@/lib/cron/errors";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "@/lib/cron/run-job";
import type { AttemptRecord, LogLine } from "@/lib/cron/run-store";
import { queryRows, type Db } from "@/lib/db/client";
import { getRunProgress } from "@/lib/db/queries/run-detail";
import { runningJobs } from "@/lib/db/queries/runs";
import { jsonValue } from "@/lib/db/rows";
import { PostgresRunStore } from "@/lib/db/run-store";
import { describeOnDatabases } from "../support/db";

/**
 * Live progress (issue 13 item 5) through the real engine and the Postgres run store: a running
 * run's row shows its log lines and attempts before the finish, written with the heartbeats,
 * and the finish (also of a resumed retry) keeps each line exactly once. The handlers wait for
 * the row to show what they logged (polling the database, bounded), instead of sleeping.
 */

let counter = 0;
const uniqueName = () => `live-job-${process.pid}-${++counter}`;

const ran = (o: TriggerOutcome) => {
  if (o.kind !== "ran") throw new Error(`expected a run, got a skip (${o.reason})`);
  return o.run;
};

interface Row {
  status: string;
  attempts: number | null;
  logLines: LogLine[];
  attemptDetails: AttemptRecord[];
}

async function rowOf(db: Db, id: string): Promise<Row> {
  const [r] = await queryRows<{ status: string; attempts: number | null; log_lines: unknown; attempt_details: unknown }>(
    db,
    sql`SELECT status, attempts, log_lines, attempt_details FROM cron_job_logs WHERE id = ${id}::uuid`,
  );
  return { status: r.status, attempts: r.attempts, logLines: jsonValue<LogLine[]>(r.log_lines) ?? [], attemptDetails: jsonValue<AttemptRecord[]>(r.attempt_details) ?? [] };
}

/** Polls the row until `check` holds (at most 8 s: a heartbeat goes out every third of the 1 s lease). */
async function waitForRow(db: Db, id: string, check: (row: Row) => boolean): Promise<Row> {
  const deadline = Date.now() + 8_000;
  for (;;) {
    const row = await rowOf(db, id);
    if (check(row)) return row;
    if (Date.now() > deadline) throw new Error(`the row never showed it: ${JSON.stringify(row)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const messages = (row: Row) => row.logLines.map((l) => l.message);

describeOnDatabases("live progress", (ctx) => {
  let deps: EngineDeps;
  beforeEach(() => {
    deps = { runs: new PostgresRunStore(ctx.db), holder: "live-host:1", codeVersion: "v1", secrets: ["hunter2-secret-value"], settleGraceMs: 100 };
  });
  const job = (over: Partial<JobConfig>) => defineJob({ name: uniqueName(), schedule: "*/5 * * * *", lease: "1s", timeout: "10s", handler: async () => "ok", ...over });

  it("shows a running run's log lines on its row before the finish, scrubbed, and the finish keeps each once", async () => {
    const seen: Row[] = [];
    const j = job({
      handler: async (c) => {
        c.log("step 1", { token: "hunter2-secret-value" });
        seen.push(await waitForRow(ctx.db, c.runId, (r) => messages(r).includes("step 1")));
        // The light progress query the run page polls sees the same, and only the lines after `since`.
        const progress = await getRunProgress(ctx.db, c.runId, 0);
        expect(progress).toMatchObject({ status: "started", attempts: 1, logCount: 1, logLines: [{ message: "step 1" }] });
        expect(await getRunProgress(ctx.db, c.runId, 1)).toMatchObject({ logCount: 1, logLines: [] });
        // The dashboard's running view shows the latest line.
        const running = (await runningJobs(ctx.db)).find((r) => r.runId === c.runId);
        expect(running).toMatchObject({ attempts: 1, logCount: 1, lastLine: { message: "step 1" } });
        c.log("step 2");
        seen.push(await waitForRow(ctx.db, c.runId, (r) => messages(r).includes("step 2")));
        return { done: true };
      },
    });
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
    expect(run.status).toBe("completed");
    expect(seen[0]).toMatchObject({ status: "started", attempts: 1 });
    expect(messages(seen[0])).toEqual(["step 1"]);
    expect(JSON.stringify(seen[0])).not.toContain("hunter2-secret-value");
    expect(messages(seen[1])).toEqual(["step 1", "step 2"]);
    const final = await rowOf(ctx.db, run.id);
    expect(final.status).toBe("completed");
    expect(messages(final)).toEqual(["step 1", "step 2"]);
    expect(await getRunProgress(ctx.db, run.id, 0)).toMatchObject({ status: "completed", logCount: 2 });
  });

  it("shows a failed attempt (its record and line) while the next attempt runs", async () => {
    let during: Row | null = null;
    const j = job({
      retries: 1,
      backoff: { strategy: "fixed", delay: "10ms" },
      handler: async (c) => {
        if (c.attempt === 1) throw new Error("first attempt fails");
        during = await waitForRow(ctx.db, c.runId, (r) => r.attemptDetails.length === 1 && r.attempts === 2);
        return "ok";
      },
    });
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
    expect(run.status).toBe("completed");
    expect(during).not.toBeNull();
    expect(during!.status).toBe("started");
    expect(during!.attemptDetails).toEqual([expect.objectContaining({ attempt: 1, error: "first attempt fails" })]);
    expect(messages(during!)).toEqual(["attempt 1 failed: first attempt fails"]);
    const final = await rowOf(ctx.db, run.id);
    expect(final.attemptDetails.map((a) => a.attempt)).toEqual([1, 2]);
    expect(messages(final)).toEqual(["attempt 1 failed: first attempt fails"]);
  });

  it("a resumed retry writes its new lines after the earlier ones, and the finish keeps every line exactly once", async () => {
    let during: Row | null = null;
    const j = job({
      retries: 1,
      handler: async (c) => {
        c.log(`attempt ${c.attempt} begins`);
        if (c.attempt === 1) throw new RetryAfterError("come back later", 600_000);
        during = await waitForRow(ctx.db, c.runId, (r) => messages(r).includes("attempt 2 begins"));
        c.log("attempt 2 ends");
        await waitForRow(ctx.db, c.runId, (r) => messages(r).includes("attempt 2 ends"));
        return "ok";
      },
    });
    const first = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
    expect(first.status).toBe("retry_scheduled");
    const earlier = messages(await rowOf(ctx.db, first.id));
    expect(earlier[0]).toBe("attempt 1 begins");
    expect(earlier).toHaveLength(3);

    const resumed = ran(await runTrigger(deps, { job: j, trigger: "retry", scheduledFor: null, retryOf: first.id, budgetMs: 60_000 }));
    expect(resumed.status).toBe("completed");
    expect(during!.status).toBe("started");
    expect(during!.attempts).toBe(2);
    expect(messages(during!)).toEqual([...earlier, "attempt 2 begins"]);
    expect(during!.attemptDetails.map((a) => a.attempt)).toEqual([1]);
    const final = await rowOf(ctx.db, first.id);
    expect(messages(final)).toEqual([...earlier, "attempt 2 begins", "attempt 2 ends"]);
    expect(final.attemptDetails.map((a) => a.attempt)).toEqual([1, 2]);
  });

  it("keeps the 200-line cap while lines stream: the row never holds more, and the finish adds the dropped count", async () => {
    let peak = 0;
    const j = job({
      handler: async (c) => {
        for (let i = 1; i <= 260; i++) {
          // Words, not one long token: lib/cron/redact.ts is quadratic on a long run of [a-z0-9] (about 29 ms per 3,000-char token).
          c.log(`line ${i} ${"word ".repeat(600)}`);
          if (i % 65 === 0) peak = Math.max(peak, (await waitForRow(ctx.db, c.runId, (r) => r.logLines.length >= Math.min(i, 200))).logLines.length);
        }
        return "ok";
      },
    });
    const run = ran(await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
    expect(run.error).toBeNull();
    expect(peak).toBe(200);
    const final = await rowOf(ctx.db, run.id);
    expect(final.logLines).toHaveLength(201);
    expect(final.logLines[200].message).toBe("60 more log lines dropped");
    // Each line cut at 2,000 characters, with how many more there were.
    expect(final.logLines[0].message).toMatch(/^line 1 (word ){398}wor… \[1007 more characters\]$/);
    expect(new Set(final.logLines.map((l) => l.message)).size).toBe(201);
  });
});
