import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { JobContext } from "@/lib/cron/define-job";
import { closeDatabase } from "@/lib/db/client";
import healthCheck from "@/lib/jobs/health-check";

/**
 * The built-in health-check job names HEALTHCHECK_URLS with their userinfo and query values
 * masked in its own log lines and error, before any redaction: its handler runs here without
 * the engine (nothing scrubs what it writes) on an embedded database, against a local server
 * where one URL fails.
 */
const PASSWORD = "probe-password-Zq81";
const KEY = "api-key-value-Xk27";
const TOKEN = "token-value-Wm93";

let server: Server;
let dataDir: string;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  // /down fails; /private answers only with the probe's Basic credentials.
  const expected = `Basic ${Buffer.from(`probe:${PASSWORD}`).toString("base64")}`;
  server = createServer((req, res) => {
    if (req.url?.startsWith("/down")) return void res.writeHead(503).end("down");
    if (req.url?.startsWith("/private") && req.headers.authorization !== expected) return void res.writeHead(401).end("who?");
    res.writeHead(200).end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  dataDir = mkdtempSync(join(tmpdir(), "crondeck-hc-"));
  // The handler reads the environment itself (loadEnv), as on a deployment.
  const env: Record<string, string> = {
    DATABASE_URL: "",
    POSTGRES_URL: "",
    PGLITE_DIR: join(dataDir, "db"),
    UPSTASH_REDIS_REST_URL: "",
    UPSTASH_REDIS_REST_TOKEN: "",
    KV_REST_API_URL: "",
    KV_REST_API_TOKEN: "",
    // fetch refuses a URL with credentials: the check sends them as Basic authentication instead.
    HEALTHCHECK_URLS: `http://${base}/down?api_key=${KEY}&region=eu,http://probe:${PASSWORD}@${base}/private,http://${base}/up?token=${TOKEN}`,
  };
  for (const [key, value] of Object.entries(env)) {
    saved[key] = process.env[key];
    process.env[key] = value;
  }
});

afterAll(async () => {
  await closeDatabase();
  await new Promise((resolve) => server?.close(resolve));
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it("logs and fails with the URLs masked, never their password, api_key or token; a URL's credentials go as Basic authentication", async () => {
  const lines: string[] = [];
  const ctx: JobContext = {
    signal: new AbortController().signal,
    attempt: 1,
    scheduledFor: null,
    runId: "00000000-0000-4000-8000-000000000000",
    trigger: "manual",
    log: (message, data) => void lines.push(message + (data ? JSON.stringify(data) : "")),
    heartbeat: async () => {},
    fencingToken: 1,
    input: undefined,
    lastSlot: null,
    upcoming: [],
  };
  const error = (await Promise.resolve(healthCheck.handler(ctx)).then(
    () => null,
    (e: Error) => e,
  )) as Error | null;
  expect(error?.message).toMatch(/^unhealthy: http:\/\/127\.0\.0\.1:\d+\/down\?api_key=\*\*\*&region=\*\*\*: HTTP 503$/);
  // The credentialed URL was reached with its credentials (the server answers 401 without them).
  expect(lines.some((l) => /^http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+\/private: ok \(HTTP 200\)/.test(l)), lines.join("\n")).toBe(true);
  expect(lines.some((l) => /\/up\?token=\*\*\*: ok/.test(l)), lines.join("\n")).toBe(true);
  const everything = [error?.message ?? "", error?.stack ?? "", ...lines].join("\n");
  for (const secret of [PASSWORD, KEY, TOKEN]) expect(everything).not.toContain(secret);
}, 60_000);
