import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, describe, expect, it } from "vitest";
import { envSchema } from "@/lib/env";
import { freePort, projectRoot } from "../support/next-server";
import {
  deployFile,
  dockerArgv,
  dockerEnv,
  environmentOf,
  execArgv,
  groupMembers,
  parseEnvFile,
  readDockerfile,
  readUnit,
  runToEnd,
  supervise,
  supervisorEnvironment,
  tempDir,
  unitValue,
  unitValues,
  waitForHealth,
  type Supervised,
} from "./self-host-support";

/**
 * The self-host recipe as written: deploy/crondeck.service and the Dockerfile are read here the
 * way systemd and Docker read them, and their commands (ExecStartPre, ExecStart; CMD,
 * HEALTHCHECK) run exactly as they stand, in this checkout (their WorkingDirectory / WORKDIR)
 * on the suite's build, against a fresh embedded database, in the environment the unit or image
 * gives and nothing else. Then SIGTERM to the pid the supervisor holds while a job runs: the run
 * drains (completes, or is recorded interrupted past the grace), the process group is gone
 * within the grace, exit code 0. `npm start` too. The only substitutions: this checkout for
 * /opt/crondeck (/app), a test env file for /etc/crondeck/crondeck.env, a free PORT.
 */

const UNIT = readUnit(deployFile("crondeck.service"));
const DOCKERFILE = readDockerfile(join(projectRoot, "Dockerfile"));
const EXAMPLE_ENV = parseEnvFile(readFileSync(deployFile("crondeck.env.example"), "utf8"));
const secret = () => randomBytes(32).toString("hex");

const running: Supervised[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const run of running) run.kill();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The variables of a test's env file: the shipped example with a fresh embedded database and fresh secrets, a demo job to run. */
function envFile(dir: string, port: number, extra: Record<string, string>): Record<string, string> {
  const { DATABASE_URL: _shared, ...example } = EXAMPLE_ENV;
  return { ...example, PGLITE_DIR: join(dir, "pglite"), CRON_SECRET: secret(), ADMIN_TOKEN: secret(), PORT: String(port), CRON_DEMO: "1", ...extra };
}

interface Drained {
  exit: { code: number | null; signal: NodeJS.Signals | null };
  /** Milliseconds from SIGTERM to the exit. */
  stopMs: number;
  answer: { status: number; body: any };
  left: number[];
  output: string;
}

/** Starts a run of demo-slow, SIGTERMs the supervised pid while it runs, and waits for the exit and the caller's answer. */
async function drainWhileRunning(run: Supervised, url: string, secrets: { CRON_SECRET?: string; ADMIN_TOKEN?: string }, timeoutMs: number): Promise<Drained> {
  const answer = fetch(`${url}/api/cron/execute/demo-slow`, { method: "POST", headers: { authorization: `Bearer ${secrets.CRON_SECRET}` }, signal: AbortSignal.timeout(60_000) }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => null) }));
  // Until the run holds its lease (the admin API's locks); the output checked by the caller
  // ("for 1 running job(s)") proves it was running at the signal.
  let held = false;
  for (const deadline = Date.now() + 20_000; !held && Date.now() < deadline; ) {
    const locks = await fetch(`${url}/api/admin/locks`, { headers: { authorization: `Bearer ${secrets.ADMIN_TOKEN}` } }).then((r) => r.text(), () => "");
    held = locks.includes('"demo-slow"');
    if (!held) await new Promise((r) => setTimeout(r, 100));
  }
  expect(held, "demo-slow never showed up holding its lease in /api/admin/locks").toBe(true);
  const signalledAt = Date.now();
  process.kill(run.pid, "SIGTERM");
  const exit = await Promise.race([run.exited, new Promise<null>((r) => setTimeout(() => r(null), timeoutMs))]);
  const stopMs = Date.now() - signalledAt;
  if (!exit) throw new Error(`no exit within ${timeoutMs} ms of SIGTERM:\n${run.output()}`);
  await new Promise((r) => setTimeout(r, 200));
  return { exit, stopMs, answer: await answer, left: groupMembers(run.pid), output: run.output() };
}

/** The demo-slow runs recorded in a data directory no process holds any more. */
async function runsIn(pgliteDir: string): Promise<Array<{ status: string; error_message: string | null }>> {
  const db = new PGlite(pgliteDir);
  try {
    return (await db.query<{ status: string; error_message: string | null }>("SELECT status, error_message FROM cron_job_logs WHERE job_name = 'demo-slow' ORDER BY started_at")).rows;
  } finally {
    await db.close();
  }
}

