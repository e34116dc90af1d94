import { spawn } from "node:child_process";
import { resolve } from "node:path";

export const projectRoot = resolve(import.meta.dirname, "../..");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is JSON (--json). */
  json: any;
}

/**
 * Runs a command of the project as an operator would (`node --import tsx scripts/cli.ts ...`
 * by default), as a child process. The shell's connection and alert variables are blanked
 * unless `env` sets them (empty means unset to lib/env.ts); undefined removes a variable.
 * NODE_ENV=test so only .env.test* files load: a developer's .env.local stays out.
 */
export function runNode(command: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    NODE_ENV: "test",
    POSTGRES_URL: "",
    PGLITE_DIR: "",
    UPSTASH_REDIS_REST_URL: "",
    UPSTASH_REDIS_REST_TOKEN: "",
    KV_REST_API_URL: "",
    KV_REST_API_TOKEN: "",
    SENTRY_DSN: "",
    SLACK_WEBHOOK_URL: "",
    SMTP_URL: "",
    ALERT_EMAIL_TO: "",
    ALERT_WEBHOOK_URL: "",
    HEALTHCHECK_URLS: "",
    CRON_SECRET_PREVIOUS: "",
    VERCEL_ENV: "",
    ...opts.env,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return new Promise((resolveResult, reject) => {
    const child = spawn(process.execPath, command, { cwd: opts.cwd ?? projectRoot, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.once("error", reject);
    child.once("close", (code) => {
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolveResult({ code, stdout, stderr, json });
    });
  });
}

/** `crondeck <args>` through scripts/cli.ts. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  return runNode(["--import", "tsx", "scripts/cli.ts", ...args], opts);
}
