/**
 * npm run dev: Next.js in development on the embedded database, plus a local scheduler that
 * calls the crons on their schedules the way Vercel Cron does in production
 * (CRON_LOCAL_SCHEDULER=0 turns it off). The scheduler follows vercel.json and the running
 * app's registry as they change (a new job runs without a restart), and writes what it fires
 * to .data/dev-server.json for `crondeck trigger` and `crondeck doctor`. On a fresh clone it
 * writes .env.local with a random CRON_SECRET and ADMIN_TOKEN first. Extra arguments go to
 * `next dev`; the port comes from -p/--port or PORT (default 3000).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { TICK_PATH, tickScheduleFor, type VercelCron } from "../lib/vercel/crons";
import { ensureLocalSecrets, readEnvFile } from "../lib/dev/env-file";
import { devPort, devStatePath, readDevState, writeDevState, type DevState } from "../lib/dev/dev-state";
import { cronLabel, LocalScheduler, registryFetcher, ScheduleFollower } from "../lib/dev/local-scheduler";
import { loadEnvOrExit } from "../lib/env";

const root = process.cwd();
const envFile = join(root, ".env.local");
/** How often the scheduler re-reads vercel.json and the app's registry. */
const FOLLOW_EVERY_MS = 3_000;

// The environment as the dev server will see it: .env.local under the shell's.
const { added, values } = ensureLocalSecrets(envFile, loadEnvOrExit());
if (added.length) console.log(`[crondeck] wrote ${added.join(" and ")} to .env.local (first run)`);
const env = loadEnvOrExit(readEnvFile(envFile));

let port: number;
let nextArgs: string[];
try {
  ({ port, nextArgs } = devPort(process.argv.slice(2), env.PORT));
} catch (error) {
  console.error(`[crondeck] ${(error as Error).message}`);
  process.exit(2);
}
const baseUrl = `http://localhost:${port}`;
const usesEmbedded = !(env.DATABASE_URL || env.POSTGRES_URL);

const next = spawn(process.execPath, [join(root, "node_modules/next/dist/bin/next"), "dev", ...nextArgs], { stdio: "inherit", env: { ...process.env, PORT: String(port) } });
const forward = (signal: NodeJS.Signals) => next.kill(signal);
process.on("SIGINT", forward);
process.on("SIGTERM", forward);
next.on("exit", (code) => {
  // The state file names this process: gone with it (readers also ignore a dead pid).
  if (readDevState(root)?.pid === process.pid) rmSync(devStatePath(root), { force: true });
  process.exit(code ?? 0);
});

const startedAt = new Date().toISOString();
const saveState = (crons: VercelCron[], enabled: boolean) => {
  const state: DevState = { pid: process.pid, url: baseUrl, startedAt, scheduler: { enabled, crons, updatedAt: new Date().toISOString() } };
  try {
    writeDevState(root, state);
  } catch (error) {
    console.log(`[crondeck] could not write ${devStatePath(root)}: ${(error as Error).message}`);
  }
};
saveState([], env.CRON_LOCAL_SCHEDULER);

async function waitForServer(): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      await fetch(`${baseUrl}/api/health`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** vercel.json's crons; without a vercel.json (self-hosting) the tick alone, as the plan runs it. */
function readVercelCrons(): VercelCron[] {
  const file = join(root, "vercel.json");
  if (!existsSync(file)) return [{ path: TICK_PATH, schedule: tickScheduleFor(env.CRON_PLAN) }];
  const crons = (JSON.parse(readFileSync(file, "utf8")) as { crons?: unknown }).crons;
  if (crons === undefined) return [];
  if (!Array.isArray(crons)) throw new Error('"crons" is not an array');
  return crons.filter((c): c is VercelCron => typeof c?.path === "string" && typeof c?.schedule === "string");
}

await waitForServer();
console.log(
  [
    "",
    `[crondeck] dashboard: ${baseUrl}/dashboard/admin/cron-jobs`,
    `[crondeck] log in with ADMIN_TOKEN from .env.local (${values.ADMIN_TOKEN.slice(0, 6)}…)`,
    `[crondeck] database: ${usesEmbedded ? "embedded PGlite in .data/pglite" : "DATABASE_URL / POSTGRES_URL"}`,
    `[crondeck] run a job now: npm run -s cron -- trigger health-check (the secret comes from .env.local)`,
  ].join("\n"),
);

if (env.CRON_LOCAL_SCHEDULER) {
  const scheduler = new LocalScheduler({ crons: [], baseUrl, secret: values.CRON_SECRET, log: (line) => console.log(line) });
  const follower = new ScheduleFollower({
    scheduler,
    readVercelCrons,
    fetchRegistry: registryFetcher(baseUrl, values.CRON_SECRET),
    log: (line) => console.log(line),
    onChange: (crons) => saveState(crons, true),
  });
  await follower.refresh();
  const crons = scheduler.current();
  console.log(`[crondeck] local scheduler: ${crons.map((c) => `${cronLabel(c.path)} (${c.schedule})`).join(", ") || "no crons"}; it follows vercel.json and the registry (CRON_LOCAL_SCHEDULER=0 turns it off)\n`);
  scheduler.start();
  const follow = async () => {
    await follower.refresh().catch((error) => console.log(`[crondeck] local scheduler: ${(error as Error).message}`));
    setTimeout(follow, FOLLOW_EVERY_MS).unref();
  };
  setTimeout(follow, FOLLOW_EVERY_MS).unref();
} else {
  console.log("[crondeck] local scheduler: off (CRON_LOCAL_SCHEDULER=0): nothing fires the jobs locally\n");
}
