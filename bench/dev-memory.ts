/**
 * npm run dev's memory, measured: the resident memory (RSS) of each process of the dev tree
 * (scripts/dev.ts under tsx, next dev, and its children), idle after start and after loading
 * the dashboard pages, against `next start` on a build, in a temporary copy of the project
 * (git clone + hard-linked node_modules, so /work's .next and .data are never touched).
 *
 *   npx tsx bench/dev-memory.ts            prints the figures, writes bench/results/dev-memory.json
 *   npx tsx bench/dev-memory.ts --quick    dev only (no build, no variants)
 *   npx tsx bench/dev-memory.ts --webpack  also next dev --webpack
 *
 * The helpers (copyProject, startDev, processTree) are also what tests/http/dev-new-job.test.ts
 * uses to run the real `npm run dev` in a copy.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

export const projectRoot = resolve(import.meta.dirname, "..");

/** Variables of the developer's shell that would point the copy elsewhere (its own .env.local decides). */
const SHELL_ONLY = ["DATABASE_URL", "POSTGRES_URL", "PGLITE_DIR", "TEST_DATABASE_URL", "CRON_SECRET", "ADMIN_TOKEN", "CRON_DEMO", "PORT", "NODE_ENV", "NEXT_DIST_DIR", "__NEXT_PROCESSED_ENV", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "KV_REST_API_URL", "KV_REST_API_TOKEN", "SENTRY_DSN", "VERCEL_ENV", "VERCEL_URL"];

export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };
  for (const key of SHELL_ONLY) delete env[key];
  return { ...env, ...extra };
}

export interface ProjectCopy {
  dir: string;
  /** How node_modules got there. */
  how: "hard links" | "npm install";
  dispose(): void;
}

/**
 * A fresh clone of the project's committed tree in a temporary directory, with node_modules
 * hard-linked from the project (a real directory inside the copy: Turbopack refuses a
 * node_modules symlinked from outside its root), or `npm install` when hard links fail
 * (another file system).
 */
export function copyProject(prefix = "crondeck-copy-"): ProjectCopy {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  execFileSync("git", ["clone", "--quiet", "--no-hardlinks", projectRoot, dir], { stdio: "ignore" });
  let how: ProjectCopy["how"] = "hard links";
  try {
    execFileSync("cp", ["-al", join(projectRoot, "node_modules"), join(dir, "node_modules")], { stdio: "ignore" });
  } catch {
    rmSync(join(dir, "node_modules"), { recursive: true, force: true });
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: dir, stdio: "ignore" });
    how = "npm install";
  }
  return { dir, how, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface RunningServer {
  child: ChildProcess;
  port: number;
  output(): string;
  /** Resolves when a line matches (rejects on timeout or exit, with the output). */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  stop(): Promise<void>;
}

function run(command: string, args: string[], cwd: string, port: number, env: NodeJS.ProcessEnv): RunningServer {
  const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: string) => {
    output += chunk;
    for (const l of listeners) l();
  };
  child.stdout!.setEncoding("utf8").on("data", onData);
  child.stderr!.setEncoding("utf8").on("data", onData);
  let exited = false;
  const exit = new Promise<void>((r) => child.once("exit", () => ((exited = true), r(), listeners.forEach((l) => l()))));
  return {
    child,
    port,
    output: () => output,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolveMatch, reject) => {
        const check = () => {
          const match = output.match(pattern);
          if (match) return done(() => resolveMatch(match));
          if (exited) return done(() => reject(new Error(`exited before ${pattern}:\n${output.slice(-4000)}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output.slice(-4000)}`))), timeoutMs);
        const done = (then: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          then();
        };
        listeners.add(check);
        check();
      });
    },
    async stop() {
      if (exited) return;
      // scripts/dev.ts forwards SIGTERM to next dev; next start gets it directly.
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** `npm run dev` (node --import tsx scripts/dev.ts) in `dir`, on `port`. */
export function startDev(dir: string, port: number, env: Record<string, string> = {}, args: string[] = []): RunningServer {
  return run(process.execPath, ["--import", "tsx", "scripts/dev.ts", "--port", String(port), ...args], dir, port, cleanEnv(env));
}

/** `next start` on the build in `dir`. */
export function startNext(dir: string, port: number, env: Record<string, string> = {}): RunningServer {
  return run(process.execPath, [join(dir, "node_modules/next/dist/bin/next"), "start", "-p", String(port), "-H", "127.0.0.1"], dir, port, cleanEnv(env));
}

export interface ProcessMemory {
  pid: number;
  ppid: number;
  command: string;
  rssMb: number;
}

function readProc(pid: number): ProcessMemory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ").replace(/\/\S*\/node_modules\//g, "node_modules/");
    return { pid, ppid, command: command.length > 120 ? `${command.slice(0, 117)}...` : command, rssMb: Math.round((rssKb / 1024) * 10) / 10 };
  } catch {
    return null;
  }
}

