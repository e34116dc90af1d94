import { closeSync, existsSync, openSync, readFileSync, statSync, unlinkSync, writeSync, mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { basename, isAbsolute, join, relative } from "node:path";

/**
 * One process per embedded (PGlite) data directory. PGlite is Postgres compiled to WebAssembly
 * inside one process: a second process that opens the same directory succeeds, does not see the
 * first one's writes, and their checkpoints overwrite each other (runs lost, and once
 * `PANIC: could not locate a valid checkpoint record`). So the process that opens the directory
 * takes this lock file in it (its pid, host, command and the pid's start time), and any other
 * process is refused at once with a message naming the owner and what to do. A lock whose
 * process is gone (or whose pid now belongs to another process) is stale and taken over.
 */
export const LOCK_FILE = "crondeck-owner.json";

export interface EmbeddedOwner {
  pid: number;
  host: string;
  /** How the owner was started, for the message: "npm run dev", "next start", "npm run cron"... */
  command: string;
  startedAt: string;
  /** The pid's start time (Linux /proc/<pid>/stat field 22), so a reused pid is not taken for the owner. */
  processStart: string | null;
}

/** The embedded database cannot be used by this process; the message says why and what to do. */
export class EmbeddedDatabaseError extends Error {
  override name = "EmbeddedDatabaseError";
  /** SQLSTATE 08001 (the client could not establish the connection): requests answer 503 store_unavailable. */
  readonly code = "08001";
  constructor(
    message: string,
    readonly reason: "busy" | "damaged" | "unopenable",
    readonly dataDir: string,
  ) {
    super(message);
  }
}

const HELD = Symbol.for("crondeck.embedded-locks");
function heldHere(): Set<string> {
  const g = globalThis as { [HELD]?: Set<string> };
  return (g[HELD] ??= new Set());
}

function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime 22.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/** What the lock file says about this process. */
function commandLabel(): string {
  const event = process.env.npm_lifecycle_event;
  if (event && event !== "npx") return event === "start" || event === "test" ? `npm ${event}` : `npm run ${event}`;
  // Next.js names its server process "next-server (v...)"; its argv is an internal file.
  if (process.title.startsWith("next-server")) return process.env.NODE_ENV === "development" ? "next dev" : "next start";
  const script = process.argv[1] ? basename(process.argv[1]) : basename(process.argv0);
  return [script, process.argv[2]].filter(Boolean).join(" ");
}

function ownerIsAlive(owner: EmbeddedOwner, dataDir: string): boolean {
  if (owner.host !== hostname()) return true; // another machine on a shared disk: cannot tell, so never take it over
  if (owner.pid === process.pid) return heldHere().has(dataDir); // else an earlier process with our pid (a container restart)
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = processStart(owner.pid);
  return !(owner.processStart && now && owner.processStart !== now);
}

/** The data directory as the user typed it: relative to where the process runs. */
export function shownDir(dataDir: string): string {
  const near = relative(process.cwd(), dataDir);
  return near === "" ? "." : near.startsWith("..") || isAbsolute(near) ? dataDir : near;
}

function busyMessage(dataDir: string, owner: EmbeddedOwner | null): string {
  const who = owner
    ? `process ${owner.pid} (${owner.command}${owner.host !== hostname() ? ` on ${owner.host}` : ""}, since ${owner.startedAt})`
    : "another process";
  const self = owner?.pid === process.pid ? " (this process opened it already; close that handle first)" : "";
  return (
    `the embedded database in ${shownDir(dataDir)} is open in ${who}${self}. PGlite allows one process per data directory: ` +
    `a second one would lose runs or damage it. Stop that process first, or set DATABASE_URL to a Postgres server ` +
    `to share one database between the app, the CLI and other instances. If no such process is running, delete ${join(shownDir(dataDir), LOCK_FILE)}.`
  );
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function parseOwner(text: string): EmbeddedOwner | null {
  try {
    const value = JSON.parse(text) as Partial<EmbeddedOwner>;
    return typeof value.pid === "number" && typeof value.host === "string" ? (value as EmbeddedOwner) : null;
  } catch {
    return null;
  }
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Takes the data directory's lock for this process, or throws EmbeddedDatabaseError("busy")
 * naming the owner. Returns the release (also run at process exit; a killed process leaves a
 * stale lock that the next opener takes over).
 */
export function acquireEmbeddedLock(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const held = heldHere();
  const me: EmbeddedOwner = { pid: process.pid, host: hostname(), command: commandLabel(), startedAt: new Date().toISOString(), processStart: processStart(process.pid) };
  if (held.has(dataDir)) throw new EmbeddedDatabaseError(busyMessage(dataDir, me), "busy", dataDir);
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const fd = openSync(path, "wx");
      try {
        writeSync(fd, JSON.stringify(me));
      } finally {
        closeSync(fd);
      }
      held.add(dataDir);
      const release = () => {
        process.off("exit", release);
        if (!held.delete(dataDir)) return;
        const owner = parseOwner(readText(path) ?? "");
        if (owner?.pid === process.pid && owner.startedAt === me.startedAt) {
          try {
            unlinkSync(path);
          } catch {
            // already gone
          }
        }
      };
      process.on("exit", release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const text = readText(path);
    if (text === null) continue; // released meanwhile: try again
    const owner = parseOwner(text);
    if (!owner) {
      // Being written right now (open and write are two steps), or left half-written by a crash.
      let young = false;
      try {
        young = Date.now() - statSync(path).mtimeMs < 2_000;
      } catch {
        continue;
      }
      if (young) {
        pause(50);
        continue;
      }
    } else if (ownerIsAlive(owner, dataDir)) {
      throw new EmbeddedDatabaseError(busyMessage(dataDir, owner), "busy", dataDir);
    }
    // Stale: remove it unless it changed since it was read (another process took it over first).
    if (readText(path) === text) {
      try {
        unlinkSync(path);
      } catch {
        // someone else removed it
      }
    }
  }
  throw new EmbeddedDatabaseError(busyMessage(dataDir, parseOwner(readText(path) ?? "")), "busy", dataDir);
}

/** Whether a data directory holds a database (as opposed to a fresh or empty directory). */
export function holdsDatabase(dataDir: string): boolean {
  return existsSync(join(dataDir, "PG_VERSION"));
}

function stamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
}

/**
 * What to say when PGlite cannot open a data directory that holds a database. Nothing is
 * deleted or moved by the app: the message gives the one command that keeps the old directory
 * as a backup and lets the next start create a fresh one.
 */
export function damagedMessage(dataDir: string, cause: unknown, now = new Date()): string {
  const dir = shownDir(dataDir);
  const reason = (cause instanceof Error ? cause.message : String(cause)).split("\n")[0].slice(0, 200);
  return (
    `the embedded database in ${dir} could not be opened (${reason}): the directory is damaged, for example by two processes ` +
    `that had it open at once or a crash during a write. Nothing was deleted. To start over with an empty database and keep ` +
    `the old one as a backup, stop every process using it and run:\n  mv ${dir} ${dir}.damaged-${stamp(now)}\n` +
    `then start again (a new database is created and migrated on first use). Or set DATABASE_URL to a Postgres server.`
  );
}
