import { sql } from "drizzle-orm";
import { queryRows, type Db } from "./client";
import { deleteOldLoginAttempts } from "./login-limiter";
import { num, type DbNumber } from "./rows";
import { deleteEndedSessions } from "./sessions";

/** Ended admin sessions are kept this long (the audit log's session ids can still be looked up), then deleted. */
export const ENDED_SESSION_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** The login limiter's counters are kept this long after their window (far longer than any window). */
const LOGIN_ATTEMPT_RETENTION_MS = 60 * 60 * 1000;

/**
 * Deletes runs older than `days` through cleanup_old_cron_logs: in batches, keeping running
 * runs and runs behind pending dead-letter entries. Returns how many rows it deleted. The
 * authentication tables are trimmed too (cleanupAuthState), so they do not grow without bound.
 */
export async function cleanupOldLogs(db: Db, days: number, now: Date = new Date()): Promise<number> {
  const [row] = await queryRows<{ deleted: DbNumber }>(db, sql`SELECT cleanup_old_cron_logs(${days}::int) AS deleted`);
  await cleanupAuthState(db, now);
  return num(row?.deleted);
}

/** Deletes admin sessions that ended over 30 days before `now` and the limiter's counters of past windows. */
export async function cleanupAuthState(db: Db, now: Date): Promise<{ sessions: number; loginAttempts: number }> {
  const sessions = await deleteEndedSessions(db, new Date(now.getTime() - ENDED_SESSION_RETENTION_MS));
  const loginAttempts = await deleteOldLoginAttempts(db, new Date(now.getTime() - LOGIN_ATTEMPT_RETENTION_MS));
  return { sessions, loginAttempts };
}
