import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import { toDate, toDateOrNull, type DbTime } from "../rows";

/**
 * Personal API tokens as stored (cron_api_tokens): never the secret, only its SHA-256
 * (lib/auth/api-tokens.ts). Lookup is by that hash, so no comparison of secrets happens here.
 */

export interface ApiTokenRecord {
  id: string;
  name: string;
  owner: string;
  role: string;
  prefix: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  revokedBy: string | null;
}

export interface ApiTokenDbRow {
  id: string;
  name: string;
  owner: string;
  role: string;
  prefix: string;
  created_at: DbTime;
  expires_at: DbTime | null;
  last_used_at: DbTime | null;
  revoked_at: DbTime | null;
  revoked_by: string | null;
}

export const API_TOKEN_COLUMNS = sql`id, name, owner, role, prefix, created_at, expires_at, last_used_at, revoked_at, revoked_by`;

export function toApiToken(r: ApiTokenDbRow): ApiTokenRecord {
  return {
    id: r.id,
    name: r.name,
    owner: r.owner,
    role: r.role,
    prefix: r.prefix,
    createdAt: toDate(r.created_at),
    expiresAt: toDateOrNull(r.expires_at),
    lastUsedAt: toDateOrNull(r.last_used_at),
    revokedAt: toDateOrNull(r.revoked_at),
    revokedBy: r.revoked_by ?? null,
  };
}

/** The token whose secret hashes to `hash`, live or not (the caller decides). */
export async function findApiTokenByHash(db: Db, hash: string): Promise<ApiTokenRecord | null> {
  const [row] = await queryRows<ApiTokenDbRow>(db, sql`SELECT ${API_TOKEN_COLUMNS} FROM cron_api_tokens WHERE token_hash = ${hash}`);
  return row ? toApiToken(row) : null;
}

export async function findApiToken(db: Db, id: string): Promise<ApiTokenRecord | null> {
  const [row] = await queryRows<ApiTokenDbRow>(db, sql`SELECT ${API_TOKEN_COLUMNS} FROM cron_api_tokens WHERE id = ${id}`);
  return row ? toApiToken(row) : null;
}

/** Tokens newest first: one owner's, or everyone's (owner null). */
export async function listApiTokens(db: Db, owner: string | null): Promise<ApiTokenRecord[]> {
  const rows = await queryRows<ApiTokenDbRow>(
    db,
    owner === null
      ? sql`SELECT ${API_TOKEN_COLUMNS} FROM cron_api_tokens ORDER BY created_at DESC, id LIMIT 500`
      : sql`SELECT ${API_TOKEN_COLUMNS} FROM cron_api_tokens WHERE owner = ${owner} ORDER BY created_at DESC, id LIMIT 500`,
  );
  return rows.map(toApiToken);
}

/** Moves last_used_at to `now` when it is at least a minute old (one write a minute per token at most). */
export async function touchApiToken(db: Db, id: string, now: Date): Promise<void> {
  await queryRows(
    db,
    sql`UPDATE cron_api_tokens SET last_used_at = ${now.toISOString()}::timestamptz
        WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at <= ${now.toISOString()}::timestamptz - interval '1 minute') RETURNING id`,
  );
}
