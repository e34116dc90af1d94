import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { rawRequest, type RawReply } from "../support/http";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * Run input over real HTTP (`next start` on a Postgres server database, the feature jobs loaded)
 * and through the CLI on the same database: a refused input is a 400 naming the field that
 * changes nothing (tables snapshotted before and after), too large an input is refused, a run
 * with input stores it and its audit row records it, the execute route's manual POST takes an
 * input body, a dead letter is replayed with an edited input; the CLI's --input mistakes exit 2.
 */

const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;
const BEARER = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };

const call = (base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = BEARER): Promise<RawReply> =>
  rawRequest(base, method, path, { headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithPostgres("run input over HTTP and the CLI", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  let tmp: string;
  const base = () => server.url;
  const q = async (text: string, params: unknown[] = []) => (await pool.query(text, params)).rows;
  const snapshot = async () => ({
    logs: await q("SELECT id, job_name, status, input FROM cron_job_logs ORDER BY id"),
    deadLetters: await q("SELECT id, replay_count, recovery_status FROM cron_dead_letters ORDER BY id"),
    audit: await q("SELECT id, action FROM cron_audit_log ORDER BY id"),
  });
  /** The run's row once it is no longer started (the admin API runs it after its answer). */
  async function settled(id: string) {
    for (let i = 0; i < 100; i++) {
      const [row] = await q("SELECT status, input, output, trigger, replay_of FROM cron_job_logs WHERE id = $1", [id]);
      if (row && row.status !== "started") return row;
      await sleep(100);
    }
    throw new Error(`run ${id} did not finish`);
  }
  const cli = (args: string[]) => runCli(args, { env: { DATABASE_URL: database.url, CRON_SECRET, CRONDECK_FEATURE_JOBS: "1" } });

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "crondeck-input-"));
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 3 });
    server = await startNextServer({ env: { DATABASE_URL: database.url, ADMIN_TOKEN, CRON_SECRET, CRONDECK_FEATURE_JOBS: "1" } });
    const warm = await call(base(), "GET", "/api/admin/cron-jobs");
    expect(warm.status, warm.text).toBe(200);
  });

  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("refuses an input the schema does not take with a 400 naming the field, and changes nothing", async () => {
    const before = await snapshot();
    const cases: Array<[string, unknown, string, number]> = [
      ["feature-report", { input: { days: "7" } }, "input.days", 400],
      ["feature-report", { input: { days: 91 } }, "input.days", 400],
      ["feature-report", { input: { days: 7, extra: 1, pad: "x".repeat(17 * 1024) } }, "input", 400],
      ["feature-report", { inputs: { days: 7 } }, "inputs", 400],
      ["health-check", { input: { days: 7 } }, "input", 400],
      ["feature-report", '{"input": {"days": ', "body", 400],
      ["feature-report", JSON.stringify({ input: { pad: "x".repeat(70 * 1024) } }), "body", 413],
    ];
    for (const [job, body, field, status] of cases) {
      const reply = await call(base(), "POST", `/api/admin/cron-jobs/${job}/run`, body);
      expect(reply.status, `${job} ${reply.text}`).toBe(status);
      expect(reply.body).toMatchObject({ success: false, field });
      if (status === 400) expect(reply.body.error).toMatch(new RegExp(`^${field.replace(".", "\\.")}: `));
      else expect(reply.body.code).toBe("body_too_large");
      expect(reply.text).not.toMatch(/\n\s+at /);
    }
    const noSchema = await call(base(), "POST", "/api/admin/cron-jobs/health-check/run", { input: { days: 7 } });
    expect(noSchema.body).toMatchObject({ code: "invalid_input", error: expect.stringContaining("takes no input") });
    const badType = await call(base(), "POST", "/api/admin/cron-jobs/feature-report/run", { input: { days: "7" } });
    expect(badType.body).toMatchObject({ code: "invalid_input", error: "input.days: expected number, received string" });
    // The execute route's manual POST refuses the same way.
    const execute = await call(base(), "POST", "/api/cron/execute/feature-report", { input: { days: 0 } }, { authorization: `Bearer ${CRON_SECRET}`, "content-type": "application/json" });
    expect(execute.status, execute.text).toBe(400);
    expect(execute.body).toMatchObject({ code: "invalid_input", field: "input.days" });
    expect(await snapshot()).toEqual(before);
  });

  it("runs with the input: the row stores it, the handler sees it parsed, job.run's audit row records it", async () => {
    const reply = await call(base(), "POST", "/api/admin/cron-jobs/feature-report/run", { input: { days: 30 } });
    expect(reply.status, reply.text).toBe(202);
    const row = await settled(reply.body.executionId);
    expect(row).toMatchObject({ status: "completed", input: { days: 30 }, output: { days: 30, dryRun: false } });
    expect(row.output.upcoming).toHaveLength(5);
    const [audit] = await q("SELECT detail FROM cron_audit_log WHERE action = 'job.run' AND detail->>'executionId' = $1", [reply.body.executionId]);
    expect(audit.detail).toMatchObject({ input: { days: 30 }, via: "bearer" });
    const detail = await call(base(), "GET", `/api/admin/runs/${reply.body.executionId}`);
    expect(JSON.stringify(detail.body)).toContain('"input":{"days":30}');

    // No input: the default, stored as null.
    const plain = await call(base(), "POST", "/api/admin/cron-jobs/feature-report/run");
    expect(plain.status, plain.text).toBe(202);
    expect(await settled(plain.body.executionId)).toMatchObject({ status: "completed", input: null, output: { days: 7, dryRun: false } });

    // The execute route's manual POST with a JSON body.
    const execute = await call(base(), "POST", "/api/cron/execute/feature-report", { input: { days: 3, dryRun: true } }, { authorization: `Bearer ${CRON_SECRET}`, "content-type": "application/json" });
    expect(execute.status, execute.text).toBe(200);
    expect(await settled(execute.body.execution.id)).toMatchObject({ status: "completed", input: { days: 3, dryRun: true }, output: { days: 3, dryRun: true } });
  });

  it("a failed run dead-letters with its input; the retry route replays it with an edited input, a refused edit changes nothing", async () => {
    const failed = await call(base(), "POST", "/api/admin/cron-jobs/feature-import/run", { input: { batch: "june", fail: true } });
    expect(failed.status, failed.text).toBe(202);
    expect(await settled(failed.body.executionId)).toMatchObject({ status: "failed", input: { batch: "june", fail: true } });
    const list = await call(base(), "GET", "/api/admin/dead-letter-queue?jobName=feature-import");
    const entry = list.body.entries.find((e: { runId: string }) => e.runId === failed.body.executionId);
    expect(entry).toMatchObject({ input: { batch: "june", fail: true } });

    const before = await snapshot();
    const refused = await call(base(), "POST", `/api/admin/dead-letter-queue/${entry.id}/retry`, { input: { batch: "" } });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body).toMatchObject({ code: "invalid_input", field: "input.batch" });
    expect(await snapshot()).toEqual(before);

    const replay = await call(base(), "POST", `/api/admin/dead-letter-queue/${entry.id}/retry`, { input: { batch: "june", fail: false } });
    expect(replay.status, replay.text).toBe(202);
    expect(await settled(replay.body.executionId)).toMatchObject({ status: "completed", trigger: "replay", replay_of: failed.body.executionId, input: { batch: "june", fail: false } });
    const [audit] = await q("SELECT detail FROM cron_audit_log WHERE action = 'dead_letter.retry' AND target = $1", [entry.id]);
    expect(audit.detail).toMatchObject({ inputEdited: true, inputBefore: { batch: "june", fail: true }, input: { batch: "june", fail: false } });
  });

  it("the CLI runs with --input and --input-file, replays with an edited input, and answers a bad --input with exit 2 naming the fix", async () => {
    const [badJson, both, noSchema, badField, badTrigger] = await Promise.all([
      cli(["jobs", "run", "feature-report", "--input", "{days: 3}"]),
      cli(["jobs", "run", "feature-report", "--input", "{}", "--input-file", "x.json"]),
      cli(["jobs", "run", "health-check", "--input", '{"days": 3}']),
      cli(["jobs", "run", "feature-report", "--input", '{"days": "3"}']),
      cli(["trigger", "feature-report", "--slot", "2026-01-01T04:13:00Z", "--input", '{"days": 3}', "--url", base()]),
    ]);
    expect(badJson.code, badJson.stderr).toBe(2);
    expect(badJson.stderr).toContain("--input: not valid JSON; pass a JSON object such as '{\"days\": 7}'");
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--input and --input-file cannot be combined");
    expect(noSchema.code).toBe(2);
    expect(noSchema.stderr).toContain("health-check takes no input");
    expect(badField.code).toBe(2);
    expect(badField.stderr).toContain("input.days: expected number, received string");
    expect(badTrigger.code).toBe(2);
    expect(badTrigger.stderr).toContain("--input goes with a manual run");
    for (const r of [badJson, both, noSchema, badField, badTrigger]) expect(r.stderr).not.toMatch(/\n\s+at /);

    const file = join(tmp, "input.json");
    writeFileSync(file, '{"days": 12}');
    const fromFile = await cli(["jobs", "run", "feature-report", "--input-file", file, "--json"]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const runId = JSON.parse(fromFile.stdout).run.id;
    expect((await q("SELECT input FROM cron_job_logs WHERE id = $1", [runId]))[0].input).toEqual({ days: 12 });

    const viaHttp = await cli(["trigger", "feature-report", "--input", '{"days": 4}', "--url", base(), "--json"]);
    expect(viaHttp.code, viaHttp.stderr).toBe(0);
    expect((await q("SELECT input FROM cron_job_logs WHERE id = $1", [JSON.parse(viaHttp.stdout).execution.id]))[0].input).toEqual({ days: 4 });

    const failed = await cli(["jobs", "run", "feature-import", "--input", '{"batch": "july", "fail": true}', "--json"]);
    expect(failed.code).toBe(1);
    const deadLetterId = JSON.parse(failed.stdout).run.deadLetterId;
    expect(deadLetterId).toBeTruthy();
    const replayed = await cli(["dlq", "replay", deadLetterId, "--input", '{"batch": "july"}', "--json"]);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect((await q("SELECT input FROM cron_job_logs WHERE id = $1", [JSON.parse(replayed.stdout).run.id]))[0].input).toEqual({ batch: "july" });
  });
});
