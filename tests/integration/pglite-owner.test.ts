import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { EmbeddedDatabaseError, openDatabase, queryRows } from "@/lib/db/client";
import { LOCK_FILE } from "@/lib/db/embedded-lock";
import { migrate } from "@/lib/db/migrate";
import { runCli } from "../support/cli";
import { childEnv } from "../support/next-server";

/**
 * Two processes must never open one PGlite directory: PGlite is Postgres inside one process, and
 * a second opener neither sees the first one's writes nor keeps its checkpoints apart (runs
 * lost, and once a PANIC on the next start). The opener owns the directory through a lock file;
 * the CLI (or a second server) is refused at once with a message naming the owner and the fix;
 * a stale lock (its process is gone) is taken over; a damaged directory gets a message naming
 * it and the command that keeps it as a backup, and is never wiped.
 */
const root = resolve(import.meta.dirname, "../..");
const scratch = mkdtempSync(join(tmpdir(), "crondeck-pglite-owner-"));
// The owner's script lives in the project (gitignored .data/) so it resolves the project's packages.
mkdirSync(join(root, ".data"), { recursive: true }); // absent on a fresh clone
const scripts = mkdtempSync(join(root, ".data", "pglite-owner-test-"));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(scripts, { recursive: true, force: true });
});

/**
 * A real second process that opens the directory the way the app does (getDatabase: lock,
 * open, migrate), writes `rows` audit rows, prints "ready", and keeps the database open until
 * its stdin closes (then closes it cleanly) or it is killed.
 */
function startOwner(dataDir: string, rows: number): Promise<{ child: ChildProcess; output: () => string }> {
  const script = join(scripts, `owner-${Date.now()}.mts`);
  writeFileSync(
    script,
    `import { sql } from "drizzle-orm";
     import { getDatabase, closeDatabase } from ${JSON.stringify(join(root, "lib/db/client.ts"))};
     import { loadEnv } from ${JSON.stringify(join(root, "lib/env.ts"))};
     const database = await getDatabase(loadEnv());
     for (let i = 0; i < ${rows}; i++) await database.db.execute(sql\`INSERT INTO cron_audit_log (actor, action, target, detail) VALUES ('owner', 'write', \${String(i)}, '{}'::jsonb)\`);
     process.stdout.write("ready\\n");
     process.stdin.resume();
     process.stdin.on("end", async () => { await closeDatabase(); process.exit(0); });`,
  );
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: root,
    env: childEnv({ PGLITE_DIR: dataDir, NODE_ENV: "test" }) as NodeJS.ProcessEnv,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (output += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (output += c));
  return new Promise((resolveOwner, reject) => {
    const timer = setTimeout(() => reject(new Error(`the owner did not get ready:\n${output}`)), 90_000);
    child.stdout!.on("data", () => {
      if (output.includes("ready")) {
        clearTimeout(timer);
        resolveOwner({ child, output: () => output });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the owner exited (${code}) before it was ready:\n${output}`));
    });
  });
}

const exited = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null || child.signalCode ? r(child.exitCode) : child.once("exit", (code) => r(code))));
const cliOn = (dataDir: string, args: string[]) => runCli(args, { env: { DATABASE_URL: "", PGLITE_DIR: dataDir } });

async function auditRows(dataDir: string): Promise<number> {
  const database = await openDatabase({ kind: "pglite", dataDir });
  try {
    const [row] = await queryRows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM cron_audit_log WHERE actor = 'owner'`);
    return Number(row.n);
  } finally {
    await database.close();
  }
}

describe("one process per embedded PGlite directory", () => {
  it("refuses the CLI at once while another process owns the directory, naming it and the fix; nothing is lost", { timeout: 180_000 }, async () => {
    const dataDir = join(scratch, "shared", "pglite");
    const owner = await startOwner(dataDir, 25);
    const lock = JSON.parse(readFileSync(join(dataDir, LOCK_FILE), "utf8"));
    expect(lock.pid).toBe(owner.child.pid);

    const started = Date.now();
    const refused = await cliOn(dataDir, ["jobs", "list"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`is open in process ${owner.child.pid}`);
    expect(refused.stderr).toContain("set DATABASE_URL to a Postgres server");
    expect(refused.stderr).toContain("Stop that process first");
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    // Refused before PGlite started (opening it takes seconds): the CLI did not touch the directory.
    expect(Date.now() - started).toBeLessThan(30_000);
    const asJson = await cliOn(dataDir, ["jobs", "list", "--json"]);
    expect(asJson.code).toBe(1);
    expect(asJson.json).toMatchObject({ ok: false, error: { code: "embedded_database_busy" } });

    // The owner is unharmed and still writes; after it closes, every row it wrote is there.
    owner.child.stdin!.end();
    expect(await exited(owner.child)).toBe(0);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    expect(await auditRows(dataDir)).toBe(25);
    // With the owner gone the CLI opens it.
    const listed = await cliOn(dataDir, ["jobs", "list"]);
    expect(listed.stderr).not.toContain("is open in process");
    expect(listed.code).toBe(0);
  });

  it("takes over a stale lock left by a killed process", { timeout: 180_000 }, async () => {
    const dataDir = join(scratch, "stale", "pglite");
    const owner = await startOwner(dataDir, 5);
    owner.child.kill("SIGKILL");
    await exited(owner.child);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(true);
    const listed = await cliOn(dataDir, ["jobs", "list"]);
    expect(listed.stderr).not.toContain("is open in process");
    expect(listed.code).toBe(0);
    expect(await auditRows(dataDir)).toBe(5);
  });

  it("refuses a second handle in the same process", async () => {
    const dataDir = join(scratch, "same-process", "pglite");
    const first = await openDatabase({ kind: "pglite", dataDir });
    try {
      await expect(openDatabase({ kind: "pglite", dataDir })).rejects.toMatchObject({ name: "EmbeddedDatabaseError", reason: "busy" });
    } finally {
      await first.close();
    }
    const again = await openDatabase({ kind: "pglite", dataDir });
    await again.close();
  });

  it("names a damaged directory and the command that keeps it as a backup, and never wipes it", { timeout: 120_000 }, async () => {
    const dataDir = join(scratch, "damaged", "pglite");
    const database = await openDatabase({ kind: "pglite", dataDir });
    await migrate(database.db);
    await database.close();
    writeFileSync(join(dataDir, "global", "pg_control"), Buffer.alloc(8192, 0x5a));
    const before = readdirSync(dataDir).sort();

    const error = await openDatabase({ kind: "pglite", dataDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbeddedDatabaseError);
    expect((error as EmbeddedDatabaseError).reason).toBe("damaged");

    const r = await cliOn(dataDir, ["jobs", "list"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("could not be opened");
    expect(r.stderr).toContain("the directory is damaged");
    expect(r.stderr).toMatch(/mv \S*damaged\/pglite \S*damaged\/pglite\.damaged-\d{8}-\d{6}/);
    expect(r.stderr).toContain("Nothing was deleted");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // Nothing moved or deleted, and the lock was released.
    expect(readdirSync(dataDir).sort()).toEqual(before);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  });
});
