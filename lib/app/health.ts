import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { LeaseStore } from "../cron/lease-store";
import { maskUrl, redact } from "../cron/redact";
import type { Db } from "../db/client";
import { codeVersion, loadEnv, type Env } from "../env";
import { pingDatabase } from "../db/queries/health";
import type { TickHealthSummary } from "./tick-watch";

/**
 * The health check: is the database answering, is the lock store answering, and (optionally)
 * do a few URLs answer. Dependencies come in as arguments so a job can run the same check.
 */

export type CheckStatus = "ok" | "failed";

export interface UrlCheck {
  url: string;
  status: CheckStatus;
  /** The HTTP status code, when the URL answered at all. */
  statusCode?: number;
  durationMs: number;
  /** Why it failed: "timeout", "network error", or "HTTP <code>". */
  error?: string;
}

export interface HealthyReport {
  status: "ok";
  database: "ok";
  databaseKind: string;
  databaseLatencyMs: number;
  lockStore: "ok" | "failed" | "not_configured";
  lockStoreKind?: string;
  urls?: UrlCheck[];
  /**
   * The tick's own health (lib/app/tick-watch.ts): a late tick leaves the app up (200) but
   * missed-run detection, retries and tick-dispatched jobs stopped. Absent when not checked.
   */
  tick?: TickHealthSummary | { state: "unknown"; late: null; error: string };
  version: string;
  uptimeSeconds: number;
  checkedAt: string;
}

export interface UnhealthyReport {
  status: "error";
  database: "unreachable";
  code: "database_unreachable";
  message: string;
  version: string;
  uptimeSeconds: number;
  checkedAt: string;
}

export type HealthReport = HealthyReport | UnhealthyReport;

export interface HealthDeps {
  /** Opens (or returns the already open) database. */
  openDb: () => Promise<Db>;
  /** What the database is (pglite, postgres, neon); reported as databaseKind. */
  databaseKind?: string;
  /** The lease store in front of Postgres, when one is configured (Upstash Redis). */
  leaseStore?: LeaseStore | null;
  /** URLs to fetch; each is reported ok (2xx/3xx) or failed. */
  urls?: string[];
  /** Per-URL timeout. Default 5000. */
  fetchTimeoutMs?: number;
  /** How long the database's round trip (pingDatabase) may take once it is open. Default 5000. */
  dbTimeoutMs?: number;
  /**
   * How long opening the database may take. The first open migrates it: PGlite on a fresh
   * directory took 2-5.5 s here, which would trip a 5 s budget. A Postgres server that does
   * not answer fails sooner anyway (the pool's connectionTimeoutMillis is 5000). Default 20000.
   */
  openTimeoutMs?: number;
  /** The code version reported. Default: reportedVersion(). */
  version?: string;
  /** Reads the tick's health once the database answers (and may act on it: the tick watch). A failure is reported, never fatal. */
  tick?: (db: Db) => Promise<TickHealthSummary>;
  /** Injected clock. Default Date.now. */
  now?: () => number;
  /** Where the database's error goes (redacted of URLs and passwords). Default console.error. */
  log?: (message: string) => void;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_OPEN_TIMEOUT_MS = 20_000;

class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** Rejects with TimeoutError after timeoutMs; the timer never keeps the process alive. */
function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

let packageVersion: string | undefined;

/** The running code as the health check reports it: the run rows' code version (lib/env.ts), else package.json's version. */
function reportedVersion(env: Env = loadEnv()): string {
  const recorded = codeVersion(env);
  if (recorded) return recorded;
  if (packageVersion === undefined) {
    try {
      packageVersion = (JSON.parse(readFileSync(join(process.cwd(), "package.json"), "utf8")) as { version?: string }).version ?? "unknown";
    } catch {
      packageVersion = "unknown";
    }
  }
  return packageVersion;
}

/**
 * Fetches a URL and reports how it answered. `fetch` refuses a URL with credentials in it, so a
 * `https://user:password@host/` entry sends them as HTTP Basic authentication instead; the
 * report names the URL with its credentials and query values masked (maskUrl).
 */
async function checkUrl(url: string, timeoutMs: number, now: () => number): Promise<UrlCheck> {
  const started = now();
  const shown = maskUrl(url);
  try {
    const target = new URL(url);
    const headers = new Headers();
    if (target.username || target.password) {
      const credentials = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
      headers.set("authorization", `Basic ${Buffer.from(credentials, "utf8").toString("base64")}`);
      target.username = "";
      target.password = "";
    }
    const response = await fetch(target, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: "manual", cache: "no-store" });
    // The body is not needed; release the socket.
    await response.body?.cancel().catch(() => {});
    const ok = response.status < 400;
    return {
      url: shown,
      status: ok ? "ok" : "failed",
      statusCode: response.status,
      durationMs: now() - started,
      ...(ok ? {} : { error: `HTTP ${response.status}` }),
    };
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return { url: shown, status: "failed", durationMs: now() - started, error: timedOut ? "timeout" : "network error" };
  }
}

