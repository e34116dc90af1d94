import type { EngineDeps } from "../cron/run-job";
import type { LeaseStore } from "../cron/lease-store";
import type { JobRegistry } from "../cron/registry";
import { currentHolder, getDatabase, type Database } from "../db/client";
import { PostgresRunStore } from "../db/run-store";
import { codeVersion, loadEnv, secretsOf, type Env } from "../env";
import { getRegistry } from "../jobs";
import { redisLeaseStoreFromEnv } from "../locks/redis-lease-store";
import { createObservers, type Observers } from "./observers";
import { stoppingSignal } from "./shutdown";

export interface Runtime {
  env: Env;
  database: Database;
  registry: JobRegistry;
  preLock: LeaseStore | null;
  engine: EngineDeps;
  observers: Observers;
}

const GLOBAL_KEY = Symbol.for("crondeck.runtime");
type Holder = { [GLOBAL_KEY]?: { database: Database; runtime: Runtime } };

/**
 * Everything a request needs, built once per process (and again if the database handle
 * changed). The database opens (and migrates) on first use.
 */
export async function getRuntime(): Promise<Runtime> {
  const env = loadEnv();
  const database = await getDatabase(env);
  const holder = globalThis as Holder;
  const cached = holder[GLOBAL_KEY];
  if (cached && cached.database === database) return cached.runtime;
  const preLock = redisLeaseStoreFromEnv(env);
  const secrets = secretsOf(env);
  const observers = createObservers(env, database.db, secrets);
  const runtime: Runtime = {
    env,
    database,
    registry: getRegistry(env),
    preLock,
    observers,
    engine: {
      runs: new PostgresRunStore(database.db),
      preLock,
      holder: currentHolder(env),
      codeVersion: codeVersion(env),
      secrets,
      // Aborted when a graceful shutdown starts: queued runs stop waiting and drop their rows.
      stopping: stoppingSignal(),
      onRunStarted: observers.onRunStarted,
      onRunFinished: observers.onRunFinished,
    },
  };
  holder[GLOBAL_KEY] = { database, runtime };
  return runtime;
}
