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

/**
 * The port `npm run dev` serves on, and the arguments for `next dev` with it made explicit:
 * `-p 4000`, `--port 4000`, `--port=4000` and `-p4000` on the command line (the last one
 * wins, as with next dev), else PORT (shell or .env.local), else 3000. Passing it explicitly
 * means next dev fails on a busy port instead of moving to another one that the banner, the
 * local scheduler and the dev state would not know. A bad value is an error naming the fix.
 */
export function devPort(args: readonly string[], envPort: number | string | undefined): { port: number; nextArgs: string[] } {
  const rest: string[] = [];
  let fromArgs: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      rest.push(...args.slice(i));
      break;
    }
    if (arg === "-p" || arg === "--port") {
      if (i + 1 >= args.length) throw new Error(`${arg} needs a port number, e.g. npm run dev -- ${arg} 4000`);
      fromArgs = args[++i];
    } else if (arg.startsWith("--port=")) fromArgs = arg.slice("--port=".length);
    else if (/^-p\d/.test(arg)) fromArgs = arg.slice(2);
    else rest.push(arg);
  }
  const raw = fromArgs ?? (envPort === undefined || envPort === "" ? "3000" : String(envPort));
  const port = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`port "${raw}" ${fromArgs === undefined ? "(PORT) " : ""}is not a port number (1-65535): use e.g. npm run dev -- -p 4000, or PORT=4000 npm run dev`);
  }
  return { port, nextArgs: ["--port", String(port), ...rest] };
}
