import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { FullConfig } from "@playwright/test";
import buildNext from "../support/build-next";
import { createAppDatabase } from "../support/db";
import { projectRoot, startNextServer } from "../support/next-server";
import { E2E_STATE_KEY, type E2EState } from "./state";

/** What `next build` compiles: if none of it changed since <dist dir>/BUILD_ID, the build is reused. */
const BUILD_INPUTS = ["app", "components", "lib", "instrumentation.ts", "proxy.ts", "next.config.mjs", "postcss.config.mjs", "sentry.server.config.ts", "package.json", "tsconfig.json"];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function buildIsCurrent(): boolean {
  // The build the server will start: NEXT_DIST_DIR (next.config.mjs) or .next.
  const buildId = resolve(projectRoot, process.env.NEXT_DIST_DIR || ".next", "BUILD_ID");
  if (!existsSync(buildId)) return false;
  if (process.env.CRONDECK_SKIP_BUILD === "1") return true;
  const built = statSync(buildId).mtimeMs;
  return BUILD_INPUTS.every((p) => newestMtime(resolve(projectRoot, p)) <= built);
}

export default async function globalSetup(_config: FullConfig): Promise<void> {
  if (!buildIsCurrent()) {
    console.log("[e2e] next build (sources changed since the last build)…");
    await buildNext();
  }
  // A database of its own on the Postgres server (TEST_DATABASE_URL), else a fresh PGlite
  // directory (the specs that read the database directly then skip). Not migrated here: the
  // server migrates it on first use, as in production.
  const database = await createAppDatabase();
  const adminToken = randomBytes(24).toString("hex");
  const cronSecret = randomBytes(24).toString("hex");
  let server;
  try {
    server = await startNextServer({
      env: {
        ...database.env,
        ADMIN_TOKEN: adminToken,
        CRON_SECRET: cronSecret,
        CRON_DEMO: "1",
        // The schedule features' jobs (lib/jobs/feature-jobs): intervals, dependencies, input, backfill, snooze, overrides.
        CRONDECK_FEATURE_JOBS: "1",
        // The console tests' jobs (lib/jobs/console-jobs.ts), whose month of history tests/e2e/console.spec.ts seeds.
        CRONDECK_CONSOLE_JOBS: "1",
        // Long enough to watch it run in the banner (it polls every 3 s: at least one poll lands while
        // it runs, with room for a slow answer), short of its 5 s timeout.
        CRON_DEMO_SLOW_MS: "4200",
        // demo-stubborn times out at 1 s and lets go of its lease at this point: a quick dead letter.
        CRON_DEMO_STUBBORN_MS: "1200",
      },
    });
    // First use opens and migrates the database.
    const warm = await fetch(`${server.url}/api/cron/jobs/health-check`, { headers: { authorization: `Bearer ${cronSecret}` } });
    if (warm.status !== 200) throw new Error(`warm-up answered ${warm.status}: ${await warm.text()}\n${server.output()}`);
  } catch (error) {
    await server?.stop();
    await database.dispose();
    throw error;
  }

  const state: E2EState = { server, database };
  (globalThis as Record<symbol, unknown>)[E2E_STATE_KEY] = state;
  // The browser uses "localhost", as a developer would: under `next start -H 127.0.0.1` a route
  // handler's request.url says localhost whatever the Host header, and the admin API's Origin
  // check compares against request.url's origin.
  process.env.CRONDECK_E2E_BASE_URL = server.url.replace("//127.0.0.1:", "//localhost:");
  process.env.CRONDECK_E2E_ADMIN_TOKEN = adminToken;
  process.env.CRONDECK_E2E_CRON_SECRET = cronSecret;
  if ("DATABASE_URL" in database.env) process.env.CRONDECK_E2E_DATABASE_URL = database.env.DATABASE_URL;
}