describe("deploy/crondeck.service", () => {
  const service = (key: string) => unitValue(UNIT, "Service", key);

  it("runs as a dedicated user from its directory, with its env file, and stops by SIGTERM with more time than the grace", () => {
    expect(service("User")).toMatch(/^[a-z][a-z0-9-]*$/);
    expect(service("User")).not.toBe("root");
    expect(service("WorkingDirectory")).toBe("/opt/crondeck");
    expect(service("EnvironmentFile")).toBe("/etc/crondeck/crondeck.env");
    expect(service("KillSignal")).toBe("SIGTERM");
    expect(service("Restart")).toBe("on-failure");
    const grace = envSchema.parse(EXAMPLE_ENV).CRON_SHUTDOWN_GRACE_SECONDS;
    expect(Number(service("TimeoutStopSec"))).toBeGreaterThan(grace);
    // The example env file is valid as it stands (every value parses).
    expect(envSchema.safeParse(EXAMPLE_ENV).success).toBe(true);
    // node itself, neither npm nor a shell, is the main process: the one that gets SIGTERM.
    const argv = execArgv(service("ExecStart")!, {});
    expect(argv[0]).toMatch(/^\/.*\/node$/);
    expect(argv.slice(1).join(" ")).not.toMatch(/\bnpm\b|\bsh\b|-c /);
  });

  it("passes systemd-analyze verify (when systemd-analyze is installed)", () => {
    let analyze: string | null = null;
    for (const candidate of ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]) if (existsSync(candidate)) analyze = candidate;
    if (!analyze) {
      console.warn("self-host: systemd-analyze is not installed; the units were only parsed");
      return;
    }
    const dir = tempDir("crondeck-units-");
    dirs.push(dir);
    const units = ["crondeck.service", "crondeck-tick.service", "crondeck-tick.timer"].map((name) => {
      copyFileSync(deployFile(name), join(dir, name));
      return join(dir, name);
    });
    // Unknown keys and bad values are only printed (on stderr, exit code 0): the output must be empty too.
    const result = spawnSync(analyze, ["verify", ...units], { encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(`${result.stdout}${result.stderr}`).toBe("");
  });

  it("ExecStartPre migrates a fresh database, ExecStart serves it as one process; SIGTERM mid-run past the grace: the run is recorded interrupted, its caller told, the group gone, exit 0", async () => {
    const dir = tempDir("crondeck-systemd-");
    dirs.push(dir);
    const port = await freePort();
    const grace = 2;
    const file = envFile(dir, port, { CRON_SHUTDOWN_GRACE_SECONDS: String(grace), CRON_DEMO_SLOW_MS: "4500" });
    const env = { ...supervisorEnvironment(dir), ...environmentOf(unitValues(UNIT, "Service", "Environment")), ...file };
    const cwd = projectRoot; // WorkingDirectory=/opt/crondeck: the checkout

    const pre = unitValues(UNIT, "Service", "ExecStartPre");
    expect(pre.length).toBeGreaterThan(0);
    for (const line of pre) {
      const result = await runToEnd(execArgv(line, env), { cwd, env, timeoutMs: 90_000 });
      expect(result.code, result.output).toBe(0);
      expect(result.output).toMatch(/Applied \d+ migration\(s\) to pglite/);
    }

    const run = supervise(execArgv(service("ExecStart")!, env), { cwd, env });
    running.push(run);
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url, run);
    const health = await fetch(`${url}/api/health`);
    expect(health.status).toBe(200);
    expect(groupMembers(run.pid)).toEqual([run.pid]);

    const drained = await drainWhileRunning(run, url, file, (Number(service("TimeoutStopSec")) + 5) * 1000);
    expect(drained.output).toContain("SIGTERM: no new triggers; waiting up to 2s for 1 running job(s)");
    expect(drained.exit, drained.output).toEqual({ code: 0, signal: null });
    expect(drained.stopMs).toBeLessThan((grace + 3) * 1000);
    expect(drained.left).toEqual([]);
    expect(drained.answer.status).toBe(503);
    expect(drained.answer.body).toMatchObject({ code: "interrupted", details: { status: "abandoned" } });
    const runs = await runsIn(file.PGLITE_DIR!);
    expect(runs.map((r) => r.status)).toEqual(["abandoned"]);
    expect(runs[0]!.error_message).toMatch(/^interrupted: the server shut down/);
    console.log(`self-host: systemd ExecStart drained a run past its ${grace}s grace and exited 0 in ${drained.stopMs} ms`);
  });
});

