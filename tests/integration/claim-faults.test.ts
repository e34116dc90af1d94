import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "drizzle-orm";
import IORedis from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { QUEUE_DROP_MARGIN_MS } from "@/lib/cron/claim";
import { defineJob, type JobConfig } from "@/lib/cron/define-job";
import type { OverlapPolicy } from "@/lib/cron/vocabulary";
import { runTrigger, type EngineDeps, type TriggerOutcome } from "@/lib/cron/run-job";
import type { ClaimInput, RunStore } from "@/lib/cron/run-store";
import { queryRows, type Db } from "@/lib/db/client";
import { PostgresRunStore } from "@/lib/db/run-store";
import { sweepExpiredLeases } from "@/lib/db/sweep";
import { createUpstashRedis, RedisLeaseStore, RedisStoreError } from "@/lib/locks/redis-lease-store";
import { toErrorResponse } from "@/lib/http/http";
import { describeOnDatabases } from "../support/db";
import { startUpstashRestServer, type UpstashRestServer } from "../support/upstash-rest";

/**
 * The claim phase under faults, against a real database (PGlite and the Postgres server) and
 * the real Redis: a claim whose reply is lost, a queued bufferOne/replace waiter that fails,
 * loses the database, is shut down or died, and a Redis pre-lock that is stale or broken.
 * Faults are injected by wrapping the real run store, so every statement still runs for real.
 */

