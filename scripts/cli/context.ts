import { userInfo } from "node:os";
import { relative, resolve } from "node:path";
import nextEnv from "@next/env";
import type { OperationDeps } from "../../lib/app/operations/deps";
import type { EngineDeps } from "../../lib/cron/run-job";
import type { JobDefinition } from "../../lib/cron/define-job";
import type { JobRegistry } from "../../lib/cron/registry";
import { redact, redactDeep } from "../../lib/cron/redact";
import type { Actor } from "../../lib/cron/vocabulary";
import { closeDatabase, EmbeddedDatabaseError, getDatabase, targetFromEnv, type Database, type DatabaseTarget } from "../../lib/db/client";
import { EnvError, loadEnv, secretsOf, type Env } from "../../lib/env";
import { getRegistry } from "../../lib/jobs";
import { CliError, UsageError } from "./errors";

/** The project root (scripts/cli/ is two levels down): migrations, vercel.json and .next live here. */
export const projectRoot = resolve(import.meta.dirname, "../..");

/**
 * Where the CLI reads the .env files and finds the running `npm run dev` (.data/dev-server.json):
 * the project root, or CRONDECK_ENV_DIR (a test's own directory, so a developer's .env.local
 * stays out of it). With __NEXT_PROCESSED_ENV set (a parent already applied its .env files, as
 * the tests' children are told) none is read.
 */
export function envDir(): string {
  return process.env.CRONDECK_ENV_DIR ? resolve(process.env.CRONDECK_ENV_DIR) : projectRoot;
}

/**
 * Loads the .env files the way `next dev` does (.env.development.local, .env.local,
 * .env.development, .env; `.env.production*` when NODE_ENV=production), so the CLI sees the
 * same configuration as the app. Variables already set, even to "", win. Idempotent.
 */
export function loadDotenv(root = envDir()): ReturnType<typeof nextEnv.loadEnvConfig> {
  const log = { info: () => {}, error: (message: unknown) => void process.stderr.write(`crondeck: ${String(message)}\n`) };
  return nextEnv.loadEnvConfig(root, process.env.NODE_ENV !== "production", log);
}

/** Where a variable's value comes from: "your environment", the .env file that set it (".env.local"), or null when unset. */
export function envSource(name: string, root = envDir()): string | null {
  if (nextEnv.initialEnv?.[name] !== undefined) return "your environment";
  const file = loadDotenv(root).loadedEnvFiles.find((f) => f.env[name] !== undefined);
  if (file) return file.path;
  return process.env[name] !== undefined ? "your environment" : null;
}

/**
 * What stdout gets: JSON for --json, the human rendering otherwise. Notes always go to stderr.
 * Everything printed is scrubbed of the configured secrets (every string of a JSON result, keys
 * included), whatever the command read: stored rows are scrubbed when written, this is the
 * second line.
 */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly secrets: () => readonly string[] = () => [],
  ) {}

  /** Prints the command's result: `value` as JSON, or the human text. */
  result(value: Record<string, unknown>, human: () => string | string[]): void {
    if (this.json) {
      process.stdout.write(`${JSON.stringify(redactDeep(value, this.secrets()), null, 2)}\n`);
      return;
    }
    const text = human();
    const lines = redact(Array.isArray(text) ? text.join("\n") : text, this.secrets());
    if (lines) process.stdout.write(lines.endsWith("\n") ? lines : `${lines}\n`);
  }

  /** A remark for the operator, never part of the result. */
  note(text: string): void {
    process.stderr.write(`${redact(text, this.secrets())}\n`);
  }
}

/** Everything a command needs, opened lazily: `--help` and `vercel check` never touch the database. */
export interface CliContext {
  out: Output;
  /** The project root (the process works from here). */
  root: string;
  /** Where the command was typed: paths on the command line are relative to it. */
  cwd: string;
  now(): Date;
  env(): Env;
  registry(): JobRegistry;
  /** A job by name, or a CliError naming the fix. */
  job(name: string): JobDefinition;
  database(): Promise<Database>;
  engine(): Promise<EngineDeps>;
  /** What the operations (lib/app/operations) need, without the engine: most run no job. */
  ops(): Promise<Pick<OperationDeps, "db" | "registry">>;
  /** The same with the engine, for run now and replay. */
  opsWithEngine(): Promise<OperationDeps>;
  /** "cli:<os user>" by way of the CLI, recorded on runs and in the audit log. */
  actor: Actor;
  /** Scrubs secret values from text shown to the operator. */
  redact(text: string): string;
  close(): Promise<void>;
}

