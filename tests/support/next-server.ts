import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { freePort } from "../../scripts/cli/stress-instances";

/** The app's root: next start runs here (it reads .next/ and, at run time, drizzle/). */
export const projectRoot = resolve(import.meta.dirname, "../..");
const nextBin = resolve(projectRoot, "node_modules/next/dist/bin/next");

export interface NextServer {
  url: string;
  port: number;
  /** Sends the signal (default SIGTERM; SIGKILL after 10 s) and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Everything the server printed so far, stdout and stderr interleaved. */
  output(): string;
  process: ChildProcess;
}

export interface NextServerOptions {
  /** Merged over process.env; an explicit undefined removes the variable. */
  env?: Record<string, string | undefined>;
  /** Default: a free port. */
  port?: number;
}

/** A port nothing listens on right now (the stress command's helper, one for both). */
export { freePort };

/**
 * Variables from the developer's shell that would change what a test server connects to or
 * tells: a test passes the ones it means explicitly.
 */
export const ISOLATED_VARIABLES = [
  "DATABASE_URL",
  "POSTGRES_URL",
  "PGLITE_DIR",
  "UPSTASH_REDIS_REST_URL",
  "UPSTASH_REDIS_REST_TOKEN",
  "KV_REST_API_URL",
  "KV_REST_API_TOKEN",
  "SENTRY_DSN",
  "SLACK_WEBHOOK_URL",
  "SMTP_URL",
  "ALERT_EMAIL_TO",
  "ALERT_WEBHOOK_URL",
  "ALERT_WEBHOOK_SECRET",
  "TRUST_PROXY",
  "VERCEL_ENV",
  "VERCEL_URL",
  "NEXT_PUBLIC_APP_URL",
  "CRON_SECRET",
  "CRON_SECRET_PREVIOUS",
  "ADMIN_TOKEN",
  "HEALTHCHECK_URLS",
  "CRON_DEMO",
  "METRICS_TOKEN",
  "TICK_HEARTBEAT_URL",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_HEADERS",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_SERVICE_NAME",
  "SENTRY_TRACES_SAMPLE_RATE",
] as const;

/**
 * Set in the environment of every process a test spawns: @next/env's loadEnvConfig (next
 * start, next build, the CLI's loadDotenv) then applies no .env* file, as when Next itself
 * already loaded them. A developer's .env.local (the one `npm run dev` writes) never reaches a
 * test's server, build or command: each sees only process.env and what the test gives it.
 */
export const NO_ENV_FILES = { __NEXT_PROCESSED_ENV: "true" } as const;

/**
 * The environment of every child a test spawns (next start, next build, the CLI): process.env
 * without the isolated variables, with NO_ENV_FILES, then the overrides; undefined removes.
 * NODE_ENV is left for next start to set (production).
 */
export function childEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, ...NO_ENV_FILES };
  for (const key of ISOLATED_VARIABLES) delete env[key];
  // vitest sets NODE_ENV=test; next start must run as production unless a test says otherwise.
  delete env.NODE_ENV;
  env.NEXT_TELEMETRY_DISABLED = "1";
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Spawns a server command with the isolated environment and collects its output and exit. */
function spawnServer(command: string, args: string[], env: Record<string, string | undefined> | undefined) {
  const child = spawn(command, args, {
    cwd: projectRoot,
    env: childEnv(env) as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once("exit", (code, signal) => resolveExit({ code, signal }));
  });
  return { child, exited, output: () => output };
}

function spawnNextStart(port: number, env: Record<string, string | undefined> | undefined) {
  return spawnServer(process.execPath, [nextBin, "start", "-p", String(port), "-H", "127.0.0.1"], env);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `next start` on the last build and waits until /api/health answers anything
 * (any status: a 503 is still a running server). Fails with the server's output if it
 * exits first or does not answer within startTimeoutMs (default 60 s).
 */
export async function startNextServer(opts: NextServerOptions & { startTimeoutMs?: number } = {}): Promise<NextServer> {
  const port = opts.port ?? (await freePort());
  return waitForServer("next start", port, spawnNextStart(port, opts.env), opts.startTimeoutMs);
}

/** Waits until /api/health on the spawned server answers; the server's handle, or its output when it exits or stays silent. */
async function waitForServer(what: string, port: number, spawned: ReturnType<typeof spawnServer>, startTimeoutMs = 60_000): Promise<NextServer> {
  const { child, exited, output } = spawned;
  const url = `http://127.0.0.1:${port}`;
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((info) => (exitInfo = info));

  const stop = async (signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> => {
    if (exitInfo) return exitInfo.code;
    child.kill(signal);
    const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const { code } = await exited;
    clearTimeout(killer);
    return code;
  };

  const deadline = Date.now() + startTimeoutMs;
  while (true) {
    if (exitInfo) {
      throw new Error(`${what} exited (code ${exitInfo.code}, signal ${exitInfo.signal}) before answering:\n${output()}`);
    }
    if (Date.now() > deadline) {
      await stop("SIGKILL");
      throw new Error(`${what} did not answer on ${url}/api/health within ${startTimeoutMs} ms:\n${output()}`);
    }
    try {
      const response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(15_000) });
      await response.body?.cancel();
      break;
    } catch {
      await sleep(100);
    }
  }
  return { url, port, stop, output, process: child };
}

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/**
 * Runs `next start` expecting it to stop by itself (a bad environment). If it is still
 * running after timeoutMs (default 30 s) it is killed and the promise rejects with its output.
 */
export async function runNextExpectingExit(opts: NextServerOptions & { timeoutMs?: number } = {}): Promise<ExitResult> {
  const port = opts.port ?? (await freePort());
  const { child, exited, output } = spawnNextStart(port, opts.env);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
  const result = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (result === "timeout") {
    child.kill("SIGKILL");
    await exited;
    throw new Error(`next start was still running after ${timeoutMs} ms; expected it to exit:\n${output()}`);
  }
  return { ...result, output: output() };
}

/**
 * Starts the app the way a supervisor does: `npm start` itself (npm, its shell, then next
 * start), not next directly, so a test can signal npm's pid. Waits like startNextServer.
 */
export async function startNpmStart(opts: NextServerOptions & { startTimeoutMs?: number } = {}): Promise<NextServer> {
  const port = opts.port ?? (await freePort());
  return waitForServer("npm start", port, spawnServer("npm", ["start", "--", "-p", String(port), "-H", "127.0.0.1"], opts.env), opts.startTimeoutMs);
}
