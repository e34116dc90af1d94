import { createHash, randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import { OperationError } from "../../cron/errors";
import { roleAllows, type Actor, type AdminRole } from "../../cron/vocabulary";
import { queryRows, type Db } from "../client";
import { isoOrNull, iso, type DbTime } from "../rows";
import { writeAudit } from "./audit";
import { inTransaction } from "./transaction";

/**
 * Personal API tokens (cron_api_tokens, 0019): a script's bearer token that acts as a named
 * person with a role. The secret is shown once, when it is made; the table keeps its SHA-256.
 * Creating and revoking write their audit rows in the same transaction. Who may: an admin for
 * anyone, with any role; anyone else for themselves, with at most their own role.
 */

/** Every personal token starts so: a bearer value without it is compared with ADMIN_TOKEN instead. */
export const API_TOKEN_PREFIX = "cdk_";
/** How much of the secret lists show. */
const SHOWN_CHARS = API_TOKEN_PREFIX.length + 6;
/** last_used_at is written at most once per this many seconds per token. */
const TOUCH_AFTER_SECONDS = 60;

export const hashApiToken = (secret: string) => createHash("sha256").update(secret, "utf8").digest("hex");

export interface ApiToken {
  id: string;
  name: string;
  owner: string;
  role: AdminRole;
  /** The secret's first characters ("cdk_3fA9xQ"): enough to tell tokens apart, useless to use. */
  prefix: string;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
}

interface ApiTokenRow {
  id: string;
  name: string;
  owner: string;
  role: AdminRole;
  prefix: string;
  created_at: DbTime;
  created_by: string;
  expires_at: DbTime | null;
  last_used_at: DbTime | null;
  revoked_at: DbTime | null;
  revoked_by: string | null;
}

const COLUMNS = sql`id, name, owner, role, prefix, created_at, created_by, expires_at, last_used_at, revoked_at, revoked_by`;

const toToken = (r: ApiTokenRow): ApiToken => ({
  id: r.id,
  name: r.name,
  owner: r.owner,
  role: r.role,
  prefix: r.prefix,
  createdAt: iso(r.created_at),
  createdBy: r.created_by,
  expiresAt: isoOrNull(r.expires_at),
  lastUsedAt: isoOrNull(r.last_used_at),
  revokedAt: isoOrNull(r.revoked_at),
  revokedBy: r.revoked_by ?? null,
});

/** Who is acting, as the token rules need it: their name and role. */
export interface TokenActor extends Actor {
  role: AdminRole;
}

export interface NewApiToken {
  name: string;
  /** The person it acts as; default the actor. */
  owner?: string;
  role: AdminRole;
  /** Days until it stops working; null: until revoked. */
  expiresInDays: number | null;
}

/** Makes a token (its row and its api_token.create audit row) and returns it with its secret, which nothing stores. */
export async function createApiToken(db: Db, actor: TokenActor, input: NewApiToken, now: Date): Promise<{ token: ApiToken; secret: string }> {
  const owner = input.owner ?? actor.name;
  if (actor.role !== "admin" && owner !== actor.name) {
    throw new OperationError("forbidden", "forbidden_role", `Only an admin makes tokens for someone else; you are ${actor.name} (${actor.role}): leave owner out to make one for yourself.`, "owner");
  }
  if (!roleAllows(actor.role, input.role)) {
    throw new OperationError("forbidden", "forbidden_role", `A token cannot do more than the person who makes it: you are ${actor.role}, so its role may be at most ${actor.role}.`, "role");
  }
  const secret = `${API_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
  const expiresAt = input.expiresInDays === null ? null : new Date(now.getTime() + input.expiresInDays * 86_400_000).toISOString();
  return inTransaction(db, async (tx) => {
    const [row] = await queryRows<ApiTokenRow>(
      tx,
      sql`INSERT INTO cron_api_tokens (name, owner, role, token_hash, prefix, created_at, created_by, expires_at)
          VALUES (${input.name}, ${owner}, ${input.role}, ${hashApiToken(secret)}, ${secret.slice(0, SHOWN_CHARS)}, ${now.toISOString()}::timestamptz, ${actor.name}, ${expiresAt}::timestamptz)
          RETURNING ${COLUMNS}`,
    );
    await writeAudit(tx, actor, "api_token.create", row.id, { name: input.name, owner, role: input.role, expiresAt });
    return { token: toToken(row), secret };
  });
}

/** Revokes a token (and writes api_token.revoke): the next request with it is refused. Its owner or an admin may. */
export async function revokeApiToken(db: Db, actor: TokenActor, id: string, now: Date): Promise<ApiToken> {
  return inTransaction(db, async (tx) => {
    const [current] = await queryRows<ApiTokenRow>(tx, sql`SELECT ${COLUMNS} FROM cron_api_tokens WHERE id = ${id}::uuid FOR UPDATE`);
    if (!current || (actor.role !== "admin" && current.owner !== actor.name)) throw new OperationError("not_found", "token_not_found", `No token ${id} of yours: GET /api/admin/tokens lists them.`);
    if (current.revoked_at) return toToken(current);
    const [row] = await queryRows<ApiTokenRow>(
      tx,
      sql`UPDATE cron_api_tokens SET revoked_at = ${now.toISOString()}::timestamptz, revoked_by = ${actor.name} WHERE id = ${id}::uuid RETURNING ${COLUMNS}`,
    );
    await writeAudit(tx, actor, "api_token.revoke", id, { name: row.name, owner: row.owner });
    return toToken(row);
  });
}

/** The tokens an actor sees: everyone's for an admin, their own otherwise; newest first, revoked ones included. */
export async function listApiTokens(db: Db, actor: TokenActor): Promise<ApiToken[]> {
  const rows = await queryRows<ApiTokenRow>(
    db,
    actor.role === "admin"
      ? sql`SELECT ${COLUMNS} FROM cron_api_tokens ORDER BY created_at DESC, id LIMIT 500`
      : sql`SELECT ${COLUMNS} FROM cron_api_tokens WHERE owner = ${actor.name} ORDER BY created_at DESC, id LIMIT 500`,
  );
  return rows.map(toToken);
}

/**
 * The live token whose secret is `secret` (not revoked, not expired at `now`), or null; moves
 * its last_used_at (at most once a minute) in the same statement.
 */
export async function useApiToken(db: Db, secret: string, now: Date): Promise<ApiToken | null> {
  const at = now.toISOString();
  const [row] = await queryRows<ApiTokenRow>(
    db,
    sql`WITH found AS (
          SELECT id FROM cron_api_tokens
          WHERE token_hash = ${hashApiToken(secret)} AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${at}::timestamptz)
        ), touched AS (
          UPDATE cron_api_tokens t SET last_used_at = ${at}::timestamptz FROM found
          WHERE t.id = found.id AND (t.last_used_at IS NULL OR t.last_used_at < ${at}::timestamptz - make_interval(secs => ${TOUCH_AFTER_SECONDS}))
          RETURNING t.id
        )
        SELECT ${COLUMNS} FROM cron_api_tokens WHERE id IN (SELECT id FROM found)`,
  );
  return row ? toToken(row) : null;
}