describe("Dockerfile", () => {
  const final = DOCKERFILE.stages.length - 1;
  const finalOps = (op: string) => DOCKERFILE.instructions.filter((i) => i.stage === final && i.op === op);
  const last = (op: string) => finalOps(op).at(-1)?.args;

  it("builds in one stage and runs as a non-root user in another, with a health check and SIGTERM to stop", () => {
    expect(DOCKERFILE.stages.length).toBeGreaterThanOrEqual(2);
    const buildRuns = DOCKERFILE.instructions.filter((i) => i.stage < final && i.op === "RUN").map((i) => i.args).join("\n");
    expect(buildRuns).toMatch(/npm (ci|install)/);
    expect(buildRuns).toMatch(/npm run build/);
    expect(last("USER")).toBeDefined();
    expect(last("USER")).not.toMatch(/^(root|0)(:|$)/);
    expect(last("STOPSIGNAL")).toBe("SIGTERM");
    expect(last("HEALTHCHECK")).toMatch(/\/api\/health/);
    expect(last("WORKDIR")).toBe("/app");
    // .dockerignore keeps secrets and local state out of the build context.
    const ignored = readFileSync(join(projectRoot, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
    for (const entry of [".env*", ".data", ".git", "node_modules"]) expect(ignored).toContain(entry);
  });

  it("CMD migrates a fresh database and execs the server (one process); HEALTHCHECK passes; SIGTERM mid-run: the run completes, the group is gone within the grace, exit 0; HEALTHCHECK then fails", async () => {
    const dir = tempDir("crondeck-docker-");
    dirs.push(dir);
    const port = await freePort();
    const grace = 10;
    const runEnv = envFile(dir, port, { CRON_SHUTDOWN_GRACE_SECONDS: String(grace), CRON_DEMO_SLOW_MS: "3000" });
    // `docker run --env-file`: the file's variables over the image's ENV.
    const env = { ...supervisorEnvironment(dir), ...dockerEnv(finalOps("ENV")), ...runEnv };
    const entrypoint = last("ENTRYPOINT");
    const argv = [...(entrypoint ? dockerArgv(entrypoint) : []), ...dockerArgv(last("CMD")!)];
    const run = supervise(argv, { cwd: projectRoot, env });
    running.push(run);
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url, run);
    expect(run.output()).toMatch(/Applied \d+ migration\(s\) to pglite/);
    // The shell exec'd the server: the pid docker holds is node itself, alone.
    expect(groupMembers(run.pid)).toEqual([run.pid]);

    const healthcheck = dockerArgv(last("HEALTHCHECK")!.replace(/^(--\S+\s+)*CMD\s+/, ""));
    const healthy = await runToEnd(healthcheck, { cwd: projectRoot, env, timeoutMs: 20_000 });
    expect(healthy.code, healthy.output).toBe(0);

    const drained = await drainWhileRunning(run, url, runEnv, (grace + 5) * 1000);
    expect(drained.output).toContain(`SIGTERM: no new triggers; waiting up to ${grace}s for 1 running job(s)`);
    expect(drained.exit, drained.output).toEqual({ code: 0, signal: null });
    expect(drained.stopMs).toBeLessThan(grace * 1000);
    expect(drained.left).toEqual([]);
    expect(drained.answer.status).toBe(200);
    expect(drained.answer.body).toMatchObject({ success: true, execution: { status: "completed" } });
    expect((await runsIn(runEnv.PGLITE_DIR!)).map((r) => r.status)).toEqual(["completed"]);

    const unhealthy = await runToEnd(healthcheck, { cwd: projectRoot, env, timeoutMs: 20_000 });
    expect(unhealthy.code).toBe(1);
    console.log(`self-host: Docker CMD drained a running job and exited 0 in ${drained.stopMs} ms`);
  });
});

describe("npm start", () => {
  it("SIGTERM to npm's pid while a job runs: npm hands it to the server, the run completes, npm and the server are gone within the grace, exit 0", async () => {
    const dir = tempDir("crondeck-npm-");
    dirs.push(dir);
    const port = await freePort();
    const grace = 10;
    const file = envFile(dir, port, { CRON_SHUTDOWN_GRACE_SECONDS: String(grace), CRON_DEMO_SLOW_MS: "3000" });
    const env = { ...supervisorEnvironment(dir), ...file };
    const run = supervise(["npm", "start", "--", "-H", "127.0.0.1"], { cwd: projectRoot, env });
    running.push(run);
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url, run);
    // npm and, exec'd by npm's shell, the server: no shell left between them to swallow the signal.
    expect(groupMembers(run.pid).length).toBe(2);

    const drained = await drainWhileRunning(run, url, file, (grace + 5) * 1000);
    expect(drained.output).toContain(`SIGTERM: no new triggers; waiting up to ${grace}s for 1 running job(s)`);
    expect(drained.exit, drained.output).toEqual({ code: 0, signal: null });
    expect(drained.stopMs).toBeLessThan(grace * 1000);
    expect(drained.left).toEqual([]);
    expect(drained.answer.body).toMatchObject({ success: true, execution: { status: "completed" } });
    console.log(`self-host: npm start drained a running job and exited 0 in ${drained.stopMs} ms`);
  });
});