/** `root` and every process below it, with its RSS (Linux /proc). */
export function processTree(root: number): ProcessMemory[] {
  const all = readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map((d) => readProc(Number(d))).filter((p): p is ProcessMemory => p !== null);
  const tree: ProcessMemory[] = [];
  const walk = (pid: number) => {
    const p = all.find((x) => x.pid === pid);
    if (!p) return;
    tree.push(p);
    for (const c of all.filter((x) => x.ppid === pid)) walk(c.pid);
  };
  walk(root);
  return tree;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const total = (tree: ProcessMemory[]) => Math.round(tree.reduce((s, p) => s + p.rssMb, 0));

/** Logs in with ADMIN_TOKEN and loads every dashboard page (each compiles on first load under next dev). */
async function loadDashboard(baseUrl: string, adminToken: string): Promise<void> {
  const login = await fetch(`${baseUrl}/api/admin/session`, { method: "POST", headers: { "content-type": "application/json", origin: baseUrl }, body: JSON.stringify({ token: adminToken }) });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
  for (const path of ["/dashboard/admin/login", "/dashboard/admin/cron-jobs", "/dashboard/admin/cron-jobs/health-check", "/dashboard/admin/dead-letters", "/dashboard/admin/locks", "/dashboard/admin/audit"]) {
    await fetch(`${baseUrl}${path}`, { headers: { cookie }, redirect: "manual" }).then((r) => r.arrayBuffer());
  }
}

interface Sample {
  label: string;
  totalMb: number;
  processes: ProcessMemory[];
}

async function measure(label: string, server: RunningServer, ready: RegExp, adminToken: () => string): Promise<Sample[]> {
  await server.waitFor(ready, 420_000);
  await sleep(10_000);
  const idle = processTree(server.child.pid!);
  await loadDashboard(`http://127.0.0.1:${server.port}`, adminToken());
  await sleep(5_000);
  const loaded = processTree(server.child.pid!);
  return [
    { label: `${label}, idle after start`, totalMb: total(idle), processes: idle },
    { label: `${label}, after the dashboard pages`, totalMb: total(loaded), processes: loaded },
  ];
}

function envValue(dir: string, name: string): string {
  const line = readFileSync(join(dir, ".env.local"), "utf8").split("\n").find((l) => l.startsWith(`${name}=`));
  return line?.slice(name.length + 1) ?? "";
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const copy = copyProject("crondeck-devmem-");
  console.log(`copy: ${copy.dir} (node_modules by ${copy.how})`);
  const samples: Sample[] = [];
  const failures: string[] = [];
  try {
    const variants: Array<{ label: string; env: Record<string, string>; args?: string[]; config?: string }> = [
      { label: "npm run dev (Turbopack, defaults)", env: {} },
      ...(quick ? [] : [{ label: "npm run dev, turbopackMemoryEviction 'full'", env: {}, config: "full" }]),
      ...(process.argv.includes("--webpack") ? [{ label: "npm run dev --webpack", env: {}, args: ["--webpack"] }] : []),
    ];
    const configPath = join(copy.dir, "next.config.mjs");
    const originalConfig = readFileSync(configPath, "utf8");
    for (const v of variants) {
      writeFileSync(configPath, v.config ? originalConfig.replace("experimental: {", `experimental: {\n    turbopackMemoryEviction: "${v.config}",`) : originalConfig);
      rmSync(join(copy.dir, ".next"), { recursive: true, force: true });
      const port = await freePort();
      const dev = startDev(copy.dir, port, {}, v.args ?? []);
      try {
        samples.push(...(await measure(v.label, dev, /\[crondeck\] local scheduler: /, () => envValue(copy.dir, "ADMIN_TOKEN"))));
      } catch (error) {
        failures.push(`${v.label}: ${(error as Error).message.split("\n")[0]}`);
      } finally {
        await dev.stop();
      }
      console.log(samples.slice(-2).map((s) => `${s.label}: ${s.totalMb} MB`).join("\n"));
    }
    writeFileSync(configPath, originalConfig);
    if (!quick) {
      try {
        execFileSync(process.execPath, [join(copy.dir, "node_modules/next/dist/bin/next"), "build"], { cwd: copy.dir, env: cleanEnv(), stdio: "pipe" });
      } catch (error) {
        const e = error as { stdout?: Buffer; stderr?: Buffer };
        failures.push(`next build: ${`${e.stdout ?? ""}${e.stderr ?? ""}`.trim().split("\n").slice(-5).join(" | ")}`);
      }
    }
    if (!quick && failures.every((f) => !f.startsWith("next build"))) {
      const port = await freePort();
      const token = envValue(copy.dir, "ADMIN_TOKEN");
      const start = startNext(copy.dir, port, { CRON_SECRET: envValue(copy.dir, "CRON_SECRET"), ADMIN_TOKEN: token, NODE_ENV: "production" });
      try {
        samples.push(...(await measure("next start (production build)", start, /Ready in/, () => token)));
      } catch (error) {
        failures.push(`next start: ${(error as Error).message.split("\n")[0]}`);
      } finally {
        await start.stop();
      }
      console.log(samples.slice(-2).map((s) => `${s.label}: ${s.totalMb} MB`).join("\n"));
    }
  } finally {
    copy.dispose();
  }
  console.log("");
  for (const f of failures) console.log(`not measured: ${f}`);
  for (const s of samples) {
    console.log(`${s.label}: ${s.totalMb} MB`);
    for (const p of s.processes) console.log(`    ${String(p.rssMb).padStart(7)} MB  pid ${p.pid}  ${p.command}`);
  }
  if (!quick) {
    const out = resolve(projectRoot, "bench/results/dev-memory.json");
    writeFileSync(out, `${JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, samples, failures }, null, 2)}\n`);
    console.log(`\nwrote ${out}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
