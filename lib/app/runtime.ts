import { systemClock } from "../cron/clock";
import type { EngineDeps } from "../cron/run-job";
import type { JobRegistry } from "../cron/registry";
import { currentHolder, getDatabase, type Database } from "../db/client";
import { PostgresRunStore } from "../db/run-store";
import { dependencyGate, dependencyPendingMs } from "../cron/dependencies";
import { PostgresUpstreamSource } from "../db/queries/dependencies";
import { deliveryGraceMs } from "../vercel/crons";
import { codeVersion, loadEnv, secretsOf, type Env } from "../env";
import { getRegistry } from "../jobs";
import { redisLeaseStoreFromEnv } from "../locks/redis-lease-store";
import { overridesResolver } from "../overrides/store";
import { tracedObservers, tracedRunStore } from "../telemetry/run-spans";
import { getTracing, type Tracing } from "../telemetry/tracing";
import { createObservers, type ObserverOptions, type Observers } from "./observers";
import { stoppingSignal } from "./shutdown";

/**
 * The composition root: environment -> database -> stores -> engine -> observers. Nothing
 * here runs at import time; `createRuntime` builds from what it is given, `getRuntime` is the
 * server's one instance of it.
 */
export interface Runtime {
  env: Env;
  database: Database;
  registry: JobRegistry;
  engine: EngineDeps;
  observers: Observers;
}

export interface RuntimeInputs {
  env: Env;
  /** An open (and migrated) database. */
  database: Database;
  registry: JobRegistry;
  /** Aborts when the process starts shutting down: queued runs stop waiting and drop their rows. */
  stopping?: AbortSignal;
  /** Replaces the alert channels the environment configures (tests, a CLI that must not alert). */
  dispatcher?: ObserverOptions["dispatcher"];
  /** Where run spans go; default the process's OTLP exporter when OTEL_EXPORTER_OTLP_ENDPOINT is set (lib/telemetry/tracing.ts), null: none. */
  tracing?: Tracing | null;
}

/** Builds the stores, the engine's dependencies and the observers. Opens nothing; the only global it reads is the process's tracer (getTracing). */
export function createRuntime({ env, database, registry, stopping, dispatcher, tracing = getTracing(env, codeVersion(env)) }: RuntimeInputs): Runtime {
  const preLock = redisLeaseStoreFromEnv(env);
  // A job's own Slack webhook (alerts.slackWebhook) is a secret URL like SLACK_WEBHOOK_URL.
  const secrets = secretsOf(
    env,
    registry.list().map((job) => job.alerts.slackWebhook),
  );
  const observers = createObservers(env, database.db, secrets, { registry: () => registry, dispatcher });
  // With tracing on, a span per run (and per attempt, and per refused claim) around the same observers.
  const runObservers = tracing ? tracedObservers(observers, tracing, secrets) : observers;
  const runs = new PostgresRunStore(database.db);
  return {
    env,
    database,
    registry,
    observers,
    engine: {
      clock: systemClock,
      runs: tracing ? tracedRunStore(runs, tracing) : runs,
      preLock,
      holder: currentHolder(env),
      codeVersion: codeVersion(env),
      secrets,
      stopping,
      onRunStarted: runObservers.onRunStarted,
      onRunFinished: runObservers.onRunFinished,
      gate: dependencyGate({ source: new PostgresUpstreamSource(database.db), registry: () => registry, clock: systemClock, options: { pendingMs: dependencyPendingMs(deliveryGraceMs(env.CRON_PLAN)) } }),
      // The job with its run-time overrides (lib/overrides), read through a per-process cache.
      resolveJob: overridesResolver(database.db),
    },
  };
}

const GLOBAL_KEY = Symbol.for("crondeck.runtime");
type Holder = { [GLOBAL_KEY]?: Runtime };

/**
 * The server's runtime, built once per process (and again if the database handle or the
 * registry changed): loads the environment, opens (and migrates) the database on first use.
 */
export async function getRuntime(): Promise<Runtime> {
  const env = loadEnv();
  const database = await getDatabase(env);
  const registry = getRegistry(env);
  const holder = globalThis as Holder;
  const cached = holder[GLOBAL_KEY];
  if (cached && cached.database === database && cached.registry === registry) return cached;
  // Aborted when a graceful shutdown starts (lib/app/shutdown.ts).
  const runtime = createRuntime({ env, database, registry, stopping: stoppingSignal() });
  holder[GLOBAL_KEY] = runtime;
  return runtime;
}
