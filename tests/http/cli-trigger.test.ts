import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, type CliResult } from "../support/cli";
import { rawRequest } from "../support/http";
import { freePort, projectRoot, startNextServer, type NextServer } from "../support/next-server";
import { startRecordingServer, type RecordingServer } from "../support/recording-server";
import { parseVercelJson } from "../../lib/vercel/check";

/**
 * `crondeck trigger` against a real `next start` (PGlite in a temporary directory, which the
 * server owns), run as an operator runs it: the secret only in a `.env.local` (of a directory
 * of the test's own, named by CRONDECK_ENV_DIR, so a developer's .env.local stays out), none in
 * the CLI's environment. Each run is then read back through the admin API. A recording server
 * stands in for the app where the test checks the exact request a flag sends.
 */

const CRON_SECRET = `cron-${randomBytes(24).toString("hex")}`;
const ADMIN_TOKEN = `admin-${randomBytes(24).toString("hex")}`;

/** A directory holding the given .env.local (and optionally a dev state file), as `npm run dev` leaves the project. */
function envDirWith(lines: string[], devState?: { url: string; pid: number }): string {
  const dir = mkdtempSync(join(tmpdir(), "crondeck-trigger-env-"));
  writeFileSync(join(dir, ".env.local"), `${lines.join("\n")}\n`);
  if (devState) {
    mkdirSync(join(dir, ".data"), { recursive: true });
    const now = new Date().toISOString();
    writeFileSync(join(dir, ".data", "dev-server.json"), JSON.stringify({ ...devState, startedAt: now, scheduler: { enabled: false, crons: [], updatedAt: now } }));
  }
  return dir;
}

const dirs: string[] = [];

/** `crondeck trigger ...` with the .env files of `dir` and nothing of the shell's secrets. */
function trigger(args: string[], dir: string, env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(["trigger", ...args], {
    env: {
      // The development mode the app's own `npm run dev` has: .env.local is read (NODE_ENV=test would skip it).
      NODE_ENV: undefined,
      // Let @next/env read the files of `dir` (the tests' children are otherwise told not to read any).
      __NEXT_PROCESSED_ENV: undefined,
      CRONDECK_ENV_DIR: dir,
      CRON_SECRET: undefined,
      NEXT_PUBLIC_APP_URL: undefined,
      PORT: undefined,
      ...env,
    },
  });
}

function expectNoSecret(result: CliResult): void {
  expect(result.stdout + result.stderr).not.toContain(CRON_SECRET);
  expect(result.stdout + result.stderr).not.toMatch(/\bat .+:\d+:\d+\)|node_modules/);
}

