import { sql } from "drizzle-orm";
import { queryRows, type Db } from "./client";
import { num, numOrNull, type DbNumber } from "./rows";

/**
 * The login limiter, kept in Postgres so every instance of the app (each Vercel function
 * instance, each `next start` behind a balancer) counts against the same numbers. A fixed
 * window per client address, and one ceiling across all addresses so a guesser spread over
 * many addresses is slowed too. ADMIN_TOKEN is long and random (at least 16 characters,
 * `openssl rand -hex 32` recommended): the limiter keeps guessing slow and the logs quiet; it is
 * not what makes the token safe.
 *
 * Every attempt is counted before the token is compared, in one statement, so concurrent
 * guesses cannot slip past the count. An address already over its limit no longer adds to the
 * ceiling, so one noisy address cannot use up everybody's logins.
 */

export interface LoginLimits {
  /** Attempts per client address per window. */
  perAddress: number;
  /** Attempts per window across all addresses. */
  total: number;
  windowMs: number;
}

export const LOGIN_LIMITS: LoginLimits = { perAddress: 10, total: 30, windowMs: 60_000 };

/** The ceiling's row key; an address's key is never this. */
const TOTAL_KEY = "*";

export type LoginAttempt =
  | { allowed: true }
  | { allowed: false; scope: "address" | "total"; retryAfterSeconds: number };

const windowOf = (now: Date, windowMs: number) => new Date(Math.floor(now.getTime() / windowMs) * windowMs);

/** The limiter's key for a client address (null: the address is not known). */
export const loginKey = (address: string | null) => (address ? `ip:${address}` : "unknown");

/** Counts one login attempt from `address` at `now` and says whether it may be checked. */
export async function countLoginAttempt(db: Db, address: string | null, now: Date, limits: LoginLimits = LOGIN_LIMITS): Promise<LoginAttempt> {
  const windowStart = windowOf(now, limits.windowMs);
  const at = windowStart.toISOString();
  const [row] = await queryRows<{ address_attempts: DbNumber; total_attempts: DbNumber | null }>(
    db,
    sql`WITH a AS (
          INSERT INTO cron_login_attempts (key, window_start, attempts) VALUES (${loginKey(address)}, ${at}::timestamptz, 1)
          ON CONFLICT (key, window_start) DO UPDATE SET attempts = cron_login_attempts.attempts + 1
          RETURNING attempts),
        t AS (
          INSERT INTO cron_login_attempts (key, window_start, attempts)
          SELECT ${TOTAL_KEY}, ${at}::timestamptz, 1 FROM a WHERE a.attempts <= ${limits.perAddress}
          ON CONFLICT (key, window_start) DO UPDATE SET attempts = cron_login_attempts.attempts + 1
          RETURNING attempts)
        SELECT (SELECT attempts FROM a) AS address_attempts, (SELECT attempts FROM t) AS total_attempts`,
  );
  const addressAttempts = num(row?.address_attempts);
  const totalAttempts = numOrNull(row?.total_attempts);
  const retryAfterSeconds = Math.max(1, Math.ceil((windowStart.getTime() + limits.windowMs - now.getTime()) / 1000));
  if (addressAttempts > limits.perAddress || totalAttempts === null) return { allowed: false, scope: "address", retryAfterSeconds };
  if (totalAttempts > limits.total) return { allowed: false, scope: "total", retryAfterSeconds };
  return { allowed: true };
}

/** A successful login clears its address's count for the window (the ceiling keeps its count). */
export async function clearLoginAttempts(db: Db, address: string | null, now: Date, limits: LoginLimits = LOGIN_LIMITS): Promise<void> {
  await db.execute(sql`DELETE FROM cron_login_attempts WHERE key = ${loginKey(address)} AND window_start = ${windowOf(now, limits.windowMs).toISOString()}::timestamptz`);
}

/** Deletes the counters of windows that started before `before`; returns how many. */
export async function deleteOldLoginAttempts(db: Db, before: Date): Promise<number> {
  const [row] = await queryRows<{ deleted: DbNumber }>(
    db,
    sql`WITH gone AS (DELETE FROM cron_login_attempts WHERE window_start < ${before.toISOString()}::timestamptz RETURNING 1) SELECT count(*)::int AS deleted FROM gone`,
  );
  return num(row?.deleted);
}