/**
 * Checks the database (one round trip, within dbTimeoutMs), the lease store and the URLs.
 * Never throws: an unreachable database is an UnhealthyReport whose message carries no
 * connection string, host or password (the underlying error is the caller's to log).
 */
export async function checkHealth(deps: HealthDeps): Promise<HealthReport> {
  const now = deps.now ?? Date.now;
  const base = {
    version: deps.version ?? reportedVersion(),
    uptimeSeconds: Math.round(process.uptime()),
    checkedAt: new Date(now()).toISOString(),
  };
  const timeoutMs = deps.dbTimeoutMs ?? DEFAULT_TIMEOUT_MS;

  let databaseLatencyMs: number;
  let db: Db;
  try {
    db = await withTimeout(deps.openDb(), deps.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS, "The database");
    const started = now();
    await withTimeout(pingDatabase(db), timeoutMs, "The database");
    databaseLatencyMs = now() - started;
  } catch (error) {
    const timedOut = error instanceof TimeoutError;
    (deps.log ?? console.error)(`[health] database check failed: ${describeError(error)}`);
    return {
      status: "error",
      database: "unreachable",
      code: "database_unreachable",
      message: timedOut
        ? `${error.message}. Check that it is running and that DATABASE_URL (or POSTGRES_URL) points at it.`
        : "The database could not be reached. Check that it is running and that DATABASE_URL (or POSTGRES_URL) is correct; the server log has the driver's error.",
      ...base,
    };
  }

  const fetchTimeoutMs = deps.fetchTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const [lockStore, urls, tick] = await Promise.all([
    checkLeaseStore(deps.leaseStore ?? null, timeoutMs),
    deps.urls?.length ? Promise.all(deps.urls.map((url) => checkUrl(url, fetchTimeoutMs, now))) : Promise.resolve(undefined),
    deps.tick ? checkTick(deps.tick, db, timeoutMs, deps.log ?? console.error) : Promise.resolve(undefined),
  ]);

  return {
    status: "ok",
    database: "ok",
    databaseKind: deps.databaseKind ?? "unknown",
    databaseLatencyMs,
    lockStore: lockStore.status,
    ...(lockStore.kind ? { lockStoreKind: lockStore.kind } : {}),
    ...(urls ? { urls } : {}),
    ...(tick ? { tick } : {}),
    ...base,
  };
}

async function checkTick(read: (db: Db) => Promise<TickHealthSummary>, db: Db, timeoutMs: number, log: (message: string) => void): Promise<NonNullable<HealthyReport["tick"]>> {
  try {
    return await withTimeout(read(db), timeoutMs, "The tick's health");
  } catch (error) {
    log(`[health] tick check failed: ${describeError(error)}`);
    return { state: "unknown", late: null, error: error instanceof TimeoutError ? error.message : "the tick's health could not be read; the server log has the error" };
  }
}

async function checkLeaseStore(store: LeaseStore | null, timeoutMs: number): Promise<{ status: HealthyReport["lockStore"]; kind?: string }> {
  if (!store) return { status: "not_configured" };
  try {
    await withTimeout(store.ping(), timeoutMs, "The lock store");
    return { status: "ok", kind: store.kind };
  } catch {
    return { status: "failed", kind: store.kind };
  }
}

/**
 * A message meant for logs, with the one redaction (lib/cron/redact.ts) applied and every URL
 * in it shown as maskUrl shows it (credentials and query values as ***).
 */
export function redactSecrets(text: string): string {
  return redact(text)
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'`]*/gi, (url) => maskUrl(url))
    .replace(/(password\s*[=:]\s*)\S+/gi, "$1***");
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return redactSecrets(String(error));
  const code = (error as { code?: unknown }).code;
  return redactSecrets(`${error.name}${typeof code === "string" ? ` ${code}` : ""}: ${error.message}`);
}

/** 200 when healthy, 503 when the database is unreachable. */
export function healthStatusCode(report: HealthReport): 200 | 503 {
  return report.status === "ok" ? 200 : 503;
}
