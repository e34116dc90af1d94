import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { formatDurationMs } from "../../lib/cron/duration";
import { readDevState } from "../../lib/dev/dev-state";
import type { Env } from "../../lib/env";
import { dashboardUrl } from "../../lib/app/observers";
import { EXECUTE_PATH, TICK_PATH, vercelCronHeaders } from "../../lib/vercel/crons";
import { parseVercelJson } from "../../lib/vercel/check";
import type { CliContext } from "./context";
import { envDir, envSource } from "./context";
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from "./errors";
import { explainSkip } from "./format";
import { inputOption } from "./input";
import { stringOption, type CommandInput } from "./spec";

/**
 * `crondeck trigger`: asks the RUNNING app to run a job (or the tick) over HTTP, exactly as a
 * scheduler or curl would, with the CRON_SECRET from the same .env files the app reads. It
 * never opens the database: it works while `npm run dev` owns the embedded one.
 */

/** Longer than the execute route's own limit (maxDuration 300 s), so the route answers first. */
export const DEFAULT_TIMEOUT_SECONDS = 330;

/** What Vercel Cron sends besides the secret (the local scheduler of `npm run dev` sends the same). */
const CLI_USER_AGENT = "crondeck-trigger/1.0";

/** The idempotency key the execute route accepts (lib/http/parse.ts decides; this only keeps fetch from throwing on a header it cannot send). */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

export type TriggerMode =
  | { kind: "manual"; job: string }
  | { kind: "slot"; job: string; slot: Date }
  | { kind: "key"; job: string; key: string }
  | { kind: "schedule"; job: string }
  | { kind: "tick" };

/** The command line as a trigger: which call, or a UsageError naming the fix. */
export function triggerMode(input: CommandInput): TriggerMode {
  const job = input.args[0];
  const slot = stringOption(input, "slot");
  const key = stringOption(input, "key");
  const schedule = input.options.schedule === true;
  const tick = input.options.tick === true;
  const chosen = [slot !== undefined && "--slot", key !== undefined && "--key", schedule && "--schedule", tick && "--tick"].filter(Boolean);
  if (chosen.length > 1) throw new UsageError(`${chosen.join(" and ")} cannot be combined: pick one (\`crondeck trigger --help\` says what each sends)`, "invalid_option");
  if (tick) {
    if (job !== undefined) throw new UsageError(`--tick calls ${TICK_PATH}, not a job: drop "${job}" or drop --tick`, "invalid_argument");
    return { kind: "tick" };
  }
  if (job === undefined) throw new UsageError("missing <job>, the job to run (or --tick for the tick): usage `crondeck trigger <job> [--slot ISO | --key K | --schedule]`", "missing_argument");
  if (slot !== undefined) {
    const parsed = new Date(slot);
    if (!/^\d{4}-\d{2}-\d{2}/.test(slot.trim()) || Number.isNaN(parsed.getTime())) {
      throw new UsageError(`--slot must be an ISO 8601 time such as --slot 2026-11-24T01:00:00Z; got "${slot}"`, "invalid_option");
    }
    return { kind: "slot", job, slot: parsed };
  }
  if (key !== undefined) {
    if (key.length === 0 || key.length > 200 || !HEADER_SAFE.test(key)) {
      throw new UsageError(`--key must be 1-200 visible ASCII characters (no spaces), such as --key deploy-42; got "${key.slice(0, 40)}"`, "invalid_option");
    }
    return { kind: "key", job, key };
  }
  return schedule ? { kind: "schedule", job } : { kind: "manual", job };
}

/** --timeout in seconds (default {@link DEFAULT_TIMEOUT_SECONDS}). */
export function timeoutSeconds(input: CommandInput): number {
  const raw = stringOption(input, "timeout");
  if (raw === undefined) return DEFAULT_TIMEOUT_SECONDS;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || value <= 0 || value > 3_600) {
    throw new UsageError(`--timeout must be a number of seconds from 1 to 3600, such as --timeout ${DEFAULT_TIMEOUT_SECONDS}; got "${raw}"`, "invalid_option");
  }
  return value;
}

