import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import type { Db } from "./client";

interface JournalEntry {
  idx: number;
  when: number;
  tag: string;
}

export interface Migration {
  tag: string;
  createdAt: number;
  hash: string;
  statements: string[];
}

/** The migrations folder: drizzle/ beside package.json (traced into the Vercel bundle by next.config.mjs). */
export function migrationsFolder(): string {
  return join(/* turbopackIgnore: true */ process.cwd(), "drizzle");
}

/** Reads drizzle-kit's journal and SQL files (generated and custom alike). */
export function readMigrations(folder = migrationsFolder()): Migration[] {
  const journal = JSON.parse(readFileSync(join(folder, "meta", "_journal.json"), "utf8")) as { entries: JournalEntry[] };
  return journal.entries.map((entry) => {
    const text = readFileSync(join(folder, `${entry.tag}.sql`), "utf8");
    return {
      tag: entry.tag,
      createdAt: entry.when,
      hash: createHash("sha256").update(text).digest("hex"),
      statements: text.split("--> statement-breakpoint").map((s) => s.trim()).filter(Boolean),
    };
  });
}

// Any constant works; it only has to be the same for every instance of the app.
const MIGRATION_LOCK_KEY = 727_274_001;

/**
 * Applies pending migrations in one transaction under an advisory lock, so instances
 * that start together apply them once. The bookkeeping table is drizzle's own
 * (drizzle.__drizzle_migrations: hash, created_at), so drizzle-kit agrees with it.
 * Returns the tags applied.
 */
export async function migrate(db: Db, migrations: Migration[] = readMigrations()): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await tx.execute(sql`CREATE SCHEMA IF NOT EXISTS drizzle`);
    await tx.execute(sql`CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`);
    const result = (await tx.execute(sql`SELECT max(created_at)::text AS last FROM drizzle.__drizzle_migrations`)) as unknown as { rows: Array<{ last: string | null }> };
    const last = Number(result.rows[0]?.last ?? 0);
    const applied: string[] = [];
    for (const migration of migrations) {
      if (migration.createdAt <= last) continue;
      for (const statement of migration.statements) await tx.execute(sql.raw(statement));
      await tx.execute(sql`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (${migration.hash}, ${migration.createdAt})`);
      applied.push(migration.tag);
    }
    return applied;
  });
}
