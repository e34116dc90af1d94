/**
 * What a store error means for the caller: a connection-level failure of Postgres, PGlite or
 * Redis (the request may or may not have reached the store; asking again is the remedy), as
 * opposed to a bug. The claim retries once on it; the HTTP layer answers it 503 store_unavailable.
 */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EPIPE",
  // Postgres: admin shutdown, cannot connect now, connection exceptions, too many connections.
  "57P01", "57P03", "08000", "08001", "08003", "08004", "08006", "53300",
  // The Redis lease store (lib/locks/redis-lease-store.ts): any failed call, and one that did not answer.
  "REDIS_ERROR", "REDIS_TIMEOUT",
]);

export function isUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const err = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown[] };
    if (typeof err.code === "string" && UNAVAILABLE_CODES.has(err.code)) return true;
    if (typeof err.message === "string" && /connect|connection|timeout|terminat|ECONNREFUSED|fetch failed|did not answer/i.test(err.message)) return true;
    if (Array.isArray(err.errors) && err.errors.some((inner) => isUnavailable(inner))) return true;
    e = err.cause;
  }
  return false;
}
