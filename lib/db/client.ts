import { hostname } from "node:os";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Logger, SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { Env } from "../env";
import * as schema from "./schema";
import { migrate } from "./migrate";
import { acquireEmbeddedLock, damagedMessage, EmbeddedDatabaseError, holdsDatabase, shownDir } from "./embedded-lock";

export { EmbeddedDatabaseError } from "./embedded-lock";

export type Schema = typeof schema;
/** The drizzle database, whichever driver is behind it. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export type DatabaseTarget =
  | { kind: "pglite"; dataDir: string | null }
  | { kind: "postgres"; url: string; poolSize?: number; queryTimeoutMs?: number }
  | { kind: "neon"; url: string; queryTimeoutMs?: number };

export interface Database {
  kind: DatabaseTarget["kind"];
  db: Db;
  close(): Promise<void>;
  /**
   * Runs `work` on one connection without the statement timeout (migrations: an index on a
   * large table may take minutes). Absent when the database has no timeout (PGlite).
   */
  withoutTimeouts?<T>(work: (db: Db) => Promise<T>): Promise<T>;
}

/** Default for CRON_DB_QUERY_TIMEOUT_MS. */
export const DEFAULT_QUERY_TIMEOUT_MS = 5_000;

const NEON_HOST_RE = /@[^/?]*\.neon\.tech(:\d+)?([/?]|$)/;

/** Which database the environment asks for: Neon/Vercel Postgres, a Postgres server, or embedded PGlite. */
export function targetFromEnv(env: Pick<Env, "DATABASE_URL" | "POSTGRES_URL" | "PGLITE_DIR"> & Partial<Pick<Env, "CRON_DB_QUERY_TIMEOUT_MS">>): DatabaseTarget {
  const queryTimeoutMs = env.CRON_DB_QUERY_TIMEOUT_MS;
  if (env.DATABASE_URL) return NEON_HOST_RE.test(env.DATABASE_URL) ? { kind: "neon", url: env.DATABASE_URL, queryTimeoutMs } : { kind: "postgres", url: env.DATABASE_URL, queryTimeoutMs };
  if (env.POSTGRES_URL) return { kind: "neon", url: env.POSTGRES_URL, queryTimeoutMs };
  return { kind: "pglite", dataDir: resolve(env.PGLITE_DIR) };
}

/**
 * Pool settings that bound every call on a server connection, so a black-holed database (a
 * dead switch, a frozen server: no reply, no reset) makes a request fail in seconds, not hang:
 * - statement_timeout: the server cancels a statement running longer (57014, answered 503);
 * - query_timeout: the client gives up on a reply that never comes (1 s later, so a live but slow
 *   server answers with its own cancel first);
 * - connectionTimeoutMillis: connecting, and waiting for a free pooled connection;
 * - keepAlive: TCP keepalive on every socket, so the kernel notices a peer that vanished while idle.
 */