export interface AppTarget {
  /** The base URL, without a trailing slash. */
  base: string;
  /** Where it came from, for messages. */
  source: "--url" | "npm run dev" | "NEXT_PUBLIC_APP_URL" | "PORT";
}

/** Which app: --url, else the running `npm run dev` of this project, else NEXT_PUBLIC_APP_URL, else http://localhost:$PORT. */
export function appTarget(url: string | undefined, devUrl: string | null | undefined, env: Pick<Env, "NEXT_PUBLIC_APP_URL" | "PORT">): AppTarget {
  if (url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`--url must be the app's base URL, such as --url http://127.0.0.1:3000; got "${url.slice(0, 80)}"`, "invalid_option");
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new UsageError(`--url must start with http:// or https://; got "${url.slice(0, 80)}"`, "invalid_option");
    if (parsed.username || parsed.password) throw new UsageError("--url must not carry a user or password: the CRON_SECRET is the credential", "invalid_option");
    return { base: `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`, source: "--url" };
  }
  if (devUrl) return { base: devUrl.replace(/\/+$/, ""), source: "npm run dev" };
  if (env.NEXT_PUBLIC_APP_URL) return { base: env.NEXT_PUBLIC_APP_URL.replace(/\/+$/, ""), source: "NEXT_PUBLIC_APP_URL" };
  return { base: `http://localhost:${env.PORT}`, source: "PORT" };
}

export interface TriggerRequest {
  method: "GET" | "POST";
  url: string;
  headers: Record<string, string>;
  /** A manual run's JSON body ({ input }), when it has an input. */
  body?: string;
  /** The job it runs (the tick's own job for --tick). */
  jobName: string;
}

/**
 * The request for a mode, as the execute route reads it (lib/http/execute.ts): a POST is a
 * manual run unless `trigger=schedule` asks for the slot; `slot=` picks an occurrence; an
 * Idempotency-Key deduplicates manual runs; a GET is what Vercel Cron sends (the slot due now).
 * A manual run's input goes as the JSON body `{ input }`; only manual runs take one.
 */
export function triggerRequest(mode: TriggerMode, base: string, secret: string, cronSchedule: string | null, runInput?: unknown): TriggerRequest {
  if (runInput !== undefined) {
    if (mode.kind !== "manual" && mode.kind !== "key") throw new UsageError("--input goes with a manual run (no flag, or --key): a scheduled slot, --schedule and --tick run with the job's default input", "invalid_option");
    const manual = triggerRequest(mode, base, secret, cronSchedule);
    return { ...manual, headers: { ...manual.headers, "content-type": "application/json" }, body: JSON.stringify({ input: runInput }) };
  }
  const auth = { authorization: `Bearer ${secret}` };
  const vercel = vercelCronHeaders(secret, cronSchedule);
  if (mode.kind === "tick") return { method: "GET", url: `${base}${TICK_PATH}`, headers: vercel, jobName: "crondeck-tick" };
  const path = `${base}${EXECUTE_PATH}/${encodeURIComponent(mode.job)}`;
  const cli = { ...auth, "user-agent": CLI_USER_AGENT };
  switch (mode.kind) {
    case "manual":
      return { method: "POST", url: path, headers: cli, jobName: mode.job };
    case "slot":
      return { method: "POST", url: `${path}?${new URLSearchParams({ trigger: "schedule", slot: mode.slot.toISOString() })}`, headers: cli, jobName: mode.job };
    case "key":
      return { method: "POST", url: path, headers: { ...cli, "idempotency-key": mode.key }, jobName: mode.job };
    case "schedule":
      return { method: "GET", url: path, headers: vercel, jobName: mode.job };
  }
}

/** The schedule vercel.json gives a cron path (what Vercel sends as x-vercel-cron-schedule), or null. */
export function vercelScheduleOf(root: string, path: string): string | null {
  const file = join(root, "vercel.json");
  if (!existsSync(file)) return null;
  const parsed = parseVercelJson(readFileSync(file, "utf8"));
  if (!parsed.ok || !Array.isArray(parsed.value.crons)) return null;
  const entry = (parsed.value.crons as Array<{ path?: unknown; schedule?: unknown }>).find((c) => c?.path === path);
  return typeof entry?.schedule === "string" ? entry.schedule : null;
}

