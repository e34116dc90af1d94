import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { projectRoot } from "../support/next-server";

/**
 * Reading the self-host recipe's files (deploy/*, Dockerfile) the way systemd, cron and Docker
 * read them, and running their commands the way those supervisors do: a clean environment
 * (what the unit or image sets, nothing from the developer's shell or .env files), the
 * process in its own group, signals to the pid the supervisor holds. The tests run the files'
 * own command lines, so the files cannot drift from what is tested.
 */

export const deployDir = resolve(projectRoot, "deploy");
export const deployFile = (name: string) => resolve(deployDir, name);

/** A systemd unit: section -> key -> its values in file order (ExecStartPre, Environment repeat). */
export type Unit = Map<string, Map<string, string[]>>;

export function readUnit(file: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    // A line ending in a backslash continues on the next one (systemd.syntax(7)).
    while (line.endsWith("\\") && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const eq = line.indexOf("=");
    if (!section || eq < 0) throw new Error(`${file}: cannot read line "${line}"`);
    const key = line.slice(0, eq).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return unit;
}

export const unitValues = (unit: Unit, section: string, key: string): string[] => unit.get(section)?.get(key) ?? [];
/** The value systemd uses for a key given once (the last one, when repeated). */
export const unitValue = (unit: Unit, section: string, key: string): string | undefined => unitValues(unit, section, key).at(-1);

/** Splits words as systemd does: whitespace separates, "double" and 'single' quotes group. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of text.matchAll(re)) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? m[3]!));
  return words;
}

/** Environment= lines: each a list of KEY=VALUE words. */
export function environmentOf(values: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const value of values) {
    for (const word of splitWords(value)) {
      const eq = word.indexOf("=");
      if (eq > 0) env[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  return env;
}

/**
 * An Exec*= line as systemd runs it: the words, `${VAR}` and `$VAR` words expanded from the
 * unit's environment. Prefixes such as "-" (failure ignored) are not used by the recipe and refused.
 */
export function execArgv(line: string, env: Record<string, string | undefined>): string[] {
  if (/^[-@:+!]/.test(line)) throw new Error(`the recipe's Exec lines take no prefix: ${line}`);
  return splitWords(line).map((word) => word.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => env[(a ?? b)!] ?? ""));
}

/** KEY=VALUE lines (an EnvironmentFile, an --env-file): comments and blank lines skipped, one level of quotes removed. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    env[line.slice(0, eq).trim()] = line.slice(eq + 1).trim().replace(/^"(.*)"$|^'(.*)'$/, "$1$2");
  }
  return env;
}

export interface DockerInstruction {
  /** 0-based index of the stage (FROM) it belongs to. */
  stage: number;
  op: string;
  args: string;
}

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
export function readDockerfile(file: string): { stages: string[]; instructions: DockerInstruction[] } {
  const stages: string[] = [];
  const instructions: DockerInstruction[] = [];
  const lines = readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    if (!line || line.startsWith("#")) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) line = `${line.slice(0, -1).trimEnd()} ${lines[++i]!.trim()}`;
    const m = /^(\w+)\s+([\s\S]*)$/.exec(line);
    if (!m) throw new Error(`${file}: cannot read "${line}"`);
    const op = m[1]!.toUpperCase();
    if (op === "FROM") stages.push(m[2]!);
    instructions.push({ stage: stages.length - 1, op, args: m[2]! });
  }
  return { stages, instructions };
}

/** CMD/ENTRYPOINT/HEALTHCHECK CMD arguments: the exec form (a JSON array) as it is; the shell form through /bin/sh -c. */
export function dockerArgv(args: string): string[] {
  const trimmed = args.trim();
  if (trimmed.startsWith("[")) return JSON.parse(trimmed) as string[];
  return ["/bin/sh", "-c", trimmed];
}

/** ENV instructions (`ENV A=1 B=2`, or the old `ENV A 1`) merged in order. */
export function dockerEnv(instructions: DockerInstruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of instructions) {
    const words = splitWords(args);
    if (words.length === 2 && !words[0]!.includes("=")) env[words[0]!] = words[1]!;
    else Object.assign(env, environmentOf([args]));
  }
  return env;
}

/**
 * What a supervisor starts a service with: a fixed PATH and HOME, nothing of the developer's
 * shell. __NEXT_PROCESSED_ENV stops Next.js (and @next/env) from loading the checkout's .env*
 * files, so a developer's .env.local never reaches the process under test.
 */
export function supervisorEnvironment(home: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    __NEXT_PROCESSED_ENV: "true",
    // The suite's own build directory (not part of the recipe: a deployment builds into .next).
    ...(process.env.NEXT_DIST_DIR ? { NEXT_DIST_DIR: process.env.NEXT_DIST_DIR } : {}),
  };
}

export interface Supervised {
  pid: number;
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the whole group (clean-up after a failed test). */
  kill(): void;
}

/** Starts argv in its own process group (as systemd's cgroup or a container holds it), the given environment only. */
export function supervise(argv: string[], options: { cwd: string; env: Record<string, string> }): Supervised {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env: options.env as NodeJS.ProcessEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] as const }) as ChildProcess;
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (output += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (output += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  return {
    pid: child.pid!,
    child,
    output: () => output,
    exited,
    kill: () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    },
  };
}

/** Runs a command to its end (a oneshot unit, a cron line, a health check): exit code and output. */
export async function runToEnd(argv: string[], options: { cwd: string; env: Record<string, string>; timeoutMs?: number }): Promise<{ code: number | null; output: string }> {
  const run = supervise(argv, options);
  const timer = setTimeout(run.kill, options.timeoutMs ?? 60_000);
  const { code } = await run.exited;
  clearTimeout(timer);
  return { code, output: run.output() };
}

/** The live pids in `pid`'s process group (what `docker stop` or systemd's cgroup would still find). */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] !== "Z" && Number(fields[2]) === pgid) members.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return members;
}

/** Waits until /api/health at `url` answers anything; throws with the output if the process exits or stays silent. */
export async function waitForHealth(url: string, run: Supervised, timeoutMs = 90_000): Promise<void> {
  let gone = false;
  void run.exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`the service exited before answering:\n${run.output()}`);
    try {
      const response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(10_000) });
      await response.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`no answer on ${url}/api/health within ${timeoutMs} ms:\n${run.output()}`);
}

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