let counter = 0;
const uniqueName = () => `claim-faults-${process.pid}-${++counter}-${randomBytes(2).toString("hex")}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function job(overrides: Partial<JobConfig> = {}) {
  return defineJob({ name: uniqueName(), schedule: "*/5 * * * *", handler: async () => "ok", ...overrides });
}

/** What node-postgres throws when the server's side of the socket goes away mid-reply. */
const connectionReset = () => Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", errno: -104, syscall: "read" });

/** The real store with some methods replaced; everything else goes straight through. */
function faulty(base: RunStore, patch: Partial<RunStore>): RunStore {
  return new Proxy(base, {
    get(target, property, receiver) {
      if (property in patch) return patch[property as keyof RunStore];
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Counts every call to the store: each method is one database round trip. */
function counting(base: RunStore): { store: RunStore; calls: string[] } {
  const calls: string[] = [];
  const store = new Proxy(base, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return value.apply(target, args);
      };
    },
  });
  return { store, calls };
}

const ran = (o: TriggerOutcome) => {
  if (o.kind !== "ran") throw new Error(`expected a run, got a skip (${o.reason})`);
  return o.run;
};

interface Row {
  id: string;
  status: string;
  skip_reason: string | null;
  error_message: string | null;
  fencing_token: string | null;
  lease_expires_at: Date | null;
  code_version: string | null;
}

describeOnDatabases("claim faults", (ctx) => {
  let store: PostgresRunStore;
  let deps: EngineDeps;
  beforeEach(() => {
    store = new PostgresRunStore(ctx.db);
    deps = { runs: store, holder: "claim-faults:1", codeVersion: "v1", settleGraceMs: 50, queuePollMs: 20 };
  });

  const rowsOf = (db: Db, jobName: string) =>
    queryRows<Row>(db, sql`SELECT id, status, skip_reason, error_message, fencing_token, lease_expires_at, code_version FROM cron_job_logs WHERE job_name = ${jobName} ORDER BY created_at, started_at`);
  const queuedRows = async (jobName: string) => (await rowsOf(ctx.db, jobName)).filter((r) => r.status === "queued");

  const claimInput = (jobName: string, overlap: OverlapPolicy, extra: Partial<ClaimInput> = {}): ClaimInput => ({
    jobName,
    trigger: "manual",
    scheduledFor: null,
    dedupeKey: null,
    overlap,
    enabledByDefault: true,
    checkState: false,
    leaseMs: 60_000,
    holder: "another-instance:7",
    codeVersion: null,
    actor: null,
    ...extra,
  });

  /** A run of another instance holding the job's lease, as a real claim makes it. */
  async function holdLease(jobName: string) {
    const claim = await store.claim(claimInput(jobName, "skip"));
    if (claim.outcome !== "claimed") throw new Error(`setup: the blocker was not claimed (${claim.outcome})`);
    return claim;
  }
  async function freeLease(jobName: string, claim: { runId: string; fencingToken: number }) {
    await store.releaseLease(claim.runId, claim.fencingToken);
    await ctx.db.execute(sql`UPDATE cron_job_logs SET status = 'completed', completed_at = now(), attempts = 1 WHERE id = ${claim.runId}::uuid`);
    void jobName;
  }
  /** The next trigger of a queueing job finds the job's one queued place free. */
  async function expectQueueFree(jobName: string, overlap: OverlapPolicy) {
    const next = await store.claim(claimInput(jobName, overlap));
    expect(next.outcome).toBe("queued");
    if (next.outcome === "queued") await store.dropQueued(next.runId, "another-instance:7");
  }

  // ---- Item: a claim that commits but whose reply is lost ---------------------------------

  describe("a claim whose reply is lost", () => {
    it("still runs the handler exactly once, and the slot has exactly one run row", async () => {
      let calls = 0;
      const j = job({ handler: async () => { calls++; return "done"; } });
      let lost = 0;
      deps.runs = faulty(store, {
        claim: async (input) => {
          const result = await store.claim(input);
          if (lost++ === 0) throw connectionReset(); // committed, then the reply was lost
          return result;
        },
      });
      const slot = new Date("2026-11-24T10:00:00Z");
      const run = ran(await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 }));
      expect(run.status).toBe("completed");
      expect(calls).toBe(1);
      expect(lost).toBe(2); // the first try and the one retry with the same id
      const rows = await rowsOf(ctx.db, j.name);
      expect(rows.map((r) => r.status)).toEqual(["completed"]);
      expect(rows[0].id).toBe(run.id);

      // A genuinely different second delivery of the slot is still a duplicate.
      deps.runs = store;
      const again = await runTrigger(deps, { job: j, trigger: "schedule", scheduledFor: slot, budgetMs: 60_000 });
      expect(again).toMatchObject({ kind: "skipped", reason: "duplicate" });
      expect(calls).toBe(1);
      expect((await rowsOf(ctx.db, j.name)).map((r) => r.status)).toEqual(["completed", "skipped"]);
    });

    it("gives the caller its own claim back for the same id, and a duplicate to anyone else", async () => {
      const jobName = uniqueName();
      const slot = new Date("2026-11-24T11:00:00Z");
      const dedupeKey = `slot:${slot.toISOString()}`;
      const runId = randomUUID();
      const input = claimInput(jobName, "skip", { trigger: "schedule", scheduledFor: slot, dedupeKey, runId, holder: "me:1" });
      const first = await store.claim(input);
      expect(first.outcome).toBe("claimed");
      const again = await store.claim(input);
      expect(again).toMatchObject({ outcome: "claimed", runId, fencingToken: first.outcome === "claimed" ? first.fencingToken : -1 });
      // Another delivery (its own id) and another holder naming the same id are duplicates.
      expect(await store.claim({ ...input, runId: randomUUID() })).toMatchObject({ outcome: "skipped", reason: "duplicate" });
      const stranger = await store.claim({ ...input, holder: "someone-else:2" });
      expect(stranger).toMatchObject({ outcome: "skipped", reason: "duplicate" });
      expect(stranger.runId).not.toBe(runId);
      // Once its handler ran (a finish wrote attempts), the id is no longer an unused claim.
      await ctx.db.execute(sql`UPDATE cron_job_logs SET attempts = 1 WHERE id = ${runId}::uuid`);
      expect(await store.claim(input)).toMatchObject({ outcome: "skipped", reason: "duplicate" });
      const rows = await rowsOf(ctx.db, jobName);
      expect(rows.filter((r) => r.status === "started")).toHaveLength(1);
    });

    it("gives the same claim to a retry that races its first try (whose statement still ran)", async () => {
      const jobName = uniqueName();
      const slot = new Date("2026-11-24T12:00:00Z");
      const input = claimInput(jobName, "skip", { trigger: "schedule", scheduledFor: slot, dedupeKey: `slot:${slot.toISOString()}`, runId: randomUUID(), holder: "me:1" });
      const results = await Promise.all([store.claim(input), store.claim(input), store.claim(input)]);
      for (const r of results) expect(r).toMatchObject({ outcome: "claimed", runId: input.runId });
      expect(new Set(results.map((r) => (r.outcome === "claimed" ? r.fencingToken : null))).size).toBe(1);
      expect(await rowsOf(ctx.db, jobName)).toHaveLength(1);
    });

    it("answers a repeated queued claim and a repeated skip with the same row", async () => {
      const jobName = uniqueName();
      const blocker = await holdLease(jobName);
      const queuedId = randomUUID();
      const queued = claimInput(jobName, "bufferOne", { runId: queuedId, holder: "me:1" });
      expect(await store.claim(queued)).toMatchObject({ outcome: "queued", runId: queuedId });
      expect(await store.claim(queued)).toMatchObject({ outcome: "queued", runId: queuedId });
      const skipId = randomUUID();
      const skip = claimInput(jobName, "skip", { runId: skipId, holder: "me:1" });
      expect(await store.claim(skip)).toMatchObject({ outcome: "skipped", reason: "already_running", runId: skipId });
      expect(await store.claim(skip)).toMatchObject({ outcome: "skipped", reason: "already_running", runId: skipId });
      const rows = await rowsOf(ctx.db, jobName);
      expect(rows).toHaveLength(3);
      await store.dropQueued(queuedId, "me:1");
      await freeLease(jobName, blocker);
    });
  });

  // ---- Item: a queued bufferOne/replace run is never left queued --------------------------

  describe("a queued run's wait", () => {
    for (const overlap of ["bufferOne", "replace"] as const) {
      it(`drops its row when the store throws while it waits (${overlap})`, async () => {
        const j = job({ overlap });
        const blocker = await holdLease(j.name);
        deps.runs = faulty(store, { promote: async () => { throw new Error("boom: the store broke"); } });
        await expect(runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 })).rejects.toThrow(/boom/);
        expect(await queuedRows(j.name)).toEqual([]);
        await expectQueueFree(j.name, overlap);
        await freeLease(j.name, blocker);
      });

      it(`stops waiting and drops its row when the process stops (${overlap})`, async () => {
        const j = job({ overlap, timeout: "5s" });
        const blocker = await holdLease(j.name);
        const stopping = new AbortController();
        deps.stopping = stopping.signal;
        const started = performance.now();
        const waiting = runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 });
        await sleep(150);
        expect(await queuedRows(j.name)).toHaveLength(1);
        stopping.abort(new Error("SIGTERM"));
        // Before the wait heeded the signal, it went on to its deadline (about 54 s here).
        const outcome = await Promise.race([waiting, sleep(3_000).then(() => "still waiting" as const)]);
        expect(outcome).toMatchObject({ kind: "skipped", reason: "already_running" });
        expect(performance.now() - started).toBeLessThan(3_000);
        expect(await queuedRows(j.name)).toEqual([]);
        await expectQueueFree(j.name, overlap);
        await freeLease(j.name, blocker);
      });
    }

    it("survives a 1.5 s database blip while it waits, then runs once the lease is free", async () => {
      let calls = 0;
      const j = job({ overlap: "bufferOne", handler: async () => { calls++; return "buffered"; } });
      const blocker = await holdLease(j.name);
      let blipUntil = 0;
      let failedPromotes = 0;
      deps.runs = faulty(store, {
        promote: async (...args) => {
          if (blipUntil === 0) blipUntil = Date.now() + 1_500;
          if (Date.now() < blipUntil) {
            failedPromotes++;
            throw connectionReset();
          }
          return store.promote(...args);
        },
      });
      const waiting = runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 });
      await sleep(500);
      await freeLease(j.name, blocker); // the holder finishes during the blip
      const run = ran(await waiting);
      expect(run.status).toBe("completed");
      expect(calls).toBe(1);
      expect(failedPromotes).toBeGreaterThan(10);
      console.log(`[claim-faults] database blip: ${failedPromotes} failed promotes over 1.5 s, 1 run, 0 queued rows left`);
      expect(await queuedRows(j.name)).toEqual([]);
      const next = await holdLease(j.name);
      await expectQueueFree(j.name, "bufferOne");
      await freeLease(j.name, next);
    });

    it("drops its row when the blip outlasts its wait, retrying the drop", async () => {
      const j = job({ overlap: "bufferOne", timeout: "1s" });
      const blocker = await holdLease(j.name);
      let failedDrops = 0;
      deps.runs = faulty(store, {
        promote: async () => { throw connectionReset(); },
        dropQueued: async (...args) => {
          if (failedDrops++ < 2) throw connectionReset(); // the database comes back during the drop's retries
          return store.dropQueued(...args);
        },
      });
      // budget 2.5 s: the wait ends at 2.5 - 1 (finish reserve) - 1 (the timeout) = 0.5 s.
      const outcome = await runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 2_500 });
      expect(outcome).toMatchObject({ kind: "skipped", reason: "already_running" });
      expect(failedDrops).toBe(3);
      expect(await queuedRows(j.name)).toEqual([]);
      await expectQueueFree(j.name, "bufferOne");
      await freeLease(j.name, blocker);
    });

    it("undoes a promotion whose reply was lost when it gives up, so no phantom run holds the lease", async () => {
      const j = job({ overlap: "bufferOne", timeout: "1s" });
      const blocker = await holdLease(j.name);
      const stopping = new AbortController();
      deps.stopping = stopping.signal;
      deps.runs = faulty(store, {
        promote: async (...args) => {
          const result = await store.promote(...args);
          if (result.outcome === "claimed") {
            stopping.abort(); // shutdown begins while the reply is lost
            throw connectionReset();
          }
          return result;
        },
      });
      const waiting = runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 });
      await sleep(100);
      await freeLease(j.name, blocker);
      expect(await waiting).toMatchObject({ kind: "skipped", reason: "already_running" });
      const rows = await rowsOf(ctx.db, j.name);
      expect(rows.filter((r) => r.status === "started" || r.status === "queued")).toEqual([]);
      const leases = await queryRows(ctx.db, sql`SELECT 1 FROM cron_job_leases WHERE job_name = ${j.name}`);
      expect(leases).toHaveLength(0);
    });

    it("gives its queued row an expiry of its wait budget plus the drop margin", async () => {
      const j = job({ overlap: "bufferOne", timeout: "10s" });
      const blocker = await holdLease(j.name);
      const stopping = new AbortController();
      deps.stopping = stopping.signal;
      const waiting = runTrigger(deps, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 30_000 });
      await sleep(100);
      const [row] = await queuedRows(j.name);
      const [{ ttl_ms }] = await queryRows<{ ttl_ms: number }>(ctx.db, sql`SELECT extract(epoch FROM lease_expires_at - started_at) * 1000 AS ttl_ms FROM cron_job_logs WHERE id = ${row.id}::uuid`);
      // wait = 30 s - 1 s reserve - 10 s timeout = 19 s; plus the margin.
      expect(Number(ttl_ms)).toBeGreaterThan(19_000 + QUEUE_DROP_MARGIN_MS - 1_000);
      expect(Number(ttl_ms)).toBeLessThanOrEqual(19_000 + QUEUE_DROP_MARGIN_MS + 100);
      stopping.abort();
      await waiting;
      await freeLease(j.name, blocker);
    });
  });

  describe("a queued row left by a process that died", () => {
    async function plantDeadQueued(jobName: string, expiresInMs: number) {
      const id = randomUUID();
      await ctx.db.execute(
        sql`INSERT INTO cron_job_logs (id, job_name, status, started_at, attempts, trigger, holder, lease_expires_at)
            VALUES (${id}::uuid, ${jobName}, 'queued', now() - interval '10 minutes', 0, 'schedule', 'dead-instance:9', now() + ${expiresInMs}::int * interval '1 millisecond')`,
      );
      return id;
    }

    for (const overlap of ["bufferOne", "replace"] as const) {
      it(`does not block the next trigger once it expired (${overlap})`, async () => {
        const j = job({ overlap });
        const blocker = await holdLease(j.name);
        const dead = await plantDeadQueued(j.name, -1_000);
        const next = await store.claim(claimInput(j.name, overlap));
        expect(next.outcome).toBe("queued");
        const rows = await rowsOf(ctx.db, j.name);
        const settled = rows.find((r) => r.id === dead)!;
        expect(settled).toMatchObject({ status: "skipped", skip_reason: "already_running" });
        expect(settled.error_message).toMatch(/waiter \(dead-instance:9\) stopped waiting .* expired/);
        if (next.outcome === "queued") await store.dropQueued(next.runId, "another-instance:7");
        await freeLease(j.name, blocker);
      });
    }

    it("still holds the job's one queued place while it has not expired", async () => {
      const j = job({ overlap: "bufferOne" });
      const blocker = await holdLease(j.name);
      await plantDeadQueued(j.name, 60_000);
      expect(await store.claim(claimInput(j.name, "bufferOne"))).toMatchObject({ outcome: "skipped", reason: "already_running" });
      await ctx.db.execute(sql`UPDATE cron_job_logs SET status = 'skipped' WHERE job_name = ${j.name} AND status = 'queued'`);
      await freeLease(j.name, blocker);
    });

    it("is settled by its own promote, and by the sweep", async () => {
      const j = job({ overlap: "bufferOne" });
      const viaPromote = await plantDeadQueued(j.name, -1_000);
      expect(await store.promote(viaPromote, 60_000, "dead-instance:9")).toEqual({ outcome: "gone" });
      const other = job({ overlap: "bufferOne" });
      const viaSweep = await plantDeadQueued(other.name, -1_000);
      await sweepExpiredLeases(ctx.db);
      for (const [name, id] of [[j.name, viaPromote], [other.name, viaSweep]] as const) {
        expect((await rowsOf(ctx.db, name)).find((r) => r.id === id)).toMatchObject({ status: "skipped", skip_reason: "already_running" });
      }
    });
  });

  // ---- The code version of a resumed deferred retry -----------------------------------------

  it("records the resuming deployment's code version on a resumed deferred retry", async () => {
    let calls = 0;
    const j = job({ retries: 1, timeout: "5s", backoff: { strategy: "fixed", delay: "1h" }, handler: async () => { if (++calls === 1) throw new Error("first attempt fails"); return "second"; } });
    const first = ran(await runTrigger({ ...deps, codeVersion: "deploy-1" }, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
    expect(first.status).toBe("retry_scheduled");
    expect((await rowsOf(ctx.db, j.name))[0].code_version).toBe("deploy-1");
    const resumed = ran(await runTrigger({ ...deps, codeVersion: "deploy-2" }, { job: j, trigger: "retry", scheduledFor: null, retryOf: first.id, budgetMs: 60_000 }));
    expect(resumed, JSON.stringify(resumed.attemptDetails)).toMatchObject({ status: "completed" });
    const [row] = await rowsOf(ctx.db, j.name);
    expect(row).toMatchObject({ status: "completed", code_version: "deploy-2" });
  });

  // ---- Item: Postgres decides, a stale Redis key must not ----------------------------------

  describe("with the Redis pre-lock", () => {
    let upstash: UpstashRestServer;
    let redis: IORedis;
    let broken: Server;
    let brokenUrl: string;
    const keyPrefix = `crondeck-test:${process.pid}:${randomBytes(4).toString("hex")}:lease:`;
    beforeAll(async () => {
      upstash = await startUpstashRestServer();
      redis = new IORedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 });
      // A REST endpoint that answers every request 500, as a failing Upstash might.
      broken = createServer((_req, res) => {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "ERR internal error" }));
      });
      await new Promise<void>((resolve) => broken.listen(0, "127.0.0.1", resolve));
      brokenUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await upstash?.close();
      if (redis) {
        const keys = await redis.keys(`${keyPrefix}*`);
        if (keys.length) await redis.del(...keys);
        redis.disconnect();
      }
      await new Promise<void>((resolve) => (broken ? broken.close(() => resolve()) : resolve()));
    });
    const redisStore = () => new RedisLeaseStore(createUpstashRedis({ url: upstash.url, token: upstash.token }), { keyPrefix });

    it("runs the job when a stale Redis key says held but Postgres says the lease is free", async () => {
      let calls = 0;
      const j = job({ handler: async () => { calls++; return "ran"; } });
      // A holder that died before its release reached Redis: its key lives on for its TTL.
      await redis.set(`${keyPrefix}job:${j.name}`, randomUUID(), "PX", 60_000);
      const { store: counted, calls: trips } = counting(store);
      const run = ran(await runTrigger({ ...deps, runs: counted, preLock: redisStore() }, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 }));
      expect(run.status).toBe("completed");
      expect(calls).toBe(1);
      expect(trips.filter((t) => t !== "heartbeat")).toEqual(["claim", "finish"]); // the winner's two round trips
    });

    it("skips after one Postgres round trip when Postgres agrees the job is running", async () => {
      const j = job();
      const blocker = await holdLease(j.name);
      await redis.set(`${keyPrefix}job:${j.name}`, blocker.runId, "PX", 60_000);
      const { store: counted, calls: trips } = counting(store);
      const outcome = await runTrigger({ ...deps, runs: counted, preLock: redisStore() }, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 });
      expect(outcome).toMatchObject({ kind: "skipped", reason: "already_running" });
      expect(trips).toEqual(["claim"]);
      await freeLease(j.name, blocker);
    });

    it("lets Postgres decide when the key holds another type (WRONGTYPE), and answers that error 503, never 500", async () => {
      let calls = 0;
      const j = job({ handler: async () => { calls++; } });
      const key = `${keyPrefix}job:${j.name}`;
      await redis.hset(key, "owner", "not-a-lease");
      const lock = redisStore();
      expect(ran(await runTrigger({ ...deps, preLock: lock }, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 })).status).toBe("completed");
      expect(calls).toBe(1);
      const error = await lock.holder(`job:${j.name}`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RedisStoreError);
      const response = toErrorResponse(error, "test");
      expect(response.status).toBe(503);
      const body = await response.json();
      expect(body).toMatchObject({ success: false, code: "store_unavailable" });
      expect(JSON.stringify(body)).not.toMatch(/WRONGTYPE|at .*\.ts|upstash-rest/);
    });

    it("lets Postgres decide when the Redis endpoint answers 500 or refuses connections", async () => {
      const deadPort = await new Promise<number>((resolve) => {
        const probe = createServer();
        probe.listen(0, "127.0.0.1", () => {
          const port = (probe.address() as AddressInfo).port;
          probe.close(() => resolve(port));
        });
      });
      for (const url of [brokenUrl, `http://127.0.0.1:${deadPort}`]) {
        let calls = 0;
        const j = job({ handler: async () => { calls++; } });
        const lock = new RedisLeaseStore(createUpstashRedis({ url, token: "t", timeoutMs: 500 }), { keyPrefix, timeoutMs: 500 });
        expect(ran(await runTrigger({ ...deps, preLock: lock }, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 })).status).toBe("completed");
        expect(calls).toBe(1);
        const response = toErrorResponse(await lock.ping().catch((e: unknown) => e), "test");
        expect(response.status).toBe(503);
        expect(await response.json()).toMatchObject({ code: "store_unavailable" });
      }
    });

    it("still keeps two instances from overlapping when Redis is held by a live run", async () => {
      let running = 0;
      let maxRunning = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const j = job({ handler: async () => { running++; maxRunning = Math.max(maxRunning, running); await gate; running--; } });
      const lock = redisStore();
      const first = runTrigger({ ...deps, preLock: lock }, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 });
      await sleep(150);
      const others = await Promise.all(Array.from({ length: 5 }, () => runTrigger({ ...deps, holder: "instance-b:2", preLock: lock }, { job: j, trigger: "manual", scheduledFor: null, budgetMs: 60_000 })));
      for (const o of others) expect(o).toMatchObject({ kind: "skipped", reason: "already_running" });
      release();
      expect(ran(await first).status).toBe("completed");
      expect(maxRunning).toBe(1);
      expect(await redis.exists(`${keyPrefix}job:${j.name}`)).toBe(0); // released by its owner
    });
  });
});

