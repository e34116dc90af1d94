import { sql } from "drizzle-orm";
import type { LeaseHolder, LeaseStore } from "../cron/lease-store";
import { isUuid } from "../cron/ids";
import { currentHolder, queryRows, type Db } from "./client";
import { pingDatabase } from "./queries/health";
import { num, type DbNumber } from "./rows";

/**
 * Leases in the cron_job_leases table: the source of truth (Postgres, Neon or PGlite).
 *
 * - The key is the job name (varchar(100)); the owner is the run id, so it must be a
 *   uuid (the run_id column's type). The `holder` column is only a human-readable note
 *   of which instance took the lease (shown on the dashboard), never compared.
 * - Expiry is by the *database* clock (now()), never the app's: instances whose clocks
 *   disagree still agree on whether a lease has expired.
 * - Each method is one statement, so it is atomic without a transaction, and two
 *   acquirers racing for the same row are serialised by its primary key.
 * - Every successful acquire takes a new fencing token from cron_fencing_token_seq, so a
 *   run that lost its lease can be told apart from the run that took it over. A losing
 *   acquire also draws a value (see STACK.md): tokens are increasing, not contiguous.
 */
export interface PostgresLeaseStoreOptions {
  /** Written to the `holder` column for operators, e.g. currentHolder(env) for the Vercel deployment. Default host:pid. */
  holder?: string;
}

export class PostgresLeaseStore implements LeaseStore {
  readonly kind = "postgres";
  readonly holderName: string;

  constructor(
    private readonly db: Db,
    options: PostgresLeaseStoreOptions = {},
  ) {
    this.holderName = options.holder ?? currentHolder({});
  }

  async acquire(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.acquireFenced(key, owner, ttlMs)) !== null;
  }

  /**
   * acquire(), returning the fencing token on success (null when the lease is held).
   * The same SQL the engine's claim uses (crondeck_take_lease): takes a free or expired
   * lease, marking an expired holder's run abandoned; a live row, even the same owner's,
   * is left alone (not re-entrant, like SET NX in the Redis store).
   */
  async acquireFenced(key: string, owner: string, ttlMs: number): Promise<number | null> {
    const rows = await queryRows<{ fencing_token: DbNumber | null }>(
      this.db,
      sql`SELECT CASE WHEN crondeck_take_lease(${key}, ${checkOwner(owner)}::uuid, t.token, ${this.holderName},
                        now() + ${checkTtl(ttlMs)}::double precision * interval '1 millisecond') THEN t.token END AS fencing_token
          FROM (SELECT nextval('cron_fencing_token_seq') AS token) t`,
    );
    // bigint arrives as a string from node-postgres; the sequence stays far below 2^53.
    return rows[0]?.fencing_token == null ? null : num(rows[0].fencing_token);
  }

  async extend(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const rows = await queryRows(
      this.db,
      sql`UPDATE cron_job_leases SET expires_at = now() + ${checkTtl(ttlMs)}::double precision * interval '1 millisecond'
          WHERE job_name = ${key} AND run_id = ${checkOwner(owner)}::uuid AND expires_at > now()
          RETURNING 1`,
    );
    return rows.length === 1;
  }

  /**
   * Deletes the owner's row even when it has expired (nobody else took it: it is only
   * clutter), but answers true only if the lease was still live, as Redis does (an
   * expired key is gone there): false tells the run it overran its lease.
   */
  async release(key: string, owner: string): Promise<boolean> {
    const rows = await queryRows<{ live: boolean }>(
      this.db,
      sql`DELETE FROM cron_job_leases WHERE job_name = ${key} AND run_id = ${checkOwner(owner)}::uuid
          RETURNING expires_at > now() AS live`,
    );
    return rows[0]?.live === true;
  }

  async holder(key: string): Promise<LeaseHolder | null> {
    // The remaining time is computed in SQL so it is by the database clock, like expiry.
    const rows = await queryRows<{ owner: string; expires_in_ms: DbNumber }>(
      this.db,
      sql`SELECT run_id::text AS owner, floor(extract(epoch FROM expires_at - now()) * 1000)::double precision AS expires_in_ms
          FROM cron_job_leases WHERE job_name = ${key} AND expires_at > now()`,
    );
    const row = rows[0];
    return row ? { owner: row.owner, expiresInMs: num(row.expires_in_ms) } : null;
  }

  async ping(): Promise<void> {
    await pingDatabase(this.db);
  }
}

// The run_id column is a uuid: a malformed owner would be a Postgres error mid-request.
function checkOwner(owner: string): string {
  if (!isUuid(owner)) throw new TypeError(`PostgresLeaseStore owners are run ids and must be uuids (crypto.randomUUID()), got ${JSON.stringify(owner)}`);
  return owner;
}

function checkTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs < 1) throw new RangeError(`ttlMs must be at least 1 (milliseconds), got ${ttlMs}`);
  return Math.ceil(ttlMs);
}
