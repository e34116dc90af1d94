import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { rawRequest, type RawReply } from "../support/http";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/db";
import { startNextServer, type NextServer } from "../support/next-server";

/**
 * Job dependencies over real HTTP (`next start`, the feature jobs' ETL chain, a fresh database of
 * the Postgres server), the slots triggered as the tick triggers them: a dependent slot answers
 * 202 waiting while its upstream runs and runs once it completed; when the upstream failed for
 * good it is skipped upstream_failed once (the chain below it too); the dead-letter replay of
 * the upstream that succeeds queues it, and the tick runs it. GET .../dependencies says why;
 * bad queries are 400s naming the field.
 */

const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;
const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;
const BEARER = { authorization: `Bearer ${ADMIN_TOKEN}` };
const CRON = { authorization: `Bearer ${CRON_SECRET}` };
/** feature-extract runs 8 s on the 14th, fails on the 13th (lib/jobs/feature-jobs/dependencies.ts). */
const SLOW = "2026-11-14T03:17:00.000Z";
const FAILING = "2026-11-13T03:17:00.000Z";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithPostgres("job dependencies over HTTP on a Postgres server", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: NextServer;
  const call = (method: string, path: string, headers: Record<string, string> = BEARER): Promise<RawReply> => rawRequest(server.url, method, path, { headers });
  const slot = (job: string, at: string, trigger = "tick") => call("POST", `/api/cron/execute/${job}?trigger=${trigger}&slot=${encodeURIComponent(at)}`, CRON);
  const rows = async (job: string, at: string) =>
    (await pool.query("SELECT status, skip_reason, trigger FROM cron_job_logs WHERE job_name = $1 AND scheduled_for = $2 ORDER BY started_at, id", [job, at])).rows as Array<{ status: string; skip_reason: string | null; trigger: string }>;
  async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await read();
      if (ok(v)) return v;
      if (Date.now() > end) throw new Error(`${what}: still ${JSON.stringify(v)}`);
      await sleep(200);
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase("postgres", { migrate: false });
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    server = await startNextServer({ env: { DATABASE_URL: database.url, ADMIN_TOKEN, CRON_SECRET, CRONDECK_FEATURE_JOBS: "1" } });
    const warm = await call("GET", "/api/admin/cron-jobs");
    expect(warm.status, warm.text).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
    await pool?.end();
    await database?.dispose();
  });

  it("a dependent slot waits (202, nothing recorded) while its upstream runs, and runs once it completed; two upstreams on another schedule", async () => {
    const extract = slot("feature-extract", SLOW, "catchup");
    await until("extract started", () => rows("feature-extract", SLOW), (r) => r.some((x) => x.status === "started"));
    const waiting = await slot("feature-transform", SLOW);
    expect(waiting.status, waiting.text).toBe(202);
    expect(waiting.body).toMatchObject({ waiting: true, execution: { id: null, status: "waiting", scheduledFor: SLOW } });
    expect(await rows("feature-transform", SLOW)).toEqual([]);
    const view = await call("GET", `/api/admin/cron-jobs/feature-transform/dependencies?before=${SLOW}&slots=1`);
    expect(view.status, view.text).toBe(200);
    expect(view.body).toMatchObject({ jobName: "feature-transform", dependsOn: ["feature-extract"], dependents: ["feature-load"], chain: ["feature-extract", "feature-transform", "feature-load", "feature-publish"] });
    expect(view.body.slots[0]).toMatchObject({ slot: SLOW, status: null, upstreamState: "waiting", upstreams: [{ jobName: "feature-extract", state: "waiting" }] });
    expect(view.body.slots[0].reason).toMatch(/^waiting for feature-extract \(running since \d\d:\d\d:\d\d\)$/);

    expect((await extract).status).toBe(200);
    const ran = await slot("feature-transform", SLOW);
    expect(ran.body).toMatchObject({ success: true, execution: { status: "completed" } });
    expect((await slot("feature-load", SLOW)).body).toMatchObject({ execution: { status: "completed" } });
    // feature-publish (03:30) waits for feature-load and feature-extract's latest slot at or before it: their 03:17.
    expect((await slot("feature-publish", "2026-11-14T03:30:00.000Z")).body).toMatchObject({ execution: { status: "completed" } });
  }, 60_000);

  it("skips upstream_failed once down the chain when the upstream failed; the replay that succeeds queues the slot and the tick runs it", async () => {
    expect((await slot("feature-extract", FAILING, "catchup")).body).toMatchObject({ execution: { status: "failed" } });
    expect((await slot("feature-transform", FAILING)).body).toMatchObject({ skipped: true, reason: "upstream_failed" });
    expect((await slot("feature-transform", FAILING)).body).toMatchObject({ skipped: true, reason: "duplicate" });
    expect((await slot("feature-load", FAILING)).body).toMatchObject({ skipped: true, reason: "upstream_failed" });
    expect((await rows("feature-transform", FAILING)).map((r) => r.skip_reason)).toEqual(["upstream_failed", "duplicate"]);
    const view = await call("GET", `/api/admin/cron-jobs/feature-transform/dependencies?before=${FAILING}&slots=1`);
    expect(view.body.slots[0]).toMatchObject({ skippedUpstreamFailed: true, upstreamState: "failed", reason: "skipped: feature-extract failed for 2026-11-13 03:17 UTC (failed)" });

    const list = await call("GET", "/api/admin/dead-letter-queue?job=feature-extract");
    expect(list.status, list.text).toBe(200);
    const entry = list.body.entries.find((e: { scheduledFor: string | null }) => e.scheduledFor === FAILING);
    expect(entry, list.text).toBeDefined();
    const replay = await rawRequest(server.url, "POST", `/api/admin/dead-letter-queue/${entry.id}/retry`, { headers: { ...BEARER, "content-type": "application/json" }, body: "{}" });
    expect(replay.status, replay.text).toBe(202);
    await until("the replay completed", () => rows("feature-extract", FAILING), (r) => r.some((x) => x.trigger === "replay" && x.status === "completed"));
    // The replay's observers queued the skipped slot (next_retry_at on its skip row)...
    await until("the slot queued", async () => (await pool.query("SELECT next_retry_at FROM cron_job_logs WHERE job_name = 'feature-transform' AND skip_reason = 'upstream_failed'")).rows[0]?.next_retry_at, (v) => !!v);
    // ...and the tick dispatches it as a catch-up, which the gate now lets through.
    const tick = await call("GET", "/api/cron/tick", CRON);
    expect(tick.status, tick.text).toBe(200);
    const after = await until("transform ran its slot", () => rows("feature-transform", FAILING), (r) => r.some((x) => x.status === "completed"));
    expect(after.map((r) => `${r.status}:${r.trigger}`)).toEqual(["skipped:tick", "skipped:tick", "completed:catchup"]);
  }, 90_000);

  it("answers a bad query with a 400 naming the field, an unknown job with a 404, a job without dependencies with its dependents", async () => {
    const zero = await call("GET", "/api/admin/cron-jobs/feature-transform/dependencies?slots=0");
    expect(zero.status).toBe(400);
    expect(zero.body).toMatchObject({ success: false, code: expect.any(String), field: "slots" });
    expect(zero.body.error).toContain("slots");
    const before = await call("GET", "/api/admin/cron-jobs/feature-transform/dependencies?before=yesterday");
    expect(before.status).toBe(400);
    expect(before.body).toMatchObject({ field: "before" });
    const unknown = await call("GET", "/api/admin/cron-jobs/feature-transform/dependencies?slot=5");
    expect(unknown.status).toBe(400);
    expect((await call("GET", "/api/admin/cron-jobs/no-such-job/dependencies")).status).toBe(404);
    expect((await call("GET", "/api/admin/cron-jobs/feature-transform/dependencies", {})).status).toBe(401);
    const top = await call("GET", "/api/admin/cron-jobs/feature-extract/dependencies");
    expect(top.body).toMatchObject({ dependsOn: [], dependents: ["feature-transform", "feature-publish"], slots: [] });
  });
});
