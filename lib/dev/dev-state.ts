import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * What a running `npm run dev` tells the rest of the project (the CLI's `trigger` and
 * `doctor`): where the app answers and what its local scheduler fires. One file,
 * `.data/dev-server.json`, written by scripts/dev.ts and rewritten whenever the scheduler's
 * set of crons changes; readers ignore it when the process it names is gone.
 */
export interface DevState {
  /** The `npm run dev` process (scripts/dev.ts). */
  pid: number;
  /** The app's base URL, e.g. http://localhost:3000 (the port `-p`/`PORT` chose). */
  url: string;
  startedAt: string;
  scheduler: {
    /** False when CRON_LOCAL_SCHEDULER=0. */
    enabled: boolean;
    /** Every path the local scheduler calls, with its UTC schedule, as of `updatedAt`. */
    crons: Array<{ path: string; schedule: string }>;
    updatedAt: string;
  };
}

export const DEV_STATE_FILE = ".data/dev-server.json";

export function devStatePath(root: string): string {
  return join(root, DEV_STATE_FILE);
}

/** Writes the state atomically (a reader never sees half a file). */
export function writeDevState(root: string, state: DevState): void {
  const path = devStatePath(root);
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temp, path);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The state of the `npm run dev` running in `root`, or null (no file, unreadable, or its process is gone). */
export function readDevState(root: string): DevState | null {
  const path = devStatePath(root);
  if (!existsSync(path)) return null;
  try {
    const state = JSON.parse(readFileSync(path, "utf8")) as DevState;
    if (typeof state?.pid !== "number" || typeof state.url !== "string" || !alive(state.pid)) return null;
    return state;
  } catch {
    return null;
  }
}