interface Execution {
  id?: string;
  status?: string;
  scheduledFor?: string | null;
  duration?: number;
  attempts?: number;
  trigger?: string;
  nextRetryAt?: string;
}

interface Answer {
  success?: boolean;
  skipped?: boolean;
  replaced?: boolean;
  reason?: string;
  code?: string;
  error?: string;
  message?: string;
  jobName?: string;
  execution?: Execution;
}

/** The human lines and exit code for the execute route's JSON answer (a run, a skip, or an error with a code). */
export function describeAnswer(status: number, body: Answer, ctx: { jobName: string; base: string; secretFrom: string }): { exitCode: number; lines: string[]; code?: string } {
  const run = body.execution;
  const link = run?.id ? dashboardUrl({ NEXT_PUBLIC_APP_URL: ctx.base }, body.jobName ?? ctx.jobName, run.id) : null;
  const tail = [...(run?.id ? [`  run        ${run.id}`] : []), ...(run?.trigger ? [`  trigger    ${run.trigger}${run.scheduledFor ? ` (slot ${run.scheduledFor})` : ""}`] : []), ...(link ? [`  dashboard  ${link}`] : [])];
  const job = body.jobName ?? ctx.jobName;
  if (body.skipped) return { exitCode: EXIT_OK, lines: [`${job}: skipped: ${explainSkip(body.reason ?? "", job)}`, ...tail] };
  if (run && status < 300) {
    const took = typeof run.duration === "number" ? ` in ${formatDurationMs(run.duration)}` : "";
    const what = body.replaced ? "stopped by a newer trigger (overlap: replace)" : `${run.status ?? "completed"}${took}`;
    return { exitCode: EXIT_OK, lines: [`${job}: ${what}${run.attempts && run.attempts > 1 ? ` after ${run.attempts} attempts` : ""}`, ...tail] };
  }
  if (run && status === 500) {
    const what = run.status === "timed_out" ? "timed out" : run.status === "retry_scheduled" ? `failed attempt ${run.attempts}; the tick starts the next at ${run.nextRetryAt}` : "failed";
    return { exitCode: EXIT_FAILURE, code: `run_${run.status ?? "failed"}`, lines: [`${job}: ${what}${run.status !== "retry_scheduled" && run.attempts ? ` after ${run.attempts} attempt(s)` : ""}`, ...(body.error ? [`  error      ${body.error}`] : []), ...tail] };
  }
  // An error with a code: refused, bad input, or the run's result in doubt.
  const message = body.error ?? body.message ?? `the app answered ${status}`;
  const code = body.code ?? `http_${status}`;
  if (status === 401) {
    return {
      exitCode: EXIT_FAILURE,
      code,
      lines: [`the app at ${ctx.base} refused the CRON_SECRET from ${ctx.secretFrom}: the running app was started with another one; restart it (or pass the secret it uses)`],
    };
  }
  if (code === "cron_secret_not_configured") {
    return { exitCode: EXIT_FAILURE, code, lines: [`the app at ${ctx.base} has no CRON_SECRET, so it refuses every trigger: set CRON_SECRET where the app reads it (.env.local; \`npm run dev\` writes one on its first run) and restart it`] };
  }
  if (status === 400) return { exitCode: EXIT_USAGE, code, lines: [`the app refused the request: ${message}`] };
  return { exitCode: EXIT_FAILURE, code, lines: [`${job}: ${message}`, ...tail] };
}

