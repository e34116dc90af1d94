import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { envSchema } from "@/lib/env";
import { faultJobs } from "@/lib/jobs/fault-jobs";
import { projectRoot } from "../support/next-server";
import { deployFile, execArgv, parseEnvFile, readUnit, runToEnd, supervisorEnvironment, tempDir, unitValue } from "../http/self-host-support";
import { describeFaults, sleep, useLab } from "./harness";

/**
 * Several instances behind a load balancer on one Postgres database, as deploy/nginx.conf and
 * deploy/crondeck.env.example set them up: two `next start` instances with CRON_DISPATCH=tick
 * on one database, each called by its own timer (deploy/crondeck-tick.service's command, run as
 * written but for the port) in the same minute. The minute's tick runs once (the other call is a
 * duplicate), and every fault job's slot runs once, on whichever instance.
 */

const SHIPPED_URL = "http://127.0.0.1:3000";
const jobNames = faultJobs.map((j) => j.name);

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

it("deploy/nginx.conf balances over several instances and sets the one X-Forwarded-For hop that TRUST_PROXY=1 believes", () => {
  const conf = readFileSync(deployFile("nginx.conf"), "utf8").replace(/#.*$/gm, "");
  const upstream = /upstream\s+crondeck\s*\{([^}]*)\}/.exec(conf)?.[1] ?? "";
  expect(upstream.match(/^\s*server\s+\S+:\d+/gm)?.length ?? 0).toBeGreaterThanOrEqual(2);
  expect(conf).toMatch(/proxy_pass\s+http:\/\/crondeck;/);
  // Replaced, not appended ($proxy_add_x_forwarded_for would pass on what the client claims).
  expect(conf).toMatch(/proxy_set_header\s+X-Forwarded-For\s+\$remote_addr;/);
  expect(conf).not.toMatch(/proxy_add_x_forwarded_for/);
  // The execute route may run up to 300 s before it answers.
  expect(Number(/proxy_read_timeout\s+(\d+)s;/.exec(conf)?.[1])).toBeGreaterThan(300);
  const example = envSchema.parse(parseEnvFile(readFileSync(deployFile("crondeck.env.example"), "utf8")));
  expect(example.TRUST_PROXY).toBeTruthy();
  expect(example.CRON_DISPATCH).toBe("tick");
});

describeFaults("self-host: two instances on one Postgres, a timer each", () => {
  const lab = useLab();

  it("both timers fire in the same minute: the tick runs once and every fault job's slot runs once", async () => {
    const l = lab();
    const [a, b] = await Promise.all([l.start("a", { env: { CRON_DISPATCH: "tick" } }), l.start("b", { env: { CRON_DISPATCH: "tick" } })]);
    const dir = tempDir("crondeck-instances-");
    dirs.push(dir);
    const auth = join(dir, "cron-auth");
    writeFileSync(auth, `Authorization: Bearer ${l.secret}\n`);
    chmodSync(auth, 0o600);
    const env = { ...supervisorEnvironment(dir), CREDENTIALS_DIRECTORY: dir };
    const line = unitValue(readUnit(deployFile("crondeck-tick.service")), "Service", "ExecStart")!;

    let into = Date.now() % 60_000;
    if (into > 40_000) await sleep(60_000 - into + 500);
    const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const fired = await Promise.all([a!, b!].map((instance) => runToEnd(execArgv(line.replace(SHIPPED_URL, instance.url), env), { cwd: projectRoot, env })));
    into = Date.now() % 60_000;
    for (const f of fired) expect(f.code, f.output).toBe(0);

    const deadline = Date.now() + 30_000;
    let ledger: Array<{ job_name: string; pid: number; ended_at: Date | null }> = [];
    while (Date.now() < deadline) {
      ledger = await l.query("SELECT job_name, pid, ended_at FROM fault_ledger WHERE slot = $1", [minute]);
      if (new Set(ledger.map((r) => r.job_name)).size >= jobNames.length && ledger.every((r) => r.ended_at)) break;
      await sleep(250);
    }
    // A second's settling: a duplicate handler, were there one, would show up now.
    await sleep(1_000);
    ledger = await l.query("SELECT job_name, pid, ended_at FROM fault_ledger WHERE slot = $1", [minute]);
    const runs = await l.query<{ job_name: string; status: string }>("SELECT job_name, status FROM cron_job_logs WHERE job_name = ANY($1) AND scheduled_for = $2 AND status <> 'skipped'", [jobNames, minute]);
    const ticks = await l.query<{ status: string; skip_reason: string | null }>("SELECT status, skip_reason FROM cron_job_logs WHERE job_name = 'crondeck-tick' AND scheduled_for = $1 ORDER BY status", [minute]);

    const count = (rows: Array<{ job_name: string }>) => Object.fromEntries(jobNames.map((n) => [n, rows.filter((r) => r.job_name === n).length]));
    const once = Object.fromEntries(jobNames.map((n) => [n, 1]));
    expect(count(ledger), JSON.stringify({ ledger, runs, ticks })).toEqual(once);
    expect(count(runs)).toEqual(once);
    expect(runs.every((r) => r.status === "completed")).toBe(true);
    // One tick ran the minute; the other call was a duplicate (recorded as a skip, or not at all).
    expect(ticks.filter((t) => t.status !== "skipped").map((t) => t.status)).toEqual(["completed"]);
    for (const t of ticks.filter((t) => t.status === "skipped")) expect(t.skip_reason).toBe("duplicate");
    const pids = new Set(ledger.map((r) => r.pid));
    console.log(`self-host: two timers in one minute (done ${Math.round(into / 1000)} s into it): 1 tick run (${ticks.length - 1} duplicate recorded), ${jobNames.length} fault slots once each, on ${pids.size} process(es)`);
  });
});
