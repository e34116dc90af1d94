import { Redis } from "@upstash/redis";
import type { LeaseHolder, LeaseStore } from "../cron/lease-store";
import type { Env } from "../env";

/**
 * Leases in Redis over Upstash's REST API: one key per lease, its value the owner, its
 * TTL the expiry (so Redis's clock decides, and an expired lease is simply gone).
 * A fast pre-check in front of Postgres, never the source of truth: a Redis that fails
 * over may forget a lease.
 */

/** Only the owner may push the expiry: compare and PEXPIRE in one atomic script. */
const EXTEND_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

/** Only the owner may delete: compare and DEL in one atomic script. */
const RELEASE_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

/** Owner and remaining TTL in one round trip (GET then PTTL would be two, and could disagree). */
const HOLDER_SCRIPT = `local owner = redis.call("get", KEYS[1]) if not owner then return nil end return {owner, redis.call("pttl", KEYS[1])}`;

/** Default bound on one Redis call: a lock pre-check that hangs would hold up the whole trigger. */
export const DEFAULT_REDIS_TIMEOUT_MS = 2_000;

export interface RedisLeaseStoreOptions {
  /** Prefix of every lease key, so leases share a database with other data. Default "crondeck:lease:". */
  keyPrefix?: string;
  /** Each call rejects after this long, whatever the client's own retry settings. Default 2000. */
  timeoutMs?: number;
}

/** A Redis call that took longer than its bound; the request may still complete server-side. */
export class RedisTimeoutError extends Error {
  override name = "RedisTimeoutError";
  readonly code = "REDIS_TIMEOUT";
}

/**
 * A Redis call that failed: a refused or reset connection, an HTTP error from the REST API, or
 * an error reply such as WRONGTYPE (a key of another type where a lease should be). The store
 * wraps every failure in it, so callers and the HTTP layer see one kind of lock-store fault
 * (503 store_unavailable, never 500); the original is its `cause`.
 */
export class RedisStoreError extends Error {
  override name = "RedisStoreError";
  readonly code = "REDIS_ERROR";
}

/**
 * Rejects with RedisTimeoutError when `promise` has not settled within `timeoutMs`.
 * The store wraps every call in it, because a `Redis` built elsewhere may keep the
 * client's default of 5 retries with exponential backoff (about 4.3 s of waiting on a
 * refused connection, and no bound at all on an endpoint that accepts and never answers).
 */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what = "Redis call"): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisTimeoutError(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface UpstashConnection {
  /** REST URL, e.g. https://eu1-sharp-fox-12345.upstash.io */
  url: string;
  token: string;
  /** Aborts each HTTP request after this long. Default 2000. */
  timeoutMs?: number;
}

/**
 * An Upstash client that fails fast: each request carries its own AbortSignal (a function,
 * so every request gets a fresh timer; a shared signal would abort everything after the
 * first expiry), and no retries. Retrying is unsafe for SET NX anyway: if the first try
 * reached Redis and only the response was lost, the retry is refused and reports the
 * lease as taken by someone else while we hold it.
 */
export function createUpstashRedis({ url, token, timeoutMs = DEFAULT_REDIS_TIMEOUT_MS }: UpstashConnection): Redis {
  return new Redis({
    url,
    token,
    retry: { retries: 0 },
    signal: () => AbortSignal.timeout(timeoutMs),
    enableTelemetry: false,
  });
}

export class RedisLeaseStore implements LeaseStore {
  readonly kind = "redis";
  readonly keyPrefix: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly redis: Redis,
    options: RedisLeaseStoreOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? "crondeck:lease:";
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  }

  /** SET NX PX: takes the key only when absent, and Redis drops it after ttlMs. Not re-entrant. */
  async acquire(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const result = await this.call("acquire", this.redis.set(this.key(key), owner, { nx: true, px: checkTtl(ttlMs) }));
    return result === "OK";
  }

  async extend(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const result = await this.call("extend", this.redis.eval<[string, number], number>(EXTEND_SCRIPT, [this.key(key)], [owner, checkTtl(ttlMs)]));
    return Number(result) === 1;
  }

  async release(key: string, owner: string): Promise<boolean> {
    const result = await this.call("release", this.redis.eval<[string], number>(RELEASE_SCRIPT, [this.key(key)], [owner]));
    return Number(result) === 1;
  }

  async holder(key: string): Promise<LeaseHolder | null> {
    const result = await this.call("holder", this.redis.eval<[], [unknown, number] | null>(HOLDER_SCRIPT, [this.key(key)], []));
    if (!result) return null;
    const [owner, pttl] = result;
    // PTTL -1 means no expiry: never set by this store (always PX), so someone wrote the key by hand.
    const expiresInMs = Number(pttl) === -1 ? Number.MAX_SAFE_INTEGER : Number(pttl);
    if (expiresInMs <= 0) return null;
    // The client JSON-parses results by default: an owner such as "123" would come back as a number.
    return { owner: String(owner), expiresInMs };
  }

  async ping(): Promise<void> {
    await this.call("ping", this.redis.ping());
  }

  private key(key: string): string {
    return this.keyPrefix + key;
  }

  private async call<T>(what: string, promise: Promise<T>): Promise<T> {
    try {
      return await withTimeout(promise, this.timeoutMs, `Redis lease ${what}`);
    } catch (error) {
      if (error instanceof RedisTimeoutError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new RedisStoreError(`Redis lease ${what} failed: ${message}`, { cause: error });
    }
  }
}

/**
 * The Redis lease store when Upstash is configured (UPSTASH_REDIS_REST_* directly, or the
 * KV_REST_API_* names Vercel's marketplace integration sets), else null: Redis is optional.
 */
export function redisLeaseStoreFromEnv(
  env: Pick<Env, "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN" | "KV_REST_API_URL" | "KV_REST_API_TOKEN">,
  options: RedisLeaseStoreOptions = {},
): RedisLeaseStore | null {
  const connection =
    env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN
      ? { url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }
      : env.KV_REST_API_URL && env.KV_REST_API_TOKEN
        ? { url: env.KV_REST_API_URL, token: env.KV_REST_API_TOKEN }
        : null;
  if (!connection) return null;
  return new RedisLeaseStore(createUpstashRedis({ ...connection, timeoutMs: options.timeoutMs }), options);
}

/** Redis wants a whole number of milliseconds above zero; say so rather than send PX 0 or PX 1.5. */
function checkTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs < 1) throw new RangeError(`ttlMs must be at least 1 (milliseconds), got ${ttlMs}`);
  return Math.ceil(ttlMs);
}
