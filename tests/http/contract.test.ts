import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, type CliResult } from "../support/cli";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { rawRequest, type RawReply } from "../support/http";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * The admin API and the CLI offer the same operator actions through one implementation
 * (lib/app/operations): each action, taken once over real HTTP (`next start`) and once
 * through the real CLI process, on the same Postgres database, must give the same result and
 * the same audit row, apart from who acted and how (actor, via, ip). PGlite cannot be shared
 * by two processes, so these run only when the Postgres server answers.
 */


const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;
const BEARER = { authorization: `Bearer ${ADMIN_TOKEN}` };


interface AuditRow {
  actor: string;
  action: string;
  target: string | null;
  detail: Record<string, unknown> | null;
  ip_address: string | null;
}

/** An audit row without who acted and how: what must match between the channels. */
const sameness = (row: AuditRow, ids: Record<string, string> = {}) => {
  const { via, ...detail } = row.detail ?? {};
  const named = Object.fromEntries(Object.entries(detail).map(([k, v]) => [k, typeof v === "string" && ids[v] ? ids[v] : v]));
  return { action: row.action, target: row.target && ids[row.target] ? ids[row.target] : row.target, detail: named, via };
};

describeWithPostgres("the admin API and the CLI: one operation each", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;

  const q = async <T = Record<string, any>>(text: string, params: unknown[] = []) => (await pool.query(text, params)).rows as T[];
  const http = (method: string, path: string, body?: unknown): Promise<RawReply> => rawRequest(server.url, method, path, { headers: BEARER, body });
  const cli = (args: string[]): Promise<CliResult> => runCli(args, { env: { DATABASE_URL: database.url, CRON_SECRET, CRON_DEMO: "1" } });
  const auditSince = (id: number) => q<AuditRow & { id: number }>("SELECT id, actor, action, target, detail, ip_address FROM cron_audit_log WHERE id > $1 ORDER BY id", [id]);
  const lastAuditId = async () => Number((await q<{ id: number | null }>("SELECT max(id) AS id FROM cron_audit_log"))[0].id ?? 0);
  /** What a refused action must leave alone. */
  const snapshot = async () => ({
    logs: await q("SELECT id, status, completed_at, error_message FROM cron_job_logs ORDER BY id"),
    leases: await q("SELECT * FROM cron_job_leases ORDER BY job_name"),
    deadLetters: await q("SELECT * FROM cron_dead_letters ORDER BY id"),
    config: await q("SELECT * FROM cron_job_config ORDER BY job_name"),
    audit: await q("SELECT id FROM cron_audit_log ORDER BY id"),
  });

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    server = await startNextServer({ env: { DATABASE_URL: database.url, ADMIN_TOKEN, CRON_SECRET, CRON_DEMO: "1" } });
    // First use opens and migrates the database.
    const warm = await http("GET", "/api/admin/locks");
    expect(warm.status, warm.text).toBe(200);
  });

  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
  });

  it("pausing twice keeps the first reason and the time it was paused, in both", async () => {
    const from = await lastAuditId();
    const viaHttp = [await http("POST", "/api/admin/cron-jobs/demo-pulse/pause", { note: "vendor maintenance" }), await http("POST", "/api/admin/cron-jobs/demo-pulse/pause", {})];
    const viaCli = [await cli(["jobs", "pause", "demo-slow", "--note", "vendor maintenance", "--json"]), await cli(["jobs", "pause", "demo-slow", "--json"])];
    expect(viaHttp.map((r) => r.status)).toEqual([200, 200]);
    expect(viaCli.map((r) => r.code)).toEqual([0, 0]);
    expect(viaHttp.map((r) => r.body.changed)).toEqual([true, false]);
    expect(viaCli.map((r) => r.json.changed)).toEqual([true, false]);

    const [pulse, slow] = await q("SELECT job_name, paused, paused_reason, paused_at FROM cron_job_config WHERE job_name IN ('demo-pulse', 'demo-slow') ORDER BY job_name");
    expect(pulse).toMatchObject({ paused: true, paused_reason: "vendor maintenance" });
    expect(slow).toMatchObject({ paused: true, paused_reason: "vendor maintenance" });
    // The second pause left the time of the first.
    expect(viaCli.map((r) => r.json.pausedAt)).toEqual([new Date(slow.paused_at).toISOString(), new Date(slow.paused_at).toISOString()]);

    const audit = await auditSince(from);
    expect(audit).toHaveLength(4);
    const [h1, h2, c1, c2] = audit;
    expect([h1, h2].map((r) => [r.actor, r.ip_address])).toEqual([["api-token", "127.0.0.1"], ["api-token", "127.0.0.1"]]);
    expect([c1, c2].map((r) => [r.actor.startsWith("cli:"), r.ip_address])).toEqual([[true, null], [true, null]]);
    const jobs = { "demo-pulse": "<job>", "demo-slow": "<job>" };
    expect([sameness(h1, jobs), sameness(h2, jobs)]).toEqual([
      { action: "job.pause", target: "<job>", detail: { note: "vendor maintenance", changed: true }, via: "bearer" },
      { action: "job.pause", target: "<job>", detail: { note: null, changed: false }, via: "bearer" },
    ]);
    expect([sameness(c1, jobs), sameness(c2, jobs)]).toEqual([sameness(h1, jobs), sameness(h2, jobs)].map((r) => ({ ...r, via: "cli" })));
  });

  it("a live lease: both refuse without force and change nothing; with force both clear it and abandon its run alike", async () => {
    const seed = async (job: string) => {
      const [{ id }] = await q<{ id: string }>(`INSERT INTO cron_job_logs (job_name, status, started_at, holder, fencing_token) VALUES ($1, 'started', now() - interval '30 seconds', 'live-host:1', 9001) RETURNING id`, [job]);
      await q(`INSERT INTO cron_job_leases (job_name, run_id, fencing_token, holder, acquired_at, expires_at) VALUES ($1, $2, 9001, 'live-host:1', now() - interval '30 seconds', now() + interval '1 hour')`, [job, id]);
      return id;
    };
    const httpRun = await seed("health-check");
    const cliRun = await seed("cleanup-old-logs");

    const before = await snapshot();
    const [refusedHttp, refusedCli] = [await http("DELETE", "/api/admin/locks/health-check"), await cli(["locks", "clear", "cleanup-old-logs", "--json"])];
    expect(refusedHttp.status).toBe(409);
    expect(refusedHttp.body).toMatchObject({ success: false, code: "lock_live" });
    expect(refusedCli.code).toBe(1);
    expect(refusedCli.json.error.code).toBe("lock_live");
    // The same sentence, naming the fix for each channel.
    const sentence = (text: string) => text.replace(/expires in -?\d+s/, "expires in <n>s");
    expect(sentence(refusedCli.json.error.message)).toBe(sentence(refusedHttp.body.error.replace("health-check", "cleanup-old-logs")));
    expect(refusedHttp.body.error).toContain("?force=true");
    expect(refusedCli.json.error.message).toContain("--force");
    expect(await snapshot()).toEqual(before);

    const from = await lastAuditId();
    const [forcedHttp, forcedCli] = [await http("DELETE", "/api/admin/locks/health-check?force=true"), await cli(["locks", "clear", "cleanup-old-logs", "--force", "--json"])];
    expect(forcedHttp.status, forcedHttp.text).toBe(200);
    expect(forcedHttp.body).toMatchObject({ jobName: "health-check", runId: httpRun, holder: "live-host:1", wasStale: false, runAbandoned: true });
    expect(forcedCli.code, forcedCli.stderr).toBe(0);
    expect(forcedCli.json.cleared).toEqual([{ jobName: "cleanup-old-logs", runId: cliRun, holder: "live-host:1", acquiredAt: expect.any(String), runAbandoned: true }]);
    expect(await q("SELECT job_name FROM cron_job_leases")).toEqual([]);

    const runs = await q<{ id: string; status: string; error_message: string; lease_expires_at: unknown }>("SELECT id, status, error_message, lease_expires_at FROM cron_job_logs WHERE id IN ($1, $2)", [httpRun, cliRun]);
    const message = (id: string) => runs.find((r) => r.id === id)!.error_message;
    for (const r of runs) expect(r).toMatchObject({ status: "abandoned", lease_expires_at: null });
    expect(message(httpRun)).toMatch(/^cleared by api-token: the lease of holder live-host:1 \(taken .+ ago\) was still live$/);
    expect(message(cliRun)).toMatch(/^cleared by cli:\S+: the lease of holder live-host:1 \(taken .+ ago\) was still live$/);

    const audit = await auditSince(from);
    expect(audit).toHaveLength(2);
    const [h, c] = audit;
    const ids = { "health-check": "<job>", "cleanup-old-logs": "<job>", [httpRun]: "<run>", [cliRun]: "<run>" };
    expect(sameness(h, ids)).toEqual({
      action: "lock.clear",
      target: "<job>",
      detail: { runId: "<run>", holder: "live-host:1", wasStale: false, runAbandoned: true, forced: true },
      via: "bearer",
    });
    expect(sameness(c, ids)).toEqual({ ...sameness(h, ids), via: "cli" });
  });

  it("a replay at the replay limit: both refuse with replay_limit_reached and write nothing", async () => {
    const seed = async (job: string) => {
      const [{ id: runId }] = await q<{ id: string }>(`INSERT INTO cron_job_logs (job_name, status, completed_at, duration_ms, error_message) VALUES ($1, 'failed', now(), 10, 'poison') RETURNING id`, [job]);
      const [{ id }] = await q<{ id: string }>(`INSERT INTO cron_dead_letters (run_id, job_name, failure_reason, replay_count) VALUES ($1, $2, 'poison', 100) RETURNING id`, [runId, job]);
      return id;
    };
    const httpEntry = await seed("demo-flaky");
    const cliEntry = await seed("demo-flaky");

    const before = await snapshot();
    const refusedHttp = await http("POST", `/api/admin/dead-letter-queue/${httpEntry}/retry`, {});
    const refusedCli = await cli(["dlq", "replay", cliEntry, "--json"]);
    expect(refusedHttp.status).toBe(409);
    expect(refusedHttp.body).toMatchObject({ success: false, code: "replay_limit_reached" });
    expect(refusedCli.code).toBe(1);
    expect(refusedCli.json.error.code).toBe("replay_limit_reached");
    expect(refusedCli.json.error.message).toBe(refusedHttp.body.error.replace(httpEntry, cliEntry));
    expect(await snapshot()).toEqual(before);
  });
});
