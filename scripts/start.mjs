#!/usr/bin/env node
/**
 * The production server's start command, for supervisors (systemd, Docker) and `npm start`:
 * `node scripts/start.mjs [next start options]` runs `next start` IN THIS PROCESS (no npm, no
 * shell, no child), with NEXT_MANUAL_SIG_HANDLE=true so that Crondeck, not Next.js, handles
 * SIGTERM/SIGINT (lib/app/shutdown.ts: no new triggers, running jobs get
 * CRON_SHUTDOWN_GRACE_SECONDS, the rest is marked interrupted, exit 0). The pid a supervisor
 * holds is therefore the pid that drains. PORT (default 3000) and `-H <address>` as for
 * `next start`.
 */
import { createRequire } from "node:module";

process.env.NEXT_MANUAL_SIG_HANDLE = "true";
// Next's CLI reads process.argv as `node <script> <command> [options]`.
process.argv.splice(2, 0, "start");
createRequire(import.meta.url)("next/dist/bin/next");
