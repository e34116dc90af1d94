import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, it } from "vitest";
import { openDatabase, type Database, type Db } from "@/lib/db/client";
import { migrate } from "@/lib/db/migrate";
import { hasPostgresServer, NEEDS_POSTGRES, needsPostgresTitle, serverUrl } from "./postgres-server";

export { hasPostgresServer, NEEDS_POSTGRES, serverUrl };

export type TestDatabaseKind = "pglite" | "postgres";

/** True when the Postgres server of {@link serverUrl} accepts a connection within 2 s (suites that need it skip otherwise). */
export async function serverAnswers(): Promise<boolean> {
  const url = serverUrl();
  if (!url) return false;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export function testDatabaseKinds(): TestDatabaseKind[] {
  return hasPostgresServer() ? ["pglite", "postgres"] : ["pglite"];
}

const warned = new Set<string>();

/**
 * A suite that truly needs a Postgres server (direct access to the database a `next start`
 * uses, several processes on one database): without TEST_DATABASE_URL it is registered skipped,
 * its title saying why, and the file says so once on stderr.
 */
export function describeWithPostgres(title: string, body: () => void): void {
  if (hasPostgresServer()) {
    describe(title, body);
    return;
  }
  if (!warned.has(title)) {
    warned.add(title);
    console.warn(`skipped "${title}": ${NEEDS_POSTGRES}`);
  }
  describe.skip(needsPostgresTitle(title), body);
}

export interface TestDatabase extends Database {
  /** The connection URL of this test's own database (postgres only). */
  url?: string;
  dispose(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * A fresh, migrated database: an in-memory PGlite, or a new database on the server
 * (dropped on dispose), so test files run in parallel without seeing each other.
 */
export async function createTestDatabase(kind: TestDatabaseKind, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  if (kind === "pglite") {
    const database = await openDatabase({ kind: "pglite", dataDir: null });
    if (options.migrate !== false) await migrate(database.db);
    return { ...database, dispose: () => database.close() };
  }
  const adminUrl = serverUrl();
  if (!adminUrl) throw new Error(`this test ${NEEDS_POSTGRES}`);
  const name = `crondeck_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(adminUrl, name);
  const database = await openDatabase({ kind: "postgres", url });
  if (options.migrate !== false) await migrate(database.db);
  return {
    ...database,
    url,
    async dispose() {
      await database.close();
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      // A pool the test ended a moment ago may still be closing its connections: a forced drop
      // now would terminate them mid-close, and their pool would emit that as an unhandled
      // error in the test process. Wait for them to go (about a second at most), then force.
      for (let i = 0; ; i++) {
        try {
          await cleanup.query(i < 20 ? `DROP DATABASE IF EXISTS ${name}` : `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          break;
        } catch (error) {
          // 55006: the database is being accessed by other users.
          if ((error as { code?: string }).code !== "55006" || i >= 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      await cleanup.end();
    },
  };
}

/** A test that reads the database a `next start` writes (so it needs a Postgres server); without one it is registered skipped, its title saying why. */
export function itWithPostgres(title: string, fn: () => Promise<void>, timeout?: number): void {
  if (hasPostgresServer()) it(title, fn, timeout);
  else it.skip(needsPostgresTitle(title), fn);
}

/** A database for one `next start` that the test reaches only over HTTP: what to pass in its env, and the clean-up. */
export interface AppDatabase {
  kind: TestDatabaseKind;
  env: { DATABASE_URL: string } | { PGLITE_DIR: string };
  dispose(): Promise<void>;
}

/**
 * With a Postgres server, a database of its own there (unmigrated: the server migrates it on
 * first use, as in production); without one, a fresh PGlite directory that the server owns.
 */
export async function createAppDatabase(): Promise<AppDatabase> {
  if (hasPostgresServer()) {
    const database = await createTestDatabase("postgres", { migrate: false });
    return { kind: "postgres", env: { DATABASE_URL: database.url! }, dispose: () => database.dispose() };
  }
  const dir = await mkdtemp(join(tmpdir(), "crondeck-app-db-"));
  return { kind: "pglite", env: { PGLITE_DIR: join(dir, "pglite") }, dispose: () => rm(dir, { recursive: true, force: true }) };
}

export interface DatabaseSuiteContext {
  readonly kind: TestDatabaseKind;
  readonly db: Db;
  readonly database: TestDatabase;
}

/**
 * Registers `body` once per database kind, titled `title [kind]`: PGlite always, the Postgres
 * server when one is configured; without one the Postgres copy is registered skipped (its title
 * says why), so the summary of `npm test` counts it.
 */
export function describeEachKind(title: string, body: (kind: TestDatabaseKind) => void): void {
  for (const kind of ["pglite", "postgres"] as const) {
    const label = `${title} [${kind}]`;
    if (testDatabaseKinds().includes(kind)) describe(label, () => body(kind));
    else describe.skip(needsPostgresTitle(label), () => body(kind));
  }
}

/** Runs the same suite on a fresh migrated database of each kind (describeEachKind). */
export function describeOnDatabases(title: string, body: (ctx: DatabaseSuiteContext) => void): void {
  describeEachKind(title, (kind) => {
    let database: TestDatabase | undefined;
    beforeAll(async () => {
      database = await createTestDatabase(kind);
    });
    afterAll(async () => {
      await database?.dispose();
    });
    body({
      kind,
      get db() {
        if (!database) throw new Error("the test database is not open yet: use it inside a test or hook");
        return database.db;
      },
      get database() {
        if (!database) throw new Error("the test database is not open yet: use it inside a test or hook");
        return database;
      },
    });
  });
}
