import { sql } from "drizzle-orm";
import { queryRows, type Db } from "../client";
import { isoOrNull, type DbTime } from "../rows";

/** A job's stored overrides (cron_job_config.overrides, lib/overrides) with who set them last and when. */
export interface StoredOverrides {
  doc: Record<string, unknown>;
  at: string | null;
  by: string | null;
}

interface OverrideRow {
  job_name: string;
  overrides: Record<string, unknown> | string | null;
  overrides_at: DbTime | null;
  overrides_by: string | null;
}

const storedOf = (r: OverrideRow): StoredOverrides => ({
  doc: (typeof r.overrides === "string" ? JSON.parse(r.overrides) : r.overrides) ?? {},
  at: isoOrNull(r.overrides_at),
  by: r.overrides_by,
});

/** Every job's stored overrides in one query (jobs without any are absent). */
export async function readAllOverrides(db: Db): Promise<Map<string, StoredOverrides>> {
  const rows = await queryRows<OverrideRow>(db, sql`SELECT job_name, overrides, overrides_at, overrides_by FROM cron_job_config WHERE overrides IS NOT NULL`);
  return new Map(rows.map((r) => [r.job_name, storedOf(r)]));
}

/** One job's stored overrides; `forUpdate` locks its config row (inside a transaction) so concurrent edits merge in turn. */
export async function readOverrides(db: Db, jobName: string, forUpdate = false): Promise<StoredOverrides> {
  const [row] = await queryRows<OverrideRow>(
    db,
    forUpdate
      ? sql`SELECT job_name, overrides, overrides_at, overrides_by FROM cron_job_config WHERE job_name = ${jobName} FOR UPDATE`
      : sql`SELECT job_name, overrides, overrides_at, overrides_by FROM cron_job_config WHERE job_name = ${jobName}`,
  );
  return row ? storedOf(row) : { doc: {}, at: null, by: null };
}