describe("crondeck trigger against next start", () => {
  let server: NextServer;
  let dataDir: string;
  let dir: string;

  const run = async (id: string) => {
    const reply = await rawRequest(server.url, "GET", `/api/admin/runs/${id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(reply.status, reply.text).toBe(200);
    return reply.body.run;
  };
  /** The run id a human answer names. */
  const runIdOf = (result: CliResult) => /run\s+([0-9a-f-]{36})/.exec(result.stdout + result.stderr)?.[1];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "crondeck-trigger-"));
    server = await startNextServer({
      env: {
        PGLITE_DIR: join(dataDir, "pglite"),
        CRON_SECRET,
        ADMIN_TOKEN,
        CRON_DEMO: "1",
        CRON_DEMO_STUBBORN_MS: "1100",
      },
    });
    dir = envDirWith([`CRON_SECRET=${CRON_SECRET}`]);
    dirs.push(dir);
  });
  afterAll(async () => {
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("no flag: a manual run now, with the secret from .env.local; the run is in the run log", async () => {
    const result = await trigger(["demo-pulse", "--url", server.url], dir);
    expectNoSecret(result);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^demo-pulse: completed in /);
    const id = runIdOf(result)!;
    expect(id).toBeTruthy();
    expect(result.stdout).toContain(`${server.url}/dashboard/admin/cron-jobs/demo-pulse?run=${id}`);
    const row = await run(id);
    expect(row).toMatchObject({ jobName: "demo-pulse", status: "completed", trigger: "manual" });
  });

  it("--slot ISO runs that slot once: the second call is a duplicate skip (exit 0)", async () => {
    const slot = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 7 * 60_000).toISOString();
    const first = await trigger(["demo-pulse", "--slot", slot, "--url", server.url], dir);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`(slot ${slot})`);
    const row = await run(runIdOf(first)!);
    expect(row.trigger).toBe("schedule");
    expect(new Date(row.scheduledFor).toISOString()).toBe(slot);
    const second = await trigger(["demo-pulse", "--slot", slot, "--url", server.url], dir);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^demo-pulse: skipped: /);
    const skipped = await run(runIdOf(second)!);
    expect(skipped.status).toBe("skipped");
  });

  it("--slot that is no occurrence: the app's 400 reason, exit 2", async () => {
    const result = await trigger(["demo-stubborn", "--slot", "2026-01-01T00:03:00Z", "--url", server.url], dir);
    expectNoSecret(result);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/the app refused the request: slot .* is not an occurrence/);
  });

  it("--key K: a manual run that a second call with the same key does not repeat", async () => {
    const key = `deploy-${randomBytes(4).toString("hex")}`;
    const first = await trigger(["demo-pulse", "--key", key, "--url", server.url], dir);
    expect(first.code, first.stderr).toBe(0);
    expect((await run(runIdOf(first)!)).status).toBe("completed");
    const second = await trigger(["demo-pulse", "--key", key, "--url", server.url, "--json"], dir);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json).toMatchObject({ success: true, skipped: true, reason: "duplicate", jobName: "demo-pulse" });
  });

  it("--schedule: the slot due now, as the scheduler runs it; --json prints the app's answer", async () => {
    const result = await trigger(["demo-pulse", "--schedule", "--url", server.url, "--json"], dir);
    expectNoSecret(result);
    expect(result.code, result.stderr).toBe(0);
    const execution = result.json.execution;
    expect(execution.trigger).toBe("schedule");
    expect(new Date(execution.scheduledFor).getTime() % 60_000).toBe(0);
    expect((await run(execution.id)).trigger).toBe("schedule");
  });

  it("--tick: the tick runs (its own job's run)", async () => {
    const result = await trigger(["--tick", "--url", server.url], dir);
    expectNoSecret(result);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^crondeck-tick: (completed|skipped)/);
  });

  it("a run that times out: exit 1, the status and the error", async () => {
    const result = await trigger(["demo-stubborn", "--url", server.url], dir);
    expectNoSecret(result);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/demo-stubborn: timed out/);
    expect(result.stderr).toMatch(/error +.+/);
    expect((await run(runIdOf(result)!)).status).toBe("timed_out");
  });

  it("an unknown job: exit 2, naming the jobs the app knows", async () => {
    const result = await trigger(["no-such-job", "--url", server.url], dir);
    expectNoSecret(result);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('has no job "no-such-job"');
    expect(result.stderr).toMatch(/the jobs it knows: .*demo-pulse/);
  });

  it("a CRON_SECRET the app does not have: exit 1, naming .env.local and the restart", async () => {
    const other = envDirWith([`CRON_SECRET=other-${randomBytes(16).toString("hex")}`]);
    dirs.push(other);
    const result = await trigger(["demo-pulse", "--url", server.url], other);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`the app at ${server.url} refused the CRON_SECRET from .env.local: the running app was started with another one; restart it`);
    // From the shell instead: said so.
    const shell = await trigger(["demo-pulse", "--url", server.url], other, { CRON_SECRET: `shell-${randomBytes(16).toString("hex")}` });
    expect(shell.stderr).toContain("refused the CRON_SECRET from your environment");
  });

  it("no CRON_SECRET anywhere: exit 1 before any request, naming .env.local and npm run dev", async () => {
    const empty = envDirWith(["# nothing"]);
    dirs.push(empty);
    const result = await trigger(["demo-pulse", "--url", server.url], empty);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/CRON_SECRET is not set .*\.env\.local.*`npm run dev` writes one/);
  });

  it("finds the app without --url: the running npm run dev's state file, then NEXT_PUBLIC_APP_URL", async () => {
    const dev = envDirWith([`CRON_SECRET=${CRON_SECRET}`, "NEXT_PUBLIC_APP_URL=http://127.0.0.1:9"], { url: server.url, pid: process.pid });
    dirs.push(dev);
    const viaDev = await trigger(["demo-pulse"], dev);
    expect(viaDev.code, viaDev.stderr).toBe(0);
    expect(viaDev.stdout).toContain(`${server.url}/dashboard/admin/cron-jobs/demo-pulse?run=`);
    const viaPublic = envDirWith([`CRON_SECRET=${CRON_SECRET}`, `NEXT_PUBLIC_APP_URL=${server.url}`]);
    dirs.push(viaPublic);
    const result = await trigger(["demo-pulse"], viaPublic);
    expect(result.code, result.stderr).toBe(0);
  });

  it("works while the server owns the embedded database, which the CLI's database commands are refused", async () => {
    const env = { PGLITE_DIR: join(dataDir, "pglite") };
    const refused = await runCli(["jobs", "list"], { env: { ...env, CRON_DEMO: "1" } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/crondeck-owner|another process|in use|busy|owns/i);
    const result = await trigger(["demo-pulse", "--url", server.url], dir, env);
    expect(result.code, result.stderr).toBe(0);
  });

  it("nothing listening: exit 1, naming npm run dev and --url", async () => {
    const port = await freePort();
    const result = await trigger(["demo-pulse", "--url", `http://127.0.0.1:${port}`], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`nothing answers at http://127.0.0.1:${port}`);
    expect(result.stderr).toContain("Start the app with `npm run dev`, or pass --url");
    const byPort = await trigger(["demo-pulse"], dir, { PORT: String(port) });
    expect(byPort.stderr).toContain(`nothing answers at http://localhost:${port} (from the default, PORT)`);
  });

  it("a usage error exits 2 before any request (the rest: tests/unit/cli-trigger.test.ts)", async () => {
    const result = await trigger(["demo-pulse", "--slot", "yesterday", "--url", server.url], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--slot must be an ISO 8601 time/);
  });
});