/** The cause of a failed fetch, as a word: refused, not found, reset. */
function networkProblem(error: unknown): string {
  const e = error as { name?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code;
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return "the connection was reset";
  return (e.cause?.message ?? (error as Error).message ?? String(error)).split("\n")[0];
}

async function jobNames(base: string, secret: string): Promise<string[] | null> {
  try {
    const response = await fetch(`${base}/api/cron/jobs`, { headers: { authorization: `Bearer ${secret}` }, redirect: "manual", signal: AbortSignal.timeout(10_000) });
    const body = (await response.json()) as { jobs?: Array<{ name?: string }> };
    return Array.isArray(body.jobs) ? body.jobs.map((j) => String(j.name)) : null;
  } catch {
    return null;
  }
}

export async function trigger(ctx: CliContext, input: CommandInput): Promise<number> {
  const mode = triggerMode(input);
  const timeout = timeoutSeconds(input);
  const env = ctx.env();
  const dir = envDir();
  const target = appTarget(stringOption(input, "url"), readDevState(dir)?.url, env);
  const rel = relative(ctx.cwd, dir);
  const shownDir = rel.startsWith("..") ? dir : rel || ".";
  if (!env.CRON_SECRET) {
    throw new CliError(
      "cron_secret_missing",
      `CRON_SECRET is not set in your environment nor in the .env files of ${shownDir} (.env.local, .env): \`npm run dev\` writes one to .env.local on its first run; or set CRON_SECRET to the secret the app uses`,
    );
  }
  const secretFrom = envSource("CRON_SECRET") ?? "your environment";
  const schedulePath = mode.kind === "tick" ? TICK_PATH : `${EXECUTE_PATH}/${mode.job}`;
  const cronSchedule = mode.kind === "schedule" || mode.kind === "tick" ? vercelScheduleOf(ctx.root, schedulePath) : null;
  if (mode.kind === "schedule" && !cronSchedule) ctx.out.note(`note: vercel.json has no cron for ${schedulePath} (Vercel Cron would not call it; the tick dispatches it): sending no x-vercel-cron-schedule`);
  const request = triggerRequest(mode, target.base, env.CRON_SECRET, cronSchedule, inputOption(input, ctx.cwd));

  let response: Response;
  let text: string;
  try {
    response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body, redirect: "manual", signal: AbortSignal.timeout(timeout * 1000) });
    text = await response.text();
  } catch (error) {
    if ((error as Error).name === "TimeoutError" || (error as Error).name === "AbortError") {
      throw new CliError(
        "timeout",
        `no answer from ${target.base} within ${timeout} s: the run may still be going (the dashboard shows it, ${target.base}/dashboard/admin/cron-jobs/${encodeURIComponent(request.jobName)}); wait longer with --timeout <seconds>`,
      );
    }
    const from = target.source === "--url" ? "" : ` (from ${target.source === "PORT" ? "the default, PORT" : target.source})`;
    throw new CliError("app_unreachable", `nothing answers at ${target.base}${from}: ${networkProblem(error)}. Start the app with \`npm run dev\`, or pass --url <the app's base URL>`);
  }

  let body: Answer | undefined;
  try {
    body = JSON.parse(text) as Answer;
  } catch {
    body = undefined;
  }
  if (!body || typeof body !== "object") {
    const type = response.headers.get("content-type") ?? "no content type";
    throw new CliError("not_crondeck", `${target.base} answered ${response.status} (${type.split(";")[0]}), not Crondeck's JSON, for ${request.method} ${new URL(request.url).pathname}: is --url the Crondeck app?`);
  }

  if (body.code === "job_not_found") {
    const names = await jobNames(target.base, env.CRON_SECRET);
    const known = names?.length ? `; the jobs it knows: ${names.join(", ")}` : "";
    const message = `the app at ${target.base} has no job "${request.jobName}"${known}. A job you just added must be listed in lib/jobs/index.ts (the dev server picks it up on save; \`next start\` needs a rebuild)`;
    if (ctx.out.json) ctx.out.result(body as Record<string, unknown>, () => []);
    process.stderr.write(`crondeck: ${ctx.redact(message)}\n`);
    return EXIT_USAGE;
  }

  const described = describeAnswer(response.status, body, { jobName: request.jobName, base: target.base, secretFrom });
  if (ctx.out.json) {
    // The app's answer as it sent it; a failure's reason also goes to stderr.
    ctx.out.result(body as Record<string, unknown>, () => []);
    if (described.exitCode !== EXIT_OK) process.stderr.write(`crondeck: ${ctx.redact(described.lines[0])}\n`);
    return described.exitCode;
  }
  if (described.exitCode === EXIT_OK) ctx.out.result({}, () => described.lines);
  else process.stderr.write(`${ctx.redact(`crondeck: ${described.lines.join("\n")}`)}\n`);
  return described.exitCode;
}
