import type { Actor } from "../../cron/vocabulary";
import type { Db } from "../client";
import { insertSession, revokeSession, revokeSessionsNotUnder, type NewSession, type SessionRecord } from "../sessions";
import { inTransaction } from "./transaction";
import { writeAudit } from "./audit";

/**
 * A dashboard login and logout: the session row and its audit row commit together. The audit
 * row carries the session's id (the actor's `session`), as every later action of that session does.
 */

/** Stores a new session and its session.login row; sessions made under an older ADMIN_TOKEN are marked revoked on the way. */
export function startSession(db: Db, actor: Actor, session: NewSession, detail: Record<string, unknown> = {}): Promise<SessionRecord> {
  return inTransaction(db, async (tx) => {
    await revokeSessionsNotUnder(tx, session.tokenFingerprint, session.now);
    const record = await insertSession(tx, session);
    await writeAudit(tx, { ...actor, session: session.id }, "session.login", null, detail);
    return record;
  });
}

/**
 * A logout: revokes the actor's session and writes its session.logout row; false when there was
 * no live session to end (it had ended already, or a bearer-token request, which has none).
 */
export function endSession(db: Db, actor: Actor, now: Date): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    const revoked = actor.session ? await revokeSession(tx, actor.session, "logout", now) : false;
    await writeAudit(tx, actor, "session.logout", null, actor.session && !revoked ? { alreadyEnded: true } : {});
    return revoked;
  });
}
