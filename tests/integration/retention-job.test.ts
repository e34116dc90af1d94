import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { queryRows } from "@/lib/db/client";
import { runCli } from "../support/cli";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";

/**
 * The cleanup-old-logs job itself, run through the engine as `crondeck jobs run` runs it (a
 * child process on a fresh database of the Postgres server): its log lines name each table's
 * deleted and still-due rows, its output is the report, and a table's failure fails the run
 * while the other tables' deletes stay.
 */

let database: TestDatabase;
const rows = <T = Record<string, any>>(query: ReturnType<typeof sql>) => queryRows<T>(database.db, query);
const runJob = (env: Record<string, string> = {}) =>
  runCli(["jobs", "run", "cleanup-old-logs", "--json"], { env: { DATABASE_URL: database.url, CRON_SECRET: "retention-job-secret-0123456789", CRON_PLAN: "pro", ...env } });

describeWithPostgres("cleanup-old-logs job [postgres]", () => {
  beforeAll(async () => {
    database = await createTestDatabase("postgres");
  });
  afterAll(async () => {
    await database?.dispose();
  });

  it("deletes what each table's retention says and reports it per table in its log and output", async () => {
    await rows(sql`INSERT INTO cron_job_logs (job_name, status, started_at, duration_ms) SELECT 'old-job', 'completed', now() - interval '40 days' - g * interval '1 minute', 5 FROM generate_series(1, 5) g`);
    await rows(sql`INSERT INTO cron_job_logs (job_name, status, started_at) VALUES ('old-job', 'completed', now() - interval '1 day')`);
    await rows(sql`INSERT INTO cron_audit_log (actor, action, created_at) VALUES ('admin', 'job.pause', now() - interval '20 days'), ('admin', 'job.pause', now())`);
    await rows(sql`INSERT INTO cron_alerts (job_name, kind, channel, status, created_at) VALUES ('old-job', 'failure', 'slack', 'sent', now() - interval '10 days')`);
    const r = await runJob({ CRON_LOG_RETENTION_DAYS: "30", CRON_AUDIT_RETENTION_DAYS: "10", CRON_ALERT_RETENTION_DAYS: "5", CRON_CLEANUP_BATCH_SIZE: "2" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.run).toMatchObject({ jobName: "cleanup-old-logs", status: "completed" });
    const [run] = await rows<{ output: any; log_lines: unknown }>(sql`SELECT output, log_lines FROM cron_job_logs WHERE id = ${r.json.run.id}::uuid`);
    const output = typeof run.output === "string" ? JSON.parse(run.output) : run.output;
    expect(output).toMatchObject({ complete: true, deleted: 7, remaining: 0 });
    expect(output.tables.find((t: { table: string }) => t.table === "cron_job_logs")).toMatchObject({ status: "done", deleted: 5, batches: 3, retentionDays: 30 });
    const logText = JSON.stringify(run.log_lines);
    expect(logText).toContain("cron_job_logs: deleted 5 older than 30 days in 3 batches, 0 still due");
    expect(logText).toContain("cron_audit_log: deleted 1 older than 10 days in 1 batch, 0 still due");
    expect(logText).toContain("cron_alerts: deleted 1 older than 5 days in 1 batch, 0 still due");
    expect((await rows(sql`SELECT 1 FROM cron_job_logs WHERE job_name = 'old-job'`)).length).toBe(1);
  });

  it("fails the run when a table's batch fails, keeping what the other tables deleted", async () => {
    await rows(sql`INSERT INTO cron_audit_log (actor, action, created_at) VALUES ('admin', 'job.pause', now() - interval '400 days')`);
    await rows(sql`INSERT INTO cron_job_logs (job_name, status, started_at) VALUES ('retention-refuse', 'completed', now() - interval '400 days')`);
    await rows(sql.raw(`CREATE OR REPLACE FUNCTION retention_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF OLD.job_name = 'retention-refuse' THEN RAISE EXCEPTION 'retention test: this row refuses to go'; END IF; RETURN OLD; END $$`));
    await rows(sql`CREATE TRIGGER trg_retention_refuse BEFORE DELETE ON cron_job_logs FOR EACH ROW EXECUTE FUNCTION retention_refuse()`);
    try {
      // Its retries (2, 5 s and 10 s apart, slept in this process) fail the same way.
      const r = await runJob();
      expect(r.code).toBe(1);
      const [run] = await rows<{ status: string; error_message: string }>(
        sql`SELECT status, error_message FROM cron_job_logs WHERE job_name = 'cleanup-old-logs' ORDER BY started_at DESC LIMIT 1`,
      );
      expect(run.status).toBe("failed");
      expect(run.error_message).toContain("retention failed for cron_job_logs");
      expect(run.error_message).toContain("this row refuses to go");
      expect(run.error_message).not.toMatch(/DELETE|Failed query/);
      expect((await rows(sql`SELECT 1 FROM cron_audit_log WHERE created_at < now() - interval '365 days'`)).length).toBe(0);
    } finally {
      await rows(sql`DROP TRIGGER IF EXISTS trg_retention_refuse ON cron_job_logs`);
    }
  });
});
