import { hostname } from "node:os";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Logger, SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { Env } from "../env";
import * as schema from "./schema";
import { migrate } from "./migrate";

export type Schema = typeof schema;
/** The drizzle database, whichever driver is behind it. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export type DatabaseTarget =
  | { kind: "pglite"; dataDir: string | null }
  | { kind: "postgres"; url: string; poolSize?: number }
  | { kind: "neon"; url: string };

export interface Database {
  kind: DatabaseTarget["kind"];
  db: Db;
  close(): Promise<void>;
}

const NEON_HOST_RE = /@[^/?]*\.neon\.tech(:\d+)?([/?]|$)/;

/** Which database the environment asks for: Neon/Vercel Postgres, a Postgres server, or embedded PGlite. */
export function targetFromEnv(env: Pick<Env, "DATABASE_URL" | "POSTGRES_URL" | "PGLITE_DIR">): DatabaseTarget {
  if (env.DATABASE_URL) return NEON_HOST_RE.test(env.DATABASE_URL) ? { kind: "neon", url: env.DATABASE_URL } : { kind: "postgres", url: env.DATABASE_URL };
  if (env.POSTGRES_URL) return { kind: "neon", url: env.POSTGRES_URL };
  return { kind: "pglite", dataDir: resolve(env.PGLITE_DIR) };
}

/** Opens a connection (pool) without migrating. */
export async function openDatabase(target: DatabaseTarget, options: { logger?: Logger } = {}): Promise<Database> {
  const config = { schema, logger: options.logger };
  switch (target.kind) {
    case "pglite": {
      const { PGlite } = await import("@electric-sql/pglite");
      const { drizzle } = await import("drizzle-orm/pglite");
      if (target.dataDir) mkdirSync(dirname(target.dataDir), { recursive: true });
      const client = target.dataDir ? new PGlite(target.dataDir) : new PGlite();
      await client.waitReady;
      return { kind: "pglite", db: drizzle(client, config) as unknown as Db, close: () => client.close() };
    }
    case "postgres": {
      const { default: pg } = await import("pg");
      const { drizzle } = await import("drizzle-orm/node-postgres");
      const pool = new pg.Pool({ connectionString: target.url, max: target.poolSize ?? 10, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 5_000 });
      // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
      pool.on("error", () => {});
      return { kind: "postgres", db: drizzle(pool, config) as unknown as Db, close: () => pool.end() };
    }
    case "neon": {
      const { Pool, neonConfig } = await import("@neondatabase/serverless");
      const { drizzle } = await import("drizzle-orm/neon-serverless");
      if (typeof WebSocket === "undefined") neonConfig.webSocketConstructor = (await import("ws")).default;
      const pool = new Pool({ connectionString: target.url });
      pool.on("error", () => {});
      return { kind: "neon", db: drizzle(pool, config) as unknown as Db, close: () => pool.end() };
    }
  }
}

/** Runs raw SQL and returns its rows, whatever the driver's result shape. */
export async function queryRows<T = Record<string, unknown>>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/** Who holds a lease: the Vercel deployment and region, or host:pid when self-hosted. */
export function currentHolder(env: Pick<Env, "VERCEL_DEPLOYMENT_ID" | "VERCEL_REGION">): string {
  if (env.VERCEL_DEPLOYMENT_ID) return `${env.VERCEL_DEPLOYMENT_ID}/${env.VERCEL_REGION ?? "unknown"}`;
  return `${hostname()}:${process.pid}`;
}

const GLOBAL_KEY = Symbol.for("crondeck.database");
type Holder = { [GLOBAL_KEY]?: Promise<Database> };

/**
 * The app's database, opened and migrated on first use. Kept on globalThis so Next.js
 * dev's module reloads share one PGlite (two handles on one data directory do not see
 * each other's writes).
 */
export function getDatabase(env: Env): Promise<Database> {
  const holder = globalThis as Holder;
  if (!holder[GLOBAL_KEY]) {
    holder[GLOBAL_KEY] = (async () => {
      const database = await openDatabase(targetFromEnv(env));
      try {
        await migrate(database.db);
      } catch (error) {
        await database.close().catch(() => {});
        throw error;
      }
      return database;
    })();
    // A failed open (server down) is not cached: the next request tries again.
    holder[GLOBAL_KEY].catch(() => {
      delete holder[GLOBAL_KEY];
    });
  }
  return holder[GLOBAL_KEY];
}

/** The app's database if this process has opened it, without opening it. */
export async function openedDatabase(): Promise<Database | null> {
  const pending = (globalThis as Holder)[GLOBAL_KEY];
  return pending ? pending.catch(() => null) : null;
}

/** Closes the app's database (graceful shutdown, tests). */
export async function closeDatabase(): Promise<void> {
  const holder = globalThis as Holder;
  const pending = holder[GLOBAL_KEY];
  delete holder[GLOBAL_KEY];
  if (pending) await (await pending.catch(() => null))?.close();
}
