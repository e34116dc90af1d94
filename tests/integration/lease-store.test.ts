import { randomBytes, randomUUID } from "node:crypto";
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from "node:net";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LeaseStore } from "@/lib/cron/lease-store";
import { PostgresLeaseStore } from "@/lib/db/lease-store";
import { createUpstashRedis, RedisLeaseStore, redisLeaseStoreFromEnv, RedisStoreError } from "@/lib/locks/redis-lease-store";
import { describeOnDatabases } from "../support/db";
import { startUpstashRestServer, type UpstashRestServer } from "../support/upstash-rest";

/**
 * Expiry is by each store's own clock (Postgres now(), Redis TTLs), so the expiry cases
 * wait for real: a 150 ms lease and a 300 ms pause.
 */
const SHORT_TTL_MS = 150;
const PAST_EXPIRY_MS = 300;
const LONG_TTL_MS = 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The contract every LeaseStore keeps, registered in the enclosing describe. `store` is
 * called inside tests, after the suite's hooks have opened it. Owners are uuids because
 * the Postgres store's owners are run ids.
 */
function leaseStoreContract(store: () => LeaseStore): void {
  let n = 0;
  // Job names are varchar(100) in Postgres: short and unique per test.
  const freshKey = () => `job-${++n}-${randomBytes(3).toString("hex")}`;

  it("acquires a free lease and reports its holder", async () => {
    const key = freshKey();
    const owner = randomUUID();
    expect(await store().acquire(key, owner, LONG_TTL_MS)).toBe(true);
    const holder = await store().holder(key);
    expect(holder?.owner).toBe(owner);
    expect(holder!.expiresInMs).toBeGreaterThan(LONG_TTL_MS - 5_000);
    expect(holder!.expiresInMs).toBeLessThanOrEqual(LONG_TTL_MS);
  });

  it("refuses a second owner while the lease is live", async () => {
    const key = freshKey();
    const [a, b] = [randomUUID(), randomUUID()];
    expect(await store().acquire(key, a, LONG_TTL_MS)).toBe(true);
    expect(await store().acquire(key, b, LONG_TTL_MS)).toBe(false);
    expect((await store().holder(key))?.owner).toBe(a);
  });

  it("is not re-entrant: the holder acquiring again is refused and keeps the lease", async () => {
    const key = freshKey();
    const a = randomUUID();
    expect(await store().acquire(key, a, LONG_TTL_MS)).toBe(true);
    expect(await store().acquire(key, a, LONG_TTL_MS)).toBe(false);
    expect((await store().holder(key))?.owner).toBe(a);
  });

  it("lets another owner acquire once the lease has expired", async () => {
    const key = freshKey();
    const [a, b] = [randomUUID(), randomUUID()];
    expect(await store().acquire(key, a, SHORT_TTL_MS)).toBe(true);
    await sleep(PAST_EXPIRY_MS);
    expect(await store().holder(key)).toBeNull();
    expect(await store().acquire(key, b, LONG_TTL_MS)).toBe(true);
    expect((await store().holder(key))?.owner).toBe(b);
    // The old owner can neither extend nor release the new owner's lease.
    expect(await store().extend(key, a, LONG_TTL_MS)).toBe(false);
    expect(await store().release(key, a)).toBe(false);
    expect((await store().holder(key))?.owner).toBe(b);
  });

  it("extends the owner's lease", async () => {
    const key = freshKey();
    const owner = randomUUID();
    expect(await store().acquire(key, owner, 1_000)).toBe(true);
    expect((await store().holder(key))!.expiresInMs).toBeLessThanOrEqual(1_000);
    expect(await store().extend(key, owner, LONG_TTL_MS)).toBe(true);
    const holder = await store().holder(key);
    expect(holder?.owner).toBe(owner);
    expect(holder!.expiresInMs).toBeGreaterThan(LONG_TTL_MS - 5_000);
  });

  it("does not extend an expired lease, even for its owner", async () => {
    const key = freshKey();
    const owner = randomUUID();
    expect(await store().acquire(key, owner, SHORT_TTL_MS)).toBe(true);
    await sleep(PAST_EXPIRY_MS);
    expect(await store().extend(key, owner, LONG_TTL_MS)).toBe(false);
    expect(await store().holder(key)).toBeNull();
    // Releasing an expired lease reports false: the run overran it.
    expect(await store().release(key, owner)).toBe(false);
    expect(await store().acquire(key, randomUUID(), LONG_TTL_MS)).toBe(true);
  });

  it("refuses extend and release by a non-owner and changes nothing", async () => {
    const key = freshKey();
    const [owner, other] = [randomUUID(), randomUUID()];
    expect(await store().acquire(key, owner, LONG_TTL_MS)).toBe(true);
    expect(await store().extend(key, other, 10 * LONG_TTL_MS)).toBe(false);
    expect(await store().release(key, other)).toBe(false);
    const holder = await store().holder(key);
    expect(holder?.owner).toBe(owner);
    expect(holder!.expiresInMs).toBeLessThanOrEqual(LONG_TTL_MS);
  });

  it("releases, then the lease can be acquired again", async () => {
    const key = freshKey();
    const [a, b] = [randomUUID(), randomUUID()];
    expect(await store().acquire(key, a, LONG_TTL_MS)).toBe(true);
    expect(await store().release(key, a)).toBe(true);
    expect(await store().holder(key)).toBeNull();
    expect(await store().release(key, a)).toBe(false);
    expect(await store().acquire(key, b, LONG_TTL_MS)).toBe(true);
    expect((await store().holder(key))?.owner).toBe(b);
  });

  it("reports no holder for a lease never taken", async () => {
    expect(await store().holder(freshKey())).toBeNull();
    expect(await store().extend(freshKey(), randomUUID(), LONG_TTL_MS)).toBe(false);
    expect(await store().release(freshKey(), randomUUID())).toBe(false);
  });

  it("gives the lease to exactly one of 20 owners acquiring at once", async () => {
    const key = freshKey();
    const owners = Array.from({ length: 20 }, () => randomUUID());
    const results = await Promise.all(owners.map((owner) => store().acquire(key, owner, LONG_TTL_MS)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = owners[results.indexOf(true)];
    expect((await store().holder(key))?.owner).toBe(winner);
  });

  it("rejects a ttl below 1 ms", async () => {
    await expect(store().acquire(freshKey(), randomUUID(), 0)).rejects.toThrow(RangeError);
  });

  it("answers a ping", async () => {
    await expect(store().ping()).resolves.toBeUndefined();
  });
}

describeOnDatabases("PostgresLeaseStore", (ctx) => {
  let store: PostgresLeaseStore;
  beforeAll(() => {
    store = new PostgresLeaseStore(ctx.db, { holder: "lease-store.test" });
  });

  leaseStoreContract(() => store);

  it("takes a larger fencing token on every acquire", async () => {
    const key = `fenced-${randomBytes(3).toString("hex")}`;
    const first = await store.acquireFenced(key, randomUUID(), SHORT_TTL_MS);
    expect(first).toBeTypeOf("number");
    expect(await store.acquireFenced(key, randomUUID(), LONG_TTL_MS)).toBeNull();
    await sleep(PAST_EXPIRY_MS);
    const second = await store.acquireFenced(key, randomUUID(), LONG_TTL_MS);
    expect(second).toBeGreaterThan(first!);
  });

  it("says owners must be run ids (uuids)", async () => {
    await expect(store.acquire("job-x", "not-a-uuid", LONG_TTL_MS)).rejects.toThrow(/uuid/);
  });
});

describe("RedisLeaseStore through the Upstash REST adapter", () => {
  let server: UpstashRestServer;
  let store: RedisLeaseStore;
  // Unique per run, so runs in parallel (or a crashed earlier run) never share keys.
  const keyPrefix = `crondeck-test:${process.pid}:${randomBytes(4).toString("hex")}:lease:`;

  beforeAll(async () => {
    server = await startUpstashRestServer();
    store = new RedisLeaseStore(createUpstashRedis({ url: server.url, token: server.token }), { keyPrefix });
  });
  afterAll(async () => {
    await server?.close();
  });

  leaseStoreContract(() => store);

  it("reads the holder in one round trip", async () => {
    const key = `one-trip-${randomBytes(3).toString("hex")}`;
    await store.acquire(key, randomUUID(), LONG_TTL_MS);
    const before = server.requests;
    await store.holder(key);
    expect(server.requests - before).toBe(1);
  });

  it("keeps an owner that looks like JSON a string", async () => {
    const key = `numeric-${randomBytes(3).toString("hex")}`;
    expect(await store.acquire(key, "12345", LONG_TTL_MS)).toBe(true);
    expect((await store.holder(key))?.owner).toBe("12345");
  });

  it("throws an error reply (WRONGTYPE: a key of another type) as one RedisStoreError, never a raw client error", async () => {
    const key = `wrongtype-${randomBytes(3).toString("hex")}`;
    await createUpstashRedis({ url: server.url, token: server.token }).hset(keyPrefix + key, { owner: "not-a-lease" });
    // SET NX only sees that the key exists: "held" (the engine then lets Postgres decide).
    expect(await store.acquire(key, randomUUID(), LONG_TTL_MS)).toBe(false);
    for (const call of [() => store.holder(key), () => store.extend(key, randomUUID(), LONG_TTL_MS), () => store.release(key, randomUUID())]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RedisStoreError);
      expect(error).toMatchObject({ code: "REDIS_ERROR", message: expect.stringMatching(/WRONGTYPE/) });
    }
  });
});

describe("the Upstash REST adapter", () => {
  let server: UpstashRestServer;
  let redis: Redis;
  let plain: Redis;
  const prefix = `crondeck-test:${process.pid}:${randomBytes(4).toString("hex")}:adapter:`;

  beforeAll(async () => {
    server = await startUpstashRestServer();
    redis = new Redis({ url: server.url, token: server.token, enableTelemetry: false });
    // POST / (no auto-pipelining) and plain JSON strings (no base64).
    plain = new Redis({ url: server.url, token: server.token, enableTelemetry: false, enableAutoPipelining: false, responseEncoding: false });
  });
  afterAll(async () => {
    const keys = ["a", "b", "n", "text", "counter", "ttl"].map((k) => prefix + k);
    await redis?.del(...keys).catch(() => {});
    await server?.close();
  });

  it("refuses a wrong token with 401, which the client throws", async () => {
    const wrong = new Redis({ url: server.url, token: "wrong-token", enableTelemetry: false, retry: false });
    await expect(wrong.get(prefix + "a")).rejects.toThrow(/Unauthorized/);
    const res = await fetch(`${server.url}/`, { method: "POST", headers: { authorization: "Bearer nope" }, body: '["ping"]' });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "Unauthorized" });
  });

  it("round-trips a non-ASCII value through base64 and through plain JSON", async () => {
    const value = "héllo wörld ✓ 日本語 🚀";
    await redis.set(prefix + "text", value);
    expect(await redis.get(prefix + "text")).toBe(value);
    expect(await plain.get(prefix + "text")).toBe(value);
    const res = await fetch(`${server.url}/`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "upstash-encoding": "base64" },
      body: JSON.stringify(["get", prefix + "text"]),
    });
    expect(await res.json()).toEqual({ result: Buffer.from(value).toString("base64") });
  });

  it("runs a pipeline, keeping each command's error to itself", async () => {
    const results = await redis
      .pipeline()
      .set(prefix + "a", "1")
      .incr(prefix + "a")
      .get(prefix + "a")
      .set(prefix + "b", "text")
      .incr(prefix + "b")
      .get(prefix + "b")
      .exec({ keepErrors: true });
    expect(results.map((r) => r.result)).toEqual(["OK", 2, 2, "OK", undefined, "text"]);
    expect(results[4].error).toMatch(/not an integer/);
  });

  it("runs multi-exec as a transaction", async () => {
    const results = await redis
      .multi()
      .set(prefix + "n", 10)
      .incrby(prefix + "n", 5)
      .get(prefix + "n")
      .exec();
    expect(results).toEqual(["OK", 15, 15]);
  });

  it("supports SET NX PX, PEXPIRE, PTTL, DEL and PING", async () => {
    const key = prefix + "ttl";
    expect(await plain.set(key, "x", { nx: true, px: 5_000 })).toBe("OK");
    expect(await plain.set(key, "y", { nx: true, px: 5_000 })).toBeNull();
    expect(await plain.pexpire(key, 60_000)).toBe(1);
    expect(await plain.pttl(key)).toBeGreaterThan(55_000);
    expect(await plain.del(key)).toBe(1);
    expect(await plain.pttl(key)).toBe(-2);
    expect(await redis.ping()).toBe("PONG");
    expect(await plain.ping()).toBe("PONG");
  });

  it("runs EVAL and EVALSHA", async () => {
    const script = "return {KEYS[1], ARGV[1], 42}";
    expect(await redis.eval(script, [prefix + "k"], ["ä"])).toEqual([prefix + "k", "ä", 42]);
    const sha = await redis.scriptLoad(script);
    expect(await redis.evalsha(sha, [prefix + "k"], ["v"])).toEqual([prefix + "k", "v", 42]);
    await expect(plain.evalsha("0".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
  });

  it("answers a failed single command with 400 and its Redis error", async () => {
    await expect(plain.eval("return redis.call('nope')", [], [])).rejects.toThrow(/Unknown Redis command|unknown command/i);
    const res = await fetch(`${server.url}/`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}` },
      body: JSON.stringify(["incr", prefix + "text"]),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/^ERR/);
  });
});

describe("RedisLeaseStore when Redis does not answer", () => {
  let deadPort: number;
  let silent: Server;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    // A port that was free a moment ago: nothing listens, connections are refused.
    const probe = createHttpServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    // A server that accepts connections and never replies: the hanging case.
    silent = createTcpServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent?.close(() => resolve()));
  });

  it("rejects within ~3 s on a refused connection", async () => {
    const store = new RedisLeaseStore(createUpstashRedis({ url: `http://127.0.0.1:${deadPort}`, token: "t" }));
    const started = performance.now();
    await expect(store.acquire("job", randomUUID(), LONG_TTL_MS)).rejects.toThrow();
    await expect(store.ping()).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it("rejects within ~3 s even over a client left on its default retries", async () => {
    // new Redis() retries 5 times with exponential backoff (~4.3 s): the store's own bound cuts it short.
    const store = new RedisLeaseStore(new Redis({ url: `http://127.0.0.1:${deadPort}`, token: "t", enableTelemetry: false }));
    const started = performance.now();
    await expect(store.ping()).rejects.toThrow(/did not answer within 2000 ms/);
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it("rejects within ~3 s when the endpoint accepts and never answers", async () => {
    const port = (silent.address() as AddressInfo).port;
    const store = redisLeaseStoreFromEnv({ UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${port}`, UPSTASH_REDIS_REST_TOKEN: "t" });
    const started = performance.now();
    await expect(store!.holder("job")).rejects.toThrow();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThan(1_500);
    expect(elapsed).toBeLessThan(3_000);
  });
});

describe("redisLeaseStoreFromEnv", () => {
  it("is null without Upstash settings", () => {
    expect(redisLeaseStoreFromEnv({})).toBeNull();
  });

  it("takes the UPSTASH_* names, or Vercel's KV_REST_API_* names", () => {
    expect(redisLeaseStoreFromEnv({ UPSTASH_REDIS_REST_URL: "https://a.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t" })?.kind).toBe("redis");
    expect(redisLeaseStoreFromEnv({ KV_REST_API_URL: "https://b.upstash.io", KV_REST_API_TOKEN: "t" })?.kind).toBe("redis");
    expect(redisLeaseStoreFromEnv({ KV_REST_API_URL: "https://b.upstash.io" })).toBeNull();
  });
});
