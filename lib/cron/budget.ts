/**
 * An invocation's time: how long one request that runs a job may last, and what of it the
 * engine keeps for itself. The execute route declares {@link INVOCATION_MAX_SECONDS} as its
 * maxDuration; job timeouts are bounded by it; lib/vercel checks vercel.json against it.
 */

/** The longest one invocation that runs a job may last: the execute route's maxDuration. */
export const INVOCATION_MAX_SECONDS = 300;

/** Kept free at the end of an invocation's budget to write the result. */
export const FINISH_RESERVE_MS = 1_000;

/** What a route that runs a job keeps after the engine's budget to answer the request. */
export const ROUTE_ANSWER_MARGIN_MS = 2_000;

/**
 * The longest timeout a job may have: the invocation's 300 s less 10 s for authentication,
 * the claim, the fenced finish (retried for a few seconds when the database blips) and the
 * answer. A longer timeout would be cut by the platform, not by the engine, and every retry of
 * it would be deferred because no invocation has room for a full attempt.
 */
export const MAX_TIMEOUT_MS = INVOCATION_MAX_SECONDS * 1000 - 10_000;

/**
 * What a run started by a route may still use of the route's maxDuration: what start-up took
 * and the answer's margin come off. `startedAt` is when the request arrived (Date.now()).
 */
export function budgetLeftMs(maxDurationSeconds: number, startedAt: number, now: number = Date.now()): number {
  return maxDurationSeconds * 1000 - (now - startedAt) - ROUTE_ANSWER_MARGIN_MS;
}
