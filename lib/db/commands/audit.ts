import { sql } from "drizzle-orm";
import type { Actor, AuditAction } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { AUDIT_COLUMNS, toAuditEntry, type AuditEntry, type AuditRow } from "../queries/audit";

/**
 * The audit row of an operator's action. Only the commands write it, each in the transaction
 * of the change it records: the change and its row commit together or not at all. The
 * detail always says how the operator came in (`via`); the client's address and the dashboard
 * session (null for the bearer token and the CLI) are the actor's.
 */
export async function writeAudit(tx: Db, actor: Actor, action: AuditAction, target: string | null, detail: Record<string, unknown> = {}): Promise<AuditEntry> {
  const [inserted] = await queryRows<AuditRow>(
    tx,
    sql`INSERT INTO cron_audit_log (actor, action, target, detail, ip_address, session_id)
        VALUES (${actor.name}, ${action}, ${target}, ${JSON.stringify({ ...detail, via: actor.via })}::jsonb, ${actor.ip}, ${actor.session ?? null})
        RETURNING ${AUDIT_COLUMNS}`,
  );
  return toAuditEntry(inserted);
}
