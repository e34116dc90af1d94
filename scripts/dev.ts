/**
 * npm run dev: Next.js in development on the embedded database, plus a local scheduler that
 * calls vercel.json's crons on their schedules the way Vercel Cron does in production
 * (CRON_LOCAL_SCHEDULER=0 turns it off). On a fresh clone it writes .env.local with a random
 * CRON_SECRET and ADMIN_TOKEN first. Extra arguments go to `next dev` (e.g. -- -p 4000).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { VercelCron } from "../lib/vercel/crons";
import { ensureLocalSecrets, readEnvFile } from "../lib/dev/env-file";
import { LocalScheduler } from "../lib/dev/local-scheduler";
import { loadEnvOrExit } from "../lib/env";

const root = process.cwd();
const envFile = join(root, ".env.local");

// The environment as the dev server will see it: .env.local under the shell's.
const { added, values } = ensureLocalSecrets(envFile, loadEnvOrExit());
if (added.length) console.log(`[crondeck] wrote ${added.join(" and ")} to .env.local (first run)`);
const env = loadEnvOrExit(readEnvFile(envFile));

const args = process.argv.slice(2);
const portIndex = args.findIndex((a) => a === "-p" || a === "--port");
const port = portIndex >= 0 ? Number(args[portIndex + 1]) : env.PORT;
const baseUrl = `http://localhost:${port}`;
const usesEmbedded = !(env.DATABASE_URL || env.POSTGRES_URL);

const next = spawn(process.execPath, [join(root, "node_modules/next/dist/bin/next"), "dev", ...args], { stdio: "inherit", env: process.env });
const forward = (signal: NodeJS.Signals) => next.kill(signal);
process.on("SIGINT", forward);
process.on("SIGTERM", forward);
next.on("exit", (code) => process.exit(code ?? 0));

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

await waitForServer();
console.log(
  [
    "",
    `[crondeck] dashboard: ${baseUrl}/dashboard/admin/cron-jobs`,
    `[crondeck] log in with ADMIN_TOKEN from .env.local (${values.ADMIN_TOKEN.slice(0, 6)}…)`,
    `[crondeck] database: ${usesEmbedded ? "embedded PGlite in .data/pglite" : "DATABASE_URL / POSTGRES_URL"}`,
    `[crondeck] trigger a job: curl -H "Authorization: Bearer $CRON_SECRET" ${baseUrl}/api/cron/execute/health-check`,
  ].join("\n"),
);

if (env.CRON_LOCAL_SCHEDULER) {
  const crons = (JSON.parse(readFileSync(join(root, "vercel.json"), "utf8")) as { crons?: VercelCron[] }).crons ?? [];
  const scheduler = new LocalScheduler({ crons, baseUrl, secret: values.CRON_SECRET, log: (line) => console.log(line) });
  scheduler.start();
  console.log(`[crondeck] local scheduler: ${crons.length} crons from vercel.json (CRON_LOCAL_SCHEDULER=0 turns it off)\n`);
}
