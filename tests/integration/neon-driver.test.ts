import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, queryRows, targetFromEnv, type Database } from "@/lib/db/client";
import { migrate } from "@/lib/db/migrate";
import { cronJobLogs } from "@/lib/db/schema";
import { createTestDatabase, describeWithPostgres, serverUrl, type TestDatabase } from "../support/db";
import { configureNeonForProxy, startNeonProxy, type NeonProxy } from "../support/neon-ws-proxy";

describe("targetFromEnv", () => {
  const PGLITE_DIR = ".data/pglite";

  it("picks neon for POSTGRES_URL (Vercel Postgres)", () => {
    const url = "postgres://default:secret@ep-quiet-sun-123456-pooler.us-east-1.aws.neon.tech:5432/verceldb?sslmode=require";
    expect(targetFromEnv({ POSTGRES_URL: url, PGLITE_DIR })).toEqual({ kind: "neon", url });
  });

  it("picks neon for a DATABASE_URL on a *.neon.tech host", () => {
    const url = "postgresql://app:secret@ep-cool-darkness-123456.eu-central-1.aws.neon.tech/neondb?sslmode=require";
    expect(targetFromEnv({ DATABASE_URL: url, PGLITE_DIR })).toEqual({ kind: "neon", url });
  });

  it("picks postgres for a plain DATABASE_URL", () => {
    const url = "postgres://postgres@127.0.0.1:5432/crondeck";
    expect(targetFromEnv({ DATABASE_URL: url, PGLITE_DIR })).toEqual({ kind: "postgres", url });
  });
});

describeWithPostgres("neon-serverless driver through a local WebSocket proxy", () => {
  let proxy: NeonProxy | undefined;
  let server: TestDatabase | undefined;
  let neon: Database | undefined;

  const db = () => {
    if (!neon) throw new Error("the neon handle is not open");
    return neon.db;
  };

  beforeAll(async () => {
    const { hostname, port } = new URL(serverUrl()!);
    proxy = await startNeonProxy({ pgHost: hostname || "127.0.0.1", pgPort: port ? Number(port) : 5432 });
    configureNeonForProxy(proxy.port);
    server = await createTestDatabase("postgres", { migrate: false });
    neon = await openDatabase({ kind: "neon", url: server.url! });
  });

  afterAll(async () => {
    await neon?.close();
    await server?.dispose();
    await proxy?.close();
  });

  it("opens a neon handle and talks to the server", async () => {
    expect(neon?.kind).toBe("neon");
    const [row] = await queryRows<{ db: string; one: number }>(db(), sql`SELECT current_database() AS db, 1::int AS one`);
    expect(row).toEqual({ db: new URL(server!.url!).pathname.slice(1), one: 1 });
  });

  it("migrates through the neon handle, once", async () => {
    const applied = await migrate(db());
    expect(applied.length).toBeGreaterThan(0);
    expect(await migrate(db())).toEqual([]);
    // The server side (node-postgres) sees the same tables.
    const rows = await queryRows<{ n: number }>(server!.db, sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`);
    expect(rows[0].n).toBe(applied.length);
  });

  it("inserts and reads back a cron_job_logs row", async () => {
    const scheduledFor = new Date("2025-01-02T03:04:00.000Z");
    const [inserted] = await db()
      .insert(cronJobLogs)
      .values({
        jobName: "neon-insert",
        status: "completed",
        durationMs: 42,
        scheduledFor,
        dedupeKey: `slot:${scheduledFor.toISOString()}`,
        output: { ok: true, items: [1, 2, 3] },
      })
      .returning();
    expect(inserted.id).toMatch(/^[0-9a-f-]{36}$/);

    const [read] = await db().select().from(cronJobLogs).where(eq(cronJobLogs.id, inserted.id));
    expect(read).toMatchObject({
      jobName: "neon-insert",
      status: "completed",
      durationMs: 42,
      trigger: "schedule",
      attempts: 1,
      dedupeKey: "slot:2025-01-02T03:04:00.000Z",
      output: { ok: true, items: [1, 2, 3] },
    });
    expect(read.scheduledFor).toEqual(scheduledFor);
    expect(read.startedAt).toBeInstanceOf(Date);

    // And the plain Postgres handle sees the same row.
    const [viaPg] = await server!.db.select().from(cronJobLogs).where(eq(cronJobLogs.id, inserted.id));
    expect(viaPg.jobName).toBe("neon-insert");
  });

  it("rolls a transaction back", async () => {
    const rollback = new Error("roll back");
    await expect(
      db().transaction(async (tx) => {
        await tx.insert(cronJobLogs).values({ jobName: "neon-rollback", status: "started" });
        const inside = await tx.select().from(cronJobLogs).where(eq(cronJobLogs.jobName, "neon-rollback"));
        expect(inside).toHaveLength(1);
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await db().select().from(cronJobLogs).where(eq(cronJobLogs.jobName, "neon-rollback"))).toEqual([]);

    // tx.rollback() takes the same path.
    await expect(
      db().transaction(async (tx) => {
        await tx.insert(cronJobLogs).values({ jobName: "neon-rollback", status: "started" });
        tx.rollback();
      }),
    ).rejects.toThrow();
    expect(await db().select().from(cronJobLogs).where(eq(cronJobLogs.jobName, "neon-rollback"))).toEqual([]);
  });

  it("commits a transaction", async () => {
    await db().transaction(async (tx) => {
      await tx.insert(cronJobLogs).values({ jobName: "neon-commit", status: "started" });
    });
    expect(await db().select().from(cronJobLogs).where(eq(cronJobLogs.jobName, "neon-commit"))).toHaveLength(1);
  });
});
