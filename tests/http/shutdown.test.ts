import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, startNpmStart } from "../support/next-server";

/**
 * Graceful shutdown of a real `next start` (with NEXT_MANUAL_SIG_HANDLE, as `npm start` sets
 * it): new triggers get 503, a job that finishes within the grace period completes, one that
 * does not is marked interrupted with its lease freed, and the statistics are printed.
 */
const SECRET = `crondeck-${randomBytes(24).toString("hex")}`;
const AUTH = { authorization: `Bearer ${SECRET}` };

// Statements on the database the server writes while it drains: a Postgres server.
describeWithPostgres("graceful shutdown of next start", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase("postgres");
  });
  afterAll(async () => {
    await database?.dispose();
  });

  const serverEnv = (slowMs: number, graceSeconds: number) => ({
    DATABASE_URL: database.url,
    CRON_SECRET: SECRET,
    CRON_DEMO: "1",
    CRON_DEMO_SLOW_MS: String(slowMs),
    CRON_SHUTDOWN_GRACE_SECONDS: String(graceSeconds),
    NEXT_MANUAL_SIG_HANDLE: "true",
  });

  async function rows(sql: string) {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  }

  it("lets a running job finish within the grace period, refuses new triggers meanwhile, and prints statistics", async () => {
    const server = await startNextServer({ env: serverEnv(2_500, 10) });
    await fetch(`${server.url}/api/cron/execute/health-check`, { method: "POST", headers: AUTH }).then((r) => r.text());
    const running = fetch(`${server.url}/api/cron/execute/demo-slow`, { method: "POST", headers: AUTH }).then(async (r) => ({ status: r.status, body: await r.json() }));
    await new Promise((r) => setTimeout(r, 700));
    const exited = server.stop("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    const refused = await fetch(`${server.url}/api/cron/execute/health-check`, { method: "POST", headers: AUTH });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ code: "shutting_down" });
    const finished = await running;
    expect(finished.status).toBe(200);
    expect(finished.body.execution.status).toBe("completed");
    expect(await exited).toBe(0);
    expect(server.output()).toMatch(/jobs executed:\s+2/);
    expect(server.output()).toMatch(/completed:\s+2/);
    expect(server.output()).toMatch(/success rate:\s+100\.0%/);
    const [run] = await rows(`SELECT status FROM cron_job_logs WHERE job_name = 'demo-slow' ORDER BY started_at DESC LIMIT 1`);
    expect(run.status).toBe("completed");
  });

  it("marks a job still running after the grace period as interrupted, frees its lease, answers its caller and counts it", async () => {
    const server = await startNextServer({ env: serverEnv(4_500, 1) });
    await fetch(`${server.url}/api/cron/execute/health-check`, { method: "POST", headers: AUTH }).then((r) => r.text());
    // The caller of the interrupted run must get an answer, not a connection reset.
    const pending = fetch(`${server.url}/api/cron/execute/demo-slow`, { method: "POST", headers: AUTH }).then(
      async (r) => ({ status: r.status, body: await r.json() }),
      (error: Error) => ({ status: 0, body: { reset: String(error.cause ?? error) } }),
    );
    await new Promise((r) => setTimeout(r, 800));
    const started = Date.now();
    expect(await server.stop("SIGTERM")).toBe(0);
    expect(Date.now() - started).toBeLessThan(4_000);
    const [run] = await rows(`SELECT id, status, error_message, lease_expires_at FROM cron_job_logs WHERE job_name = 'demo-slow' ORDER BY started_at DESC LIMIT 1`);
    const answer = await pending;
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ success: false, code: "interrupted", details: { runIds: [run.id], status: "abandoned" } });
    expect(run.status).toBe("abandoned");
    expect(run.error_message).toBe("interrupted: the server shut down and the handler did not finish within the 1s grace period");
    expect(run.lease_expires_at).toBeNull();
    expect(await rows(`SELECT * FROM cron_job_leases WHERE job_name = 'demo-slow'`)).toEqual([]);
    expect(server.output()).toMatch(/marked 1 run\(s\) interrupted/);
    // An interrupted run is a failure like any abandoned one: it counts toward the failure streak.
    const [state] = await rows(`SELECT consecutive_failures FROM cron_job_config WHERE job_name = 'demo-slow'`);
    expect(state.consecutive_failures).toBe(1);
    // The interrupted run is in the statistics: executed counts it, the success rate too.
    expect(server.output()).toMatch(/jobs executed:\s+2\n/);
    expect(server.output()).toMatch(/completed:\s+\d+\n/);
    expect(server.output()).toMatch(/interrupted:\s+1\n/);
    expect(server.output()).toMatch(/locks acquired:\s+2\n/);
    expect(server.output()).not.toMatch(/success rate:\s+100\.0%/);
  });

  /** The pids of a process and all its descendants (from ps). */
  async function processTree(rootPid: number): Promise<number[]> {
    const { execFileSync } = await import("node:child_process");
    const table = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((line) => line.trim().split(/\s+/).map(Number));
    const pids = [rootPid];
    for (let i = 0; i < pids.length; i++) for (const [pid, ppid] of table) if (ppid === pids[i]) pids.push(pid);
    return pids;
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it("SIGTERM to the npm start process drains the server (the process a supervisor signals is the one that drains)", async () => {
    const server = await startNpmStart({ env: { ...serverEnv(2_500, 10), NEXT_MANUAL_SIG_HANDLE: undefined } });
    const npmPid = server.process.pid!;
    const tree = await processTree(npmPid);
    expect(tree.length).toBeGreaterThan(1);
    await fetch(`${server.url}/api/cron/execute/health-check`, { method: "POST", headers: AUTH }).then((r) => r.text());
    const running = fetch(`${server.url}/api/cron/execute/demo-slow`, { method: "POST", headers: AUTH }).then(async (r) => ({ status: r.status, body: await r.json() }));
    // Signal while the run is in its handler (its row is started), however slow the machine is.
    for (let i = 0; i < 100; i++) {
      const [row] = await rows(`SELECT status FROM cron_job_logs WHERE job_name = 'demo-slow' ORDER BY started_at DESC LIMIT 1`);
      if (row?.status === "started") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // What a supervisor does: SIGTERM to the pid it started (npm's), nothing else.
    process.kill(npmPid, "SIGTERM");
    const finished = await running;
    expect(finished.status).toBe(200);
    expect(finished.body.execution.status).toBe("completed");
    expect(await server.stop()).toBe(0);
    expect(server.output()).toMatch(/SIGTERM: no new triggers/);
    expect(server.output()).toMatch(/Crondeck statistics for this process:/);
    expect(server.output()).toMatch(/completed:\s+2\n/);
    // Nothing is left running: not npm, not a shell, not next-server.
    await new Promise((r) => setTimeout(r, 300));
    expect(tree.filter(alive)).toEqual([]);
    await expect(fetch(`${server.url}/api/health`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  });
});
