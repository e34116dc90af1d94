import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import { iso, jsonValue, num, type DbNumber, type DbTime } from "../rows";

/** One row of the audit log, as the audit page and the API show it. */
export interface AuditEntry {
  id: number;
  actor: string;
  action: string;
  target: string | null;
  detail: Record<string, unknown> | null;
  ipAddress: string | null;
  /** The dashboard session that acted; null for the bearer token and the CLI. */
  sessionId: string | null;
  createdAt: string;
}

/** The columns of cron_audit_log as either driver returns them. */
export interface AuditRow {
  id: DbNumber;
  actor: string;
  action: string;
  target: string | null;
  detail: unknown;
  ip_address: string | null;
  session_id: string | null;
  created_at: DbTime;
}

export const AUDIT_COLUMNS = sql`id, actor, action, target, detail, ip_address, session_id, created_at`;

export function toAuditEntry(r: AuditRow): AuditEntry {
  return {
    id: num(r.id),
    actor: r.actor,
    action: r.action,
    target: r.target ?? null,
    detail: jsonValue<Record<string, unknown>>(r.detail),
    ipAddress: r.ip_address ?? null,
    sessionId: r.session_id ?? null,
    createdAt: iso(r.created_at),
  };
}

/** Newest first. `action` filters on one action name (unknown names simply match nothing). */
export async function listAudit(db: Db, opts: { limit: number; offset: number; action?: string | null; target?: string | null }): Promise<{ entries: AuditEntry[]; total: number }> {
  const action = opts.action ?? null;
  const target = opts.target ?? null;
  const where = sql`WHERE (${action}::text IS NULL OR action = ${action}) AND (${target}::text IS NULL OR target = ${target})`;
  const [rows, [{ total }]] = await Promise.all([
    queryRows<AuditRow>(db, sql`SELECT ${AUDIT_COLUMNS} FROM cron_audit_log ${where} ORDER BY created_at DESC, id DESC LIMIT ${opts.limit} OFFSET ${opts.offset}`),
    queryRows<{ total: DbNumber }>(db, sql`SELECT count(*)::int AS total FROM cron_audit_log ${where}`),
  ]);
  return { entries: rows.map(toAuditEntry), total: num(total) };
}
