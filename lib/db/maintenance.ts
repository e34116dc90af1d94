import { systemClock } from "../cron/clock";
import type { Db } from "./client";
import { deleteOldLoginAttempts } from "./login-limiter";
import { runRetention, type RetentionPolicy, type RetentionReport, type RetentionRunOptions } from "./retention";
import { deleteEndedSessions } from "./sessions";

/** Ended admin sessions are kept this long (the audit log's session ids can still be looked up), then deleted. */
export const ENDED_SESSION_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** The login limiter's counters are kept this long after their window (far longer than any window). */
const LOGIN_ATTEMPT_RETENTION_MS = 60 * 60 * 1000;

/** A cleanup's report: each history table's retention (runRetention), and the authentication state trimmed. */
export interface CleanupReport extends RetentionReport {
  auth: { sessions: number; loginAttempts: number };
}

/**
 * The whole cleanup the cleanup-old-logs job, the admin API and `crondeck logs cleanup` run:
 * retention for run logs, alerts, the audit log and settled dead-letter entries, in batches
 * that each commit (lib/db/retention.ts), then the authentication tables (cleanupAuthState),
 * so none of them grows without bound. `db` must not be a transaction.
 */
export async function runCleanup(db: Db, policy: RetentionPolicy, options: RetentionRunOptions = {}): Promise<CleanupReport> {
  const now = options.now ?? new Date((options.clock ?? systemClock).now());
  const report = await runRetention(db, policy, { ...options, now });
  const auth = await cleanupAuthState(db, now);
  return { ...report, auth };
}

/** Deletes admin sessions that ended over 30 days before `now` and the limiter's counters of past windows. */
export async function cleanupAuthState(db: Db, now: Date): Promise<{ sessions: number; loginAttempts: number }> {
  const sessions = await deleteEndedSessions(db, new Date(now.getTime() - ENDED_SESSION_RETENTION_MS));
  const loginAttempts = await deleteOldLoginAttempts(db, new Date(now.getTime() - LOGIN_ATTEMPT_RETENTION_MS));
  return { sessions, loginAttempts };
}
