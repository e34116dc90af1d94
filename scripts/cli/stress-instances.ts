import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import type { CliContext } from "./context";
import { CliError } from "./errors";

/** The contention test's `next start` instances: ports, build, start, readiness, triggers, stop. */

const STOP_GRACE_MS = 10_000;

export interface Instance {
  index: number;
  port: number;
  url: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<void>;
  exitCode: number | null | undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no free port"))));
    });
  });
}

export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolveFree(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolveFree(true)));
  });
}

/** A child's environment: undefined removes a variable (spawn would pass the string "undefined"). */
function withoutUndefined(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** Where `next build` writes and `next start` reads: NEXT_DIST_DIR, as next.config.mjs has it, else .next. */
const distDir = () => process.env.NEXT_DIST_DIR || ".next";

export async function ensureBuild(ctx: CliContext): Promise<void> {
  const buildId = resolve(ctx.root, distDir(), "BUILD_ID");
  if (existsSync(buildId)) return;
  ctx.out.note(`no build in ${distDir()}/: running \`next build\` first...`);
  const child = spawn(process.execPath, [resolve(ctx.root, "node_modules/next/dist/bin/next"), "build"], {
    cwd: ctx.root,
    env: withoutUndefined({ ...process.env, NODE_ENV: undefined, NEXT_TELEMETRY_DISABLED: "1" }),
    // The build's output goes to stderr: stdout is the report's alone.
    stdio: ["ignore", "pipe", "inherit"],
  });
  child.stdout!.pipe(process.stderr);
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  if (code !== 0 || !existsSync(buildId)) throw new CliError("build_failed", `next build failed (exit code ${code}): fix the build, then run the stress test again`);
}

export function startInstance(ctx: CliContext, index: number, port: number, env: Record<string, string | undefined>): Instance {
  const child = spawn(process.execPath, [resolve(ctx.root, "node_modules/next/dist/bin/next"), "start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: ctx.root,
    env: withoutUndefined(env),
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: a Ctrl-C in the terminal reaches the CLI, which stops the instances in order.
    detached: true,
  });
  const output: string[] = [];
  const keep = (chunk: string) => {
    output.push(chunk);
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout!.setEncoding("utf8").on("data", keep);
  child.stderr!.setEncoding("utf8").on("data", keep);
  const instance: Instance = { index, port, url: `http://127.0.0.1:${port}`, child, output, exitCode: undefined, exited: Promise.resolve() };
  instance.exited = new Promise((r) =>
    child.once("exit", (code) => {
      instance.exitCode = code;
      r();
    }),
  );
  return instance;
}

export async function waitReady(instance: Instance, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (instance.exitCode !== undefined) throw new CliError("instance_failed", `instance ${instance.index + 1} (next start on port ${instance.port}) exited with code ${instance.exitCode}:\n${instance.output.join("").slice(-2_000)}`);
    if (Date.now() > deadline) throw new CliError("instance_failed", `instance ${instance.index + 1} did not answer on ${instance.url}/api/health within ${timeoutMs / 1000}s:\n${instance.output.join("").slice(-2_000)}`);
    try {
      const response = await fetch(`${instance.url}/api/health`, { signal: AbortSignal.timeout(5_000) });
      await response.body?.cancel();
      return;
    } catch {
      await sleep(100);
    }
  }
}

export async function stopInstance(instance: Instance): Promise<void> {
  if (instance.exitCode !== undefined) return;
  instance.child.kill("SIGTERM");
  const killer = setTimeout(() => instance.child.kill("SIGKILL"), STOP_GRACE_MS);
  await instance.exited;
  clearTimeout(killer);
}

export type Outcome = { kind: "ran"; ok: boolean; slot: string } | { kind: "skipped"; reason: string } | { kind: "error"; message: string };

export async function trigger(url: string, secret: string): Promise<Outcome> {
  let response: Response;
  try {
    response = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${secret}`, "user-agent": "crondeck-stress/1.0" }, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    return { kind: "error", message: (error as Error).message };
  }
  const text = await response.text();
  let body: { skipped?: boolean; reason?: string; execution?: { status?: string; scheduledFor?: string }; code?: string } | undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.status === 200 && body?.skipped) return { kind: "skipped", reason: body.reason ?? "unknown" };
  if ((response.status === 200 || response.status === 500) && body?.execution?.status && !body.skipped) {
    return { kind: "ran", ok: body.execution.status === "completed", slot: body.execution.scheduledFor ?? "" };
  }
  return { kind: "error", message: `HTTP ${response.status}${body?.code ? ` ${body.code}` : ""}` };
}

