import type { AuditAction } from "../cron/vocabulary";
import type { Db } from "./client";
import { insertAuditRow } from "./commands/audit";
import type { AuditEntry } from "./queries/audit";

/**
 * The audit log's former entry point. Reads are in lib/db/queries/audit.ts, writes in
 * lib/db/commands (each command writes its own row); the action names are the vocabulary's.
 */
export { AUDIT_ACTIONS, type AuditAction } from "../cron/vocabulary";
export { listAudit, type AuditEntry } from "./queries/audit";

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

/** An audit row with the detail as given; commands use writeAudit (lib/db/commands/audit.ts) instead. */
export function recordAudit(db: Db, entry: AuditInput): Promise<AuditEntry> {
  return insertAuditRow(db, { actor: entry.actor, action: entry.action, target: entry.target ?? null, detail: entry.detail ?? null, ipAddress: entry.ipAddress ?? null });
}
