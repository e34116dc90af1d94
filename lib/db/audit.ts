import { sql } from "drizzle-orm";
import { queryRows, type Db } from "./client";

/** What an admin did. Stable names: the audit page filters on them. */
export const AUDIT_ACTIONS = [
  "session.login",
  "session.logout",
  "job.enable",
  "job.disable",
  "job.pause",
  "job.resume",
  "job.pause_all",
  "job.resume_all",
  "job.run",
  "job.recover",
  "dead_letter.retry",
  "dead_letter.mark_failed",
  "dead_letter.notes",
  "lock.clear",
  "logs.cleanup",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditInput {
  /** "admin" (session cookie) or "api-token" (bearer). */
  actor: string;
  action: AuditAction;
  /** The job name, dead-letter id or lease the action was about; null for app-wide actions. */
  target?: string | null;
  detail?: Record<string, unknown> | null;
  /** The client's address (x-forwarded-for first hop, or x-real-ip). */
  ipAddress?: string | null;
}

export interface AuditEntry {
  id: number;
  actor: string;
  action: string;
  target: string | null;
  detail: Record<string, unknown> | null;
  ipAddress: string | null;
  createdAt: string;
}

export async function recordAudit(db: Db, entry: AuditInput): Promise<AuditEntry> {
  const [row] = await queryRows<Record<string, unknown>>(
    db,
    sql`INSERT INTO cron_audit_log (actor, action, target, detail, ip_address)
        VALUES (${entry.actor}, ${entry.action}, ${entry.target ?? null}, ${entry.detail ? JSON.stringify(entry.detail) : null}::jsonb, ${entry.ipAddress ?? null})
        RETURNING id, actor, action, target, detail, ip_address, created_at`,
  );
  return toEntry(row);
}

/** Newest first. `action` filters on one action name (unknown names simply match nothing). */
export async function listAudit(db: Db, opts: { limit: number; offset: number; action?: string | null; target?: string | null }): Promise<{ entries: AuditEntry[]; total: number }> {
  const action = opts.action ?? null;
  const target = opts.target ?? null;
  const where = sql`WHERE (${action}::text IS NULL OR action = ${action}) AND (${target}::text IS NULL OR target = ${target})`;
  const rows = await queryRows<Record<string, unknown>>(
    db,
    sql`SELECT id, actor, action, target, detail, ip_address, created_at FROM cron_audit_log ${where}
        ORDER BY created_at DESC, id DESC LIMIT ${opts.limit} OFFSET ${opts.offset}`,
  );
  const [{ total }] = await queryRows<{ total: number }>(db, sql`SELECT count(*)::int AS total FROM cron_audit_log ${where}`);
  return { entries: rows.map(toEntry), total: Number(total) };
}

function toEntry(r: Record<string, unknown>): AuditEntry {
  return {
    id: Number(r.id),
    actor: r.actor as string,
    action: r.action as string,
    target: (r.target as string | null) ?? null,
    detail: (typeof r.detail === "string" ? JSON.parse(r.detail) : r.detail) as Record<string, unknown> | null,
    ipAddress: (r.ip_address as string | null) ?? null,
    createdAt: new Date(r.created_at as string).toISOString(),
  };
}
