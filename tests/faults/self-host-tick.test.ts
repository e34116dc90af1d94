import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { faultJobs } from "@/lib/jobs/fault-jobs";
import { projectRoot } from "../support/next-server";
import { deployFile, execArgv, readUnit, runToEnd, supervisorEnvironment, tempDir, unitValue } from "../http/self-host-support";
import { describeFaults, sleep, useLab, type FaultLab, type Instance } from "./harness";

/**
 * The tick driven by system cron or a systemd timer, as shipped: the command of
 * deploy/crondeck-tick.service (its ExecStart, with the credential systemd hands it) and of
 * deploy/crontab's line run exactly as written against `next start` with CRON_DISPATCH=tick on
 * a Postgres database, and every fault job (UTC, `* * * * *`, no dispatch of its own) then runs
 * its slot of that minute once. Then two instances on one database, each called by its own
 * timer in the same minute: each slot runs once. The only substitutions: the test's port for
 * 127.0.0.1:3000 and the test's files for /etc/crondeck/cron-auth and $CREDENTIALS_DIRECTORY.
 */

const TICK_UNIT = readUnit(deployFile("crondeck-tick.service"));
const TIMER = readUnit(deployFile("crondeck-tick.timer"));
const CRON_LINE = readFileSync(deployFile("crontab"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .find((l) => l && !l.startsWith("#"))!;
const SHIPPED_URL = "http://127.0.0.1:3000";
const jobNames = faultJobs.map((j) => j.name);

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A root-only file holding the header the recipe's commands send: `Authorization: Bearer <secret>`. */
function authFile(dir: string, secret: string): string {
  const file = join(dir, "cron-auth");
  writeFileSync(file, `Authorization: Bearer ${secret}\n`);
  chmodSync(file, 0o600);
  return file;
}

/** The timer's command as systemd runs it: ExecStart with $CREDENTIALS_DIRECTORY holding the LoadCredential file. */
function timerCommand(credentials: string, url: string): { argv: string[]; env: Record<string, string> } {
  const env = { ...supervisorEnvironment(credentials), CREDENTIALS_DIRECTORY: credentials };
  const line = unitValue(TICK_UNIT, "Service", "ExecStart")!;
  expect(line).toContain(SHIPPED_URL);
  return { argv: execArgv(line.replace(SHIPPED_URL, url), env), env };
}

/** The crontab line's command as cron runs it: through /bin/sh. */
function cronCommand(auth: string, url: string): string[] {
  const fields = CRON_LINE.split(/\s+/);
  expect(fields.slice(0, 5).join(" ")).toBe("* * * * *");
  expect(fields[5]).toBe("root");
  const command = CRON_LINE.replace(/^(\S+\s+){6}/, "");
  expect(command).toContain("/etc/crondeck/cron-auth");
  return ["/bin/sh", "-c", command.replace("/etc/crondeck/cron-auth", auth).replace(SHIPPED_URL, url)];
}

/** Waits, if need be, for a minute with at least 20 s left in it; returns that minute. */
async function freshMinute(): Promise<Date> {
  const into = Date.now() % 60_000;
  if (into > 40_000) await sleep(60_000 - into + 500);
  return new Date(Math.floor(Date.now() / 60_000) * 60_000);
}

/** Every fault job's handlers and non-skipped runs for the slot `minute`, once they are done. */
async function slotRuns(lab: FaultLab, minute: Date) {
  const deadline = Date.now() + 30_000;
  while (true) {
    const ledger = await lab.query<{ job_name: string; pid: number; trigger: string; ended_at: Date | null }>("SELECT job_name, pid, trigger, ended_at FROM fault_ledger WHERE slot = $1", [minute]);
    const runs = await lab.query<{ job_name: string; status: string; trigger: string }>("SELECT job_name, status, trigger FROM cron_job_logs WHERE job_name = ANY($1) AND scheduled_for = $2 AND status <> 'skipped'", [jobNames, minute]);
    const done = ledger.filter((r) => r.ended_at).length === ledger.length && runs.every((r) => r.status !== "started");
    if ((done && new Set(ledger.map((r) => r.job_name)).size >= jobNames.length) || Date.now() > deadline) {
      return { ledger, runs };
    }
    await sleep(250);
  }
}

const countBy = (rows: Array<{ job_name: string }>) => Object.fromEntries(jobNames.map((name) => [name, rows.filter((r) => r.job_name === name).length]));
const once = Object.fromEntries(jobNames.map((name) => [name, 1]));

async function tickRuns(lab: FaultLab, minute: Date) {
  return lab.query<{ status: string; skip_reason: string | null }>("SELECT status, skip_reason FROM cron_job_logs WHERE job_name = 'crondeck-tick' AND scheduled_for = $1 ORDER BY started_at", [minute]);
}

describeFaults("self-host: the tick from a systemd timer or system cron", () => {
  const lab = useLab();

  it("the timer fires every minute, and its unit hands curl a root-only credential", () => {
    expect(unitValue(TIMER, "Timer", "OnCalendar")).toBe("*-*-* *:*:00");
    expect(unitValue(TICK_UNIT, "Service", "Type")).toBe("oneshot");
    expect(unitValue(TICK_UNIT, "Service", "LoadCredential")).toBe("cron-auth:/etc/crondeck/cron-auth");
    expect(unitValue(TICK_UNIT, "Service", "ExecStart")).toContain("${CREDENTIALS_DIRECTORY}/cron-auth");
  });

  it("with CRON_DISPATCH=tick, the timer's command runs the tick and every fault job's slot once; the crontab line's does the same the next minute; a wrong secret makes the command fail", async () => {
    const l = lab();
    const instance: Instance = await l.start("tick", { env: { CRON_DISPATCH: "tick" } });
    const dir = tempDir("crondeck-tick-");
    dirs.push(dir);

    const minute = await freshMinute();
    const timer = timerCommand(dir, instance.url);
    authFile(dir, l.secret);
    const fired = await runToEnd(timer.argv, { cwd: projectRoot, env: timer.env });
    expect(fired.code, fired.output).toBe(0);
    const first = await slotRuns(l, minute);
    expect(countBy(first.ledger), JSON.stringify(first)).toEqual(once);
    expect(countBy(first.runs)).toEqual(once);
    expect(new Set(first.runs.map((r) => r.trigger))).toEqual(new Set(["tick"]));
    expect(first.runs.every((r) => r.status === "completed")).toBe(true);
    expect((await tickRuns(l, minute)).map((r) => r.status)).toEqual(["completed"]);

    // The crontab line, the next minute (the tick claims each minute once).
    await sleep(60_000 - (Date.now() % 60_000) + 500);
    const next = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const cron = await runToEnd(cronCommand(join(dir, "cron-auth"), instance.url), { cwd: projectRoot, env: supervisorEnvironment(dir) });
    expect(cron.code, cron.output).toBe(0);
    const second = await slotRuns(l, next);
    expect(countBy(second.ledger)).toEqual(once);
    expect(countBy(second.runs)).toEqual(once);

    // The same command with a secret the app does not know: curl -f exits 22 (HTTP 401), which the timer's journal shows.
    authFile(dir, "0".repeat(64));
    const refused = await runToEnd(timer.argv, { cwd: projectRoot, env: timer.env });
    expect(refused.code).toBe(22);
    expect(refused.output).toMatch(/401/);
    console.log(`self-host: the timer's and the crontab line's commands each ran the tick and ${jobNames.length} fault jobs once for their minute`);
  });
});
