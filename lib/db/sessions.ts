import { sql } from "drizzle-orm";
import { queryRows, type Db } from "./client";
import type { AdminRole } from "../cron/vocabulary";
import { num, toDate, toDateOrNull, type DbNumber, type DbTime } from "./rows";

/**
 * The admin sessions' rows (cron_admin_sessions). The signed cookie carries only the id; the
 * row decides whether the session is still good (lib/auth/admin-session.ts, checkSession).
 * Every timestamp comes from the caller's `now`, so tests move time without sleeping.
 */

/** Why a session ended early; written once, on the row that ends. */
export const SESSION_REVOKE_REASONS = ["logout", "token_rotated", "idle"] as const;
export type SessionRevokeReason = (typeof SESSION_REVOKE_REASONS)[number];

export interface SessionRecord {
  id: string;
  /** The person: "admin" for an ADMIN_TOKEN login, the identity provider's name for them otherwise. */
  actor: string;
  /** What they may do (ADMIN_ROLES). */
  role: AdminRole;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  revokedReason: string | null;
  tokenFingerprint: string;
  ipAddress: string | null;
  userAgent: string | null;
}

interface SessionDbRow {
  id: string;
  actor: string;
  role: AdminRole;
  created_at: DbTime;
  last_seen_at: DbTime;
  expires_at: DbTime;
  revoked_at: DbTime | null;
  revoked_reason: string | null;
  token_fingerprint: string;
  ip_address: string | null;
  user_agent: string | null;
}

const COLUMNS = sql`id, actor, role, created_at, last_seen_at, expires_at, revoked_at, revoked_reason, token_fingerprint, ip_address, user_agent`;

function toRecord(r: SessionDbRow): SessionRecord {
  return {
    id: r.id,
    actor: r.actor,
    role: r.role,
    createdAt: toDate(r.created_at),
    lastSeenAt: toDate(r.last_seen_at),
    expiresAt: toDate(r.expires_at),
    revokedAt: toDateOrNull(r.revoked_at),
    revokedReason: r.revoked_reason ?? null,
    tokenFingerprint: r.token_fingerprint,
    ipAddress: r.ip_address ?? null,
    userAgent: r.user_agent ?? null,
  };
}

export interface NewSession {
  id: string;
  actor: string;
  role: AdminRole;
  now: Date;
  expiresAt: Date;
  tokenFingerprint: string;
  ipAddress: string | null;
  userAgent: string | null;
}

export async function insertSession(db: Db, s: NewSession): Promise<SessionRecord> {
  const [row] = await queryRows<SessionDbRow>(
    db,
    sql`INSERT INTO cron_admin_sessions (id, actor, role, created_at, last_seen_at, expires_at, token_fingerprint, ip_address, user_agent)
        VALUES (${s.id}, ${s.actor}, ${s.role}, ${s.now.toISOString()}::timestamptz, ${s.now.toISOString()}::timestamptz, ${s.expiresAt.toISOString()}::timestamptz,
                ${s.tokenFingerprint}, ${s.ipAddress}, ${s.userAgent})
        RETURNING ${COLUMNS}`,
  );
  return toRecord(row);
}

export async function findSession(db: Db, id: string): Promise<SessionRecord | null> {
  const [row] = await queryRows<SessionDbRow>(db, sql`SELECT ${COLUMNS} FROM cron_admin_sessions WHERE id = ${id}`);
  return row ? toRecord(row) : null;
}

/**
 * Moves last_seen_at to `now` when it is at least `throttleMs` old and the session is still
 * live: one write a minute per session at most, and never on a revoked row. True when it wrote.
 */
export async function touchSession(db: Db, id: string, now: Date, throttleMs: number): Promise<boolean> {
  const rows = await queryRows<{ id: string }>(
    db,
    sql`UPDATE cron_admin_sessions SET last_seen_at = ${now.toISOString()}::timestamptz
        WHERE id = ${id} AND revoked_at IS NULL
          AND last_seen_at <= ${now.toISOString()}::timestamptz - ${throttleMs}::int8 * interval '1 millisecond'
        RETURNING id`,
  );
  return rows.length > 0;
}

/** Ends one session; false when it was already revoked or does not exist. */
export async function revokeSession(db: Db, id: string, reason: SessionRevokeReason, now: Date): Promise<boolean> {
  const rows = await queryRows<{ id: string }>(
    db,
    sql`UPDATE cron_admin_sessions SET revoked_at = ${now.toISOString()}::timestamptz, revoked_reason = ${reason}
        WHERE id = ${id} AND revoked_at IS NULL RETURNING id`,
  );
  return rows.length > 0;
}

/** Ends every live session made under another ADMIN_TOKEN (a rotation); returns how many. */
export async function revokeSessionsNotUnder(db: Db, tokenFingerprint: string, now: Date): Promise<number> {
  const [row] = await queryRows<{ revoked: DbNumber }>(
    db,
    sql`WITH ended AS (
          UPDATE cron_admin_sessions SET revoked_at = ${now.toISOString()}::timestamptz, revoked_reason = ${"token_rotated" satisfies SessionRevokeReason}
          WHERE revoked_at IS NULL AND token_fingerprint <> ${tokenFingerprint} AND expires_at > ${now.toISOString()}::timestamptz
          RETURNING 1)
        SELECT count(*)::int AS revoked FROM ended`,
  );
  return num(row?.revoked);
}

/** Deletes sessions that ended (expired or revoked) before `before`; returns how many. */
export async function deleteEndedSessions(db: Db, before: Date): Promise<number> {
  const [row] = await queryRows<{ deleted: DbNumber }>(
    db,
    sql`WITH gone AS (
          DELETE FROM cron_admin_sessions
          WHERE expires_at < ${before.toISOString()}::timestamptz OR revoked_at < ${before.toISOString()}::timestamptz
          RETURNING 1)
        SELECT count(*)::int AS deleted FROM gone`,
  );
  return num(row?.deleted);
}
