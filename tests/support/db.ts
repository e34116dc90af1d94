import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe } from "vitest";
import { openDatabase, type Database, type Db } from "@/lib/db/client";
import { migrate } from "@/lib/db/migrate";

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

/** The Postgres server the integration tests use, if any (TEST_DATABASE_URL, else DATABASE_URL). */
export function serverUrl(): string | undefined {
  return process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || undefined;
}

export function testDatabaseKinds(): TestDatabaseKind[] {
  return serverUrl() ? ["pglite", "postgres"] : ["pglite"];
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
  if (!adminUrl) throw new Error("set TEST_DATABASE_URL (or DATABASE_URL) to run the tests on a Postgres server");
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
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

export interface DatabaseSuiteContext {
  readonly kind: TestDatabaseKind;
  readonly db: Db;
  readonly database: TestDatabase;
}

/** Runs the same suite on PGlite and, when a server is configured, on the Postgres server. */
export function describeOnDatabases(title: string, body: (ctx: DatabaseSuiteContext) => void): void {
  for (const kind of testDatabaseKinds()) {
    describe(`${title} [${kind}]`, () => {
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
}
