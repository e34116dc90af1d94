import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresRunStore } from "@/lib/db/run-store";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";
import { fetchReply, type FetchReply } from "../support/http";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";
import { LEDGER_SQL } from "../faults/harness";

/**
 * What the execute route answers when a run's lease or its result write goes wrong, over real
 * HTTP (`next start`), with the app reaching Postgres through a TCP proxy that can refuse
 * connections. The fault jobs (CRONDECK_FAULT_JOBS=1: lease 10 s, timeout 5 s or 30 s) record
 * what their handlers really did in fault_ledger over a direct connection.
 */



const SECRET = `crondeck-${randomBytes(24).toString("hex")}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Reply = FetchReply;

function trigger(base: string, jobName: string): Promise<Reply> {
  return fetchReply(`${base}/api/cron/execute/${jobName}`, { method: "POST", headers: { authorization: `Bearer ${SECRET}` }, timeoutMs: 60_000 });
}

describeWithPostgres("the execute route when the lease or the result write fails", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let proxy: TcpProxy;
  let server: NextServer;

  const control = (job: string, holdMs: number, obey: boolean) =>
    pool.query(
      `INSERT INTO fault_control (job_name, hold_ms, obey) VALUES ($1, $2, $3)
       ON CONFLICT (job_name) DO UPDATE SET hold_ms = excluded.hold_ms, obey = excluded.obey`,
      [job, holdMs, obey],
    );
  const startedRun = async (job: string) => {
    for (let i = 0; i < 200; i++) {
      const { rows } = await pool.query("SELECT run_id FROM fault_ledger WHERE job_name = $1 ORDER BY id DESC LIMIT 1", [job]);
      if (rows[0]) return rows[0].run_id as string;
      await sleep(25);
    }
    throw new Error(`${job}'s handler never started`);
  };
  const runRow = async (id: string) => (await pool.query("SELECT * FROM cron_job_logs WHERE id = $1", [id])).rows[0];

  beforeAll(async () => {
    database = await createTestDatabase("postgres");
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    await pool.query(LEDGER_SQL);
    const target = new URL(database.url!);
    proxy = await startTcpProxy({ target: { host: target.hostname, port: Number(target.port || 5432) } });
    server = await startNextServer({
      env: { DATABASE_URL: proxy.url(database.url!), CRON_SECRET: SECRET, CRONDECK_FAULT_JOBS: "1", CRONDECK_FAULT_LEDGER_URL: database.url },
    });
    const warm = await fetch(`${server.url}/api/cron/jobs/fault-a`, { headers: { authorization: `Bearer ${SECRET}` } });
    expect(warm.status, await warm.text()).toBe(200);
  });

  afterAll(async () => {
    proxy?.heal();
    await server?.stop();
    await proxy?.close();
    await pool?.end();
    await database?.dispose();
  });

  it("answers 409 lease_lost naming the run that took over; the handler was told through its signal; the attempts say so", async () => {
    await control("fault-long", 6_000, false); // works on past its signal
    const pending = trigger(server.url, "fault-long");
    const mine = await startedRun("fault-long");
    // Another instance takes the job over, as after a freeze past the lease.
    await pool.query("UPDATE cron_job_leases SET expires_at = now() - interval '1 second' WHERE job_name = 'fault-long'");
    const newer = await new PostgresRunStore(database.db).claim({
      jobName: "fault-long", trigger: "manual", scheduledFor: null, dedupeKey: null, overlap: "skip", enabledByDefault: true, checkState: false,
      leaseMs: 60_000, holder: "other-host:2", codeVersion: null, actor: null,
    });
    expect(newer.outcome).toBe("claimed");
    const reply = await pending;
    expect(reply.status, reply.text).toBe(409);
    expect(reply.body).toMatchObject({ success: false, code: "lease_lost", jobName: "fault-long", takenOverBy: newer.runId, execution: { id: mine } });
    expect(reply.body.error).toContain(newer.runId);
    expect(reply.text).not.toMatch(/\n\s+at /);
    const ledger = (await pool.query("SELECT told_reason FROM fault_ledger WHERE run_id = $1", [mine])).rows[0];
    expect(ledger.told_reason).toMatch(/^lease lost: another holder took this job over/);
    const row = await runRow(mine);
    expect(row.status).toBe("abandoned");
    expect(row.attempt_details).toEqual([expect.objectContaining({ attempt: 1, leaseLost: true, takenOverBy: newer.runId })]);
  });

  it("retries the finish through a 2-second database outage and answers 200 completed", async () => {
    await control("fault-a", 1_000, true);
    const pending = trigger(server.url, "fault-a");
    const mine = await startedRun("fault-a");
    await sleep(300);
    proxy.refuse(); // the handler ends and its finish fails meanwhile
    await sleep(2_000);
    proxy.heal();
    const reply = await pending;
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body).toMatchObject({ success: true, execution: { id: mine, status: "completed" } });
    expect((await runRow(mine)).status).toBe("completed");
    expect((await pool.query("SELECT 1 FROM cron_job_leases WHERE job_name = 'fault-a'")).rows).toHaveLength(0);
  });

  it("answers 503 result_unrecorded (not 'Nothing ran') when the result cannot be written, and leaves the run for the sweep", async () => {
    await control("fault-b", 800, true);
    const pending = trigger(server.url, "fault-b");
    const mine = await startedRun("fault-b");
    await sleep(300);
    proxy.refuse();
    const reply = await pending;
    proxy.heal();
    expect(reply.status, reply.text).toBe(503);
    expect(reply.body).toMatchObject({ success: false, code: "result_unrecorded", jobName: "fault-b", execution: { id: mine, status: "completed" } });
    expect(reply.body.error).not.toMatch(/Nothing ran/);
    expect(reply.text).not.toMatch(/\n\s+at |postgres:\/\//);
    const ledger = (await pool.query("SELECT outcome FROM fault_ledger WHERE run_id = $1", [mine])).rows[0];
    expect(ledger.outcome).toBe("ok"); // the handler did run to its end
    const row = await runRow(mine);
    expect(row.status).toBe("started"); // unwritten; its lease was not freed, so the sweep closes it
    expect(row.lease_expires_at).not.toBeNull();
    expect(server.output()).not.toMatch(/\n\s+at .*run-job/);
  }, 60_000);
});