function timeoutSettings(queryTimeoutMs: number) {
  return {
    statement_timeout: queryTimeoutMs,
    query_timeout: queryTimeoutMs + 1_000,
    connectionTimeoutMillis: queryTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

type PgClientLike = { connectionParameters: { query_timeout?: number | false }; query(text: string): Promise<unknown>; release(destroy?: boolean): void };

/** Runs `work` on one pooled connection with no statement or query timeout, then restores both. */
async function onConnectionWithoutTimeouts<T>(pool: { connect(): Promise<unknown> }, wrap: (client: unknown) => Db, work: (db: Db) => Promise<T>): Promise<T> {
  const client = (await pool.connect()) as PgClientLike;
  const saved = client.connectionParameters.query_timeout;
  let broken = false;
  try {
    client.connectionParameters.query_timeout = false;
    await client.query("SET statement_timeout = 0");
    return await work(wrap(client));
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    client.connectionParameters.query_timeout = saved;
    if (!broken) await client.query("RESET statement_timeout").catch(() => (broken = true));
    client.release(broken);
  }
}

/** Opens a connection (pool) without migrating. */
export async function openDatabase(target: DatabaseTarget, options: { logger?: Logger } = {}): Promise<Database> {
  const config = { schema, logger: options.logger };
  switch (target.kind) {
    case "pglite": {
      const { PGlite } = await import("@electric-sql/pglite");
      const { drizzle } = await import("drizzle-orm/pglite");
      if (!target.dataDir) {
        const client = new PGlite();
        await client.waitReady;
        return { kind: "pglite", db: drizzle(client, config) as unknown as Db, close: () => client.close() };
      }
      const dataDir = target.dataDir;
      mkdirSync(dirname(dataDir), { recursive: true });
      // One process per data directory (lib/db/embedded-lock.ts): refused here, before PGlite touches it.
      const release = acquireEmbeddedLock(dataDir);
      const existed = holdsDatabase(dataDir);
      let client: InstanceType<typeof PGlite>;
      try {
        client = new PGlite(dataDir);
        await client.waitReady;
      } catch (error) {
        release();
        if (existed) throw new EmbeddedDatabaseError(damagedMessage(dataDir, error), "damaged", dataDir);
        throw new EmbeddedDatabaseError(
          `the embedded database could not be created in ${shownDir(dataDir)} (${(error as Error).message.split("\n")[0]}): check that the directory is writable and the disk has room, or set PGLITE_DIR to another directory or DATABASE_URL to a Postgres server.`,
          "unopenable",
          dataDir,
        );
      }
      return {
        kind: "pglite",
        db: drizzle(client, config) as unknown as Db,
        close: async () => {
          try {
            await client.close();
          } finally {
            release();
          }
        },
      };
    }
    case "postgres": {
      const { default: pg } = await import("pg");
      const { drizzle } = await import("drizzle-orm/node-postgres");
      /**
       * A client whose reply timed out is closed rather than reused: its socket still has the
       * unanswered query in flight, so every later query on it would queue behind that one.
       */
      class TimeoutClient extends pg.Client {
        override query(...args: unknown[]): any {
          const last = args.length - 1;
          const onTimeout = (error: unknown) => {
            if ((error as Error | undefined)?.message === "Query read timeout") (this as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
          };
          if (typeof args[last] === "function") {
            const callback = args[last] as (error: unknown, result: unknown) => void;
            args[last] = (error: unknown, result: unknown) => {
              onTimeout(error);
              callback(error, result);
            };
          }
          const result = (super.query as (...a: unknown[]) => unknown)(...args);
          if (result && typeof (result as Promise<unknown>).then === "function") (result as Promise<unknown>).catch(onTimeout);
          return result;
        }
      }
      const pool = new pg.Pool({
        connectionString: target.url,
        max: target.poolSize ?? 10,
        idleTimeoutMillis: 30_000,
        ...timeoutSettings(target.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS),
        Client: TimeoutClient,
      });
      // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
      pool.on("error", () => {});
      return {
        kind: "postgres",
        db: drizzle(pool, config) as unknown as Db,
        close: () => pool.end(),
        withoutTimeouts: (work) => onConnectionWithoutTimeouts(pool, (client) => drizzle(client as never, config) as unknown as Db, work),
      };
    }
    case "neon": {
      const { Pool, neonConfig } = await import("@neondatabase/serverless");
      const { drizzle } = await import("drizzle-orm/neon-serverless");
      if (typeof WebSocket === "undefined") neonConfig.webSocketConstructor = (await import("ws")).default;
      // The same bounds as node-postgres (the Neon driver is a fork of it); keepAlive has no
      // meaning over its WebSocket, whose close the query timeout stands in for.
      const { keepAlive: _keepAlive, keepAliveInitialDelayMillis: _delay, ...settings } = timeoutSettings(target.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS);
      const pool = new Pool({ connectionString: target.url, ...settings });
      pool.on("error", () => {});
      return {
        kind: "neon",
        db: drizzle(pool, config) as unknown as Db,
        close: () => pool.end(),
        withoutTimeouts: (work) => onConnectionWithoutTimeouts(pool, (client) => drizzle(client as never, config) as unknown as Db, work),
      };
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

/** Applies pending migrations, without the statement timeout (a migration may take long on a big table). */
export async function migrateDatabase(database: Database): Promise<string[]> {
  return database.withoutTimeouts ? database.withoutTimeouts((db) => migrate(db)) : migrate(database.db);
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
        await migrateDatabase(database);
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