function osUser(): string {
  try {
    return userInfo().username || "unknown";
  } catch {
    // A container user without a passwd entry.
    return process.env.USER || process.env.LOGNAME || "unknown";
  }
}

/** Where the database is, without its password. */
export function describeTarget(target: DatabaseTarget, root = projectRoot): string {
  if (target.kind === "pglite") return `the embedded database (PGlite) in ${target.dataDir ? relative(root, target.dataDir) || "." : "memory"}`;
  try {
    const url = new URL(target.url);
    return `${target.kind === "neon" ? "Neon" : "Postgres"} at ${url.hostname}${url.port ? `:${url.port}` : ""}${url.pathname}`;
  } catch {
    return target.kind === "neon" ? "Neon" : "Postgres";
  }
}

function connectionProblem(error: unknown): string {
  const e = error as { code?: string; message?: string; errors?: Array<{ code?: string }> };
  const code = e.code ?? e.errors?.[0]?.code;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (is the server running?)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host not found";
    case "28P01":
    case "28000":
      return "authentication failed";
    case "3D000":
      return "the database does not exist";
    case "ETIMEDOUT":
      return "connection timed out";
    default:
      return (e.message ?? String(error)).split("\n")[0];
  }
}

export function createContext(options: { json: boolean; cwd?: string; now?: () => Date }): CliContext {
  let secrets: readonly string[] | undefined;
  /** The configured secrets (none when the environment does not parse: nothing parsed to scrub). */
  const configuredSecrets = (): readonly string[] => {
    if (!secrets) {
      try {
        secrets = secretsOf(ctx.env());
      } catch {
        return [];
      }
    }
    return secrets;
  };
  const out = new Output(options.json, configuredSecrets);
  let env: Env | undefined;
  let engine: EngineDeps | undefined;
  let database: Database | undefined;
  let flushObservers: (() => Promise<void>) | undefined;
  const actor: Actor = { name: `cli:${osUser()}`, via: "cli", ip: null };

  const ctx: CliContext = {
    out,
    root: projectRoot,
    cwd: options.cwd ?? process.cwd(),
    now: options.now ?? (() => new Date()),
    actor,
    env() {
      if (!env) {
        try {
          env = loadEnv();
        } catch (error) {
          if (error instanceof EnvError) throw new CliError("invalid_environment", `${error.message}\nFix the variable (in your shell or .env.local) and run the command again.`);
          throw error;
        }
      }
      return env;
    },
    registry() {
      return getRegistry(ctx.env());
    },
    job(name) {
      const job = ctx.registry().get(name);
      if (!job) {
        const demo = name.startsWith("demo-") && !ctx.env().CRON_DEMO ? " (demo jobs load with CRON_DEMO=1)" : "";
        throw new UsageError(`unknown job "${name}"${demo}: run \`crondeck jobs list\` to see the jobs`, "job_not_found");
      }
      return job;
    },
    async database() {
      if (database) return database;
      const e = ctx.env();
      const target = targetFromEnv(e);
      try {
        database = await getDatabase(e);
      } catch (error) {
        // The embedded database is another process's (refused, so nothing is lost), or damaged:
        // its message names the directory and the fix.
        if (error instanceof EmbeddedDatabaseError) {
          throw new CliError(error.reason === "busy" ? "embedded_database_busy" : "embedded_database_damaged", error.message);
        }
        throw new CliError(
          "database_unreachable",
          ctx.redact(
            `database unreachable: ${describeTarget(target)}: ${connectionProblem(error)}. Check DATABASE_URL (or POSTGRES_URL) and that the server accepts connections.`,
          ),
        );
      }
      return database;
    },
    async engine() {
      if (engine) return engine;
      // The app's own engine on the same database handle: run store, Redis pre-lock, holder
      // (host:pid), code version, secrets, and the observers that send alerts and check-ins.
      const opened = await ctx.database();
      const { createRuntime } = await import("../../lib/app/runtime");
      const runtime = createRuntime({ env: ctx.env(), database: opened, registry: ctx.registry() });
      flushObservers = () => runtime.observers.flush();
      engine = runtime.engine;
      return engine;
    },
    async ops() {
      const { db } = await ctx.database();
      return { db, registry: ctx.registry() };
    },
    async opsWithEngine() {
      return { ...(await ctx.ops()), engine: await ctx.engine() };
    },
    redact(text) {
      return redact(text, configuredSecrets());
    },
    async close() {
      // Alerts and Sentry events of a run started here go out before the process ends.
      await flushObservers?.().catch(() => {});
      if (database) {
        database = undefined;
        await closeDatabase().catch(() => {});
      }
    },
  };
  return ctx;
}