describe("crondeck trigger: what each flag sends", () => {
  let app: RecordingServer;
  let silent: RecordingServer;
  let dir: string;
  const answer = JSON.stringify({ success: true, jobName: "health-check", execution: { id: "00000000-0000-4000-8000-000000000001", status: "completed", duration: 3, attempts: 1, trigger: "manual" } });

  beforeAll(async () => {
    app = await startRecordingServer({ responseBody: answer });
    silent = await startRecordingServer({ delayMs: 60_000 });
    dir = envDirWith([`CRON_SECRET=${CRON_SECRET}`]);
    dirs.push(dir);
  });
  afterAll(async () => {
    await app?.close();
    await silent?.close();
  });

  it("each mode: method, path, query and headers (the secret as a bearer token, never printed)", async () => {
    const vercel = parseVercelJson(readFileSync(join(projectRoot, "vercel.json"), "utf8"));
    const crons = (vercel.ok ? vercel.value.crons : []) as Array<{ path: string; schedule: string }>;
    const scheduleOf = (path: string) => crons.find((c) => c.path === path)?.schedule;
    const cases: Array<{ args: string[]; method: string; path: string; headers: Record<string, string | undefined> }> = [
      { args: ["health-check"], method: "POST", path: "/api/cron/execute/health-check", headers: { "idempotency-key": undefined, "user-agent": "crondeck-trigger/1.0" } },
      { args: ["health-check", "--slot", "2026-03-01T10:05:00+01:00"], method: "POST", path: "/api/cron/execute/health-check?trigger=schedule&slot=2026-03-01T09%3A05%3A00.000Z", headers: {} },
      { args: ["health-check", "--key", "deploy-42"], method: "POST", path: "/api/cron/execute/health-check", headers: { "idempotency-key": "deploy-42" } },
      { args: ["health-check", "--schedule"], method: "GET", path: "/api/cron/execute/health-check", headers: { "user-agent": "vercel-cron/1.0", "x-vercel-cron-schedule": scheduleOf("/api/cron/execute/health-check") } },
      { args: ["--tick"], method: "GET", path: "/api/cron/tick", headers: { "user-agent": "vercel-cron/1.0", "x-vercel-cron-schedule": scheduleOf("/api/cron/tick") } },
      { args: ["a job/with?odd#chars"], method: "POST", path: "/api/cron/execute/a%20job%2Fwith%3Fodd%23chars", headers: {} },
    ];
    for (const c of cases) {
      const before = app.requests.length;
      const result = await trigger([...c.args, "--url", `${app.url}/`], dir);
      expectNoSecret(result);
      expect(result.code, `${c.args.join(" ")}: ${result.stderr}`).toBe(0);
      const sent = app.requests[before]!;
      expect(sent.method, c.args.join(" ")).toBe(c.method);
      expect(sent.path, c.args.join(" ")).toBe(c.path);
      expect(sent.headers.authorization).toBe(`Bearer ${CRON_SECRET}`);
      for (const [name, value] of Object.entries(c.headers)) expect(sent.headers[name], `${c.args.join(" ")}: ${name}`).toBe(value);
      expect(app.requests.length).toBe(before + 1);
    }
  });

  it("a timeout: exit 1, naming --timeout", async () => {
    const result = await trigger(["health-check", "--url", silent.url, "--timeout", "1"], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no answer from .* within 1 s.*--timeout <seconds>/);
  });

  it("an answer that is not Crondeck's JSON: exit 1, asking whether --url is the app", async () => {
    const html = await startRecordingServer({ status: 404, responseBody: "<html>not found</html>" });
    try {
      const result = await trigger(["health-check", "--url", html.url], dir);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/answered 404 .*not Crondeck's JSON.*is --url the Crondeck app\?/);
    } finally {
      await html.close();
    }
  });
});
