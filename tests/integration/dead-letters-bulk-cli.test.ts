import { sql } from "drizzle-orm";
import { afterEach, expect, it, vi } from "vitest";
import { defineJob } from "@/lib/cron/define-job";
import { JobRegistry } from "@/lib/cron/registry";
import type { Actor } from "@/lib/cron/vocabulary";
import { queryRows, type Db } from "@/lib/db/client";
import { PostgresRunStore } from "@/lib/db/run-store";
import { Output, type CliContext } from "../../scripts/cli/context";
import { dlqBulk } from "../../scripts/cli/dlq";
import { UsageError } from "../../scripts/cli/errors";
import type { CommandInput } from "../../scripts/cli/spec";
import { describeOnDatabases } from "../support/db";

/**
 * `crondeck dlq bulk` on real rows (PGlite and the Postgres server): it settles every pending
 * entry a selection takes, however many batches that needs, with one audit row per batch naming
 * the CLI's actor; it replays the selection here, batch after batch, each entry once and within
 * its job's replay limit, and reports what cannot be replayed; a bad option is a usage error
 * naming it. The command runs in this process with a context over the test's database.
 */

const actor: Actor = { name: "cli:tester", via: "cli", ip: null };
let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

function context(db: Db, registry: JobRegistry): CliContext {
  const engine = { runs: new PostgresRunStore(db), holder: "cli-test:1", codeVersion: null, settleGraceMs: 50 };
  return {
    out: new Output(true),
    now: () => new Date(),
    actor,
    ops: async () => ({ db, registry }),
    opsWithEngine: async () => ({ db, registry, engine }),
    redact: (text: string) => text,
  } as unknown as CliContext;
}
const input = (args: string[], options: Record<string, string> = {}): CommandInput => ({ args, options });

async function capture(run: () => Promise<number>): Promise<{ code: number; json: Record<string, unknown> }> {
  let stdout = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    return { code: await run(), json: JSON.parse(stdout) };
  } finally {
    vi.restoreAllMocks();
  }
}

afterEach(() => vi.restoreAllMocks());

async function entry(db: Db, job: string, reason: string, replays = 0): Promise<string> {
  const [run] = await queryRows<{ id: string }>(
    db,
    sql`INSERT INTO cron_job_logs (job_name, status, trigger, started_at, completed_at, error_message) VALUES (${job}, 'failed', 'schedule', now() - interval '1 hour', now() - interval '1 hour', ${reason}) RETURNING id`,
  );
  const [{ id }] = await queryRows<{ id: string }>(
    db,
    sql`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, replay_count) VALUES (${run.id}::uuid, ${job}, ${reason}, ${replays}) RETURNING id`,
  );
  return id;
}
const statusOf = async (db: Db, job: string) =>
  (await queryRows<{ recovery_status: string; replay_count: number }>(db, sql`SELECT recovery_status, replay_count FROM cron_dead_letters WHERE job_name = ${job} ORDER BY created_at, id`)).map(
    (r) => `${r.recovery_status}:${r.replay_count}`,
  );

describeOnDatabases("crondeck dlq bulk", (ctx) => {
  it("marks failed every pending entry the selection takes, past one batch, audited as the CLI's actor", async () => {
    const job = unique("cli-bulk-settle");
    for (let i = 0; i < 12; i++) await entry(ctx.db, job, i % 3 === 0 ? "upstream answered 502" : "timed out after 30 s");
    const { code, json } = await capture(() => dlqBulk(context(ctx.db, new JobRegistry([])), input(["mark-failed"], { job, "reason-contains": "TIMED OUT", reason: "the vendor retired this API" })));
    expect(code).toBe(0);
    expect(json).toMatchObject({ ok: true, action: "mark_failed", count: 8, jobs: { [job]: 8 } });
    expect((await statusOf(ctx.db, job)).filter((s) => s.startsWith("permanently_failed")).length).toBe(8);
    expect((await statusOf(ctx.db, job)).filter((s) => s.startsWith("pending")).length).toBe(4);
    const audits = await queryRows<{ actor: string; detail: { via: string } }>(ctx.db, sql`SELECT actor, detail FROM cron_audit_log WHERE action = 'dead_letter.bulk_mark_failed' AND detail->'selection'->>'jobName' = ${job}`);
    expect(audits.length).toBeGreaterThanOrEqual(1);
    expect(audits.every((a) => a.actor === "cli:tester" && a.detail.via === "cli")).toBe(true);
  });

  it("replays the selection batch after batch, each entry once within its limit, and counts what cannot be replayed", async () => {
    const name = unique("cli-bulk-replay");
    const job = defineJob({ name, schedule: "0 3 * * *", handler: async () => "ok", deadLetter: { replayLimit: 2 } });
    const ids = [];
    for (let i = 0; i < 13; i++) ids.push(await entry(ctx.db, name, "flaky upstream", i === 0 ? 2 : 0));
    const { code, json } = await capture(() => dlqBulk(context(ctx.db, new JobRegistry([job])), input(["replay"], { job: name })));
    expect(code).toBe(0);
    // 12 entries replayed (more than one batch of 10), the one out of replays left.
    expect(json).toMatchObject({ ok: true, action: "replay", replayed: 12, notReplayable: 1 });
    const states = await statusOf(ctx.db, name);
    expect(states.filter((s) => s === "replayed:1").length).toBe(12);
    expect(states.filter((s) => s === "pending:2").length).toBe(1);
    const [{ n }] = await queryRows<{ n: number }>(ctx.db, sql`SELECT count(*)::int AS n FROM cron_job_logs WHERE job_name = ${name} AND trigger = 'replay' AND status = 'completed'`);
    expect(n).toBe(12);
  });

  it("refuses a bad action or option, naming it", async () => {
    const ctxCli = context(ctx.db, new JobRegistry([]));
    const cases: Array<[CommandInput, RegExp]> = [
      [input(["explode"]), /the action must be one of replay, mark_failed, resolve/],
      [input(["resolve"]), /--reason is required/],
      [input(["resolve"], { job: "Not A Job", reason: "x" }), /--job must be a job name/],
      [input(["resolve"], { priority: "urgent", reason: "x" }), /--priority must be one of/],
      [input(["resolve"], { from: "yesterday", reason: "x" }), /--from must be an ISO 8601 instant/],
      [input(["resolve"], { from: "2026-11-02T00:00:00Z", to: "2026-11-01T00:00:00Z", reason: "x" }), /--to must be after --from/],
    ];
    for (const [given, message] of cases) {
      const error = await dlqBulk(ctxCli, given).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(message);
    }
  });
});
