import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { childEnv, projectRoot } from "./next-server";

const BUILT = Symbol.for("crondeck.next-build");

/**
 * vitest globalSetup for the http project: one `next build` before the suite.
 * CRONDECK_SKIP_BUILD=1 reuses an existing build (fast reruns while editing tests only);
 * NEXT_DIST_DIR builds into (and serves from) another directory than .next/.
 */
export default function buildNext(): Promise<void> {
  // Several projects (http, faults) name this setup: one vitest run builds once.
  const holder = globalThis as { [BUILT]?: Promise<void> };
  holder[BUILT] ??= build();
  return holder[BUILT];
}

async function build(): Promise<void> {
  if (process.env.CRONDECK_SKIP_BUILD === "1" && existsSync(resolve(projectRoot, process.env.NEXT_DIST_DIR || ".next", "BUILD_ID"))) return;
  const nextBin = resolve(projectRoot, "node_modules/next/dist/bin/next");
  const child = spawn(process.execPath, [nextBin, "build"], {
    cwd: projectRoot,
    env: childEnv() as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((r, reject) => {
    child.once("error", reject);
    child.once("exit", (c) => r(c));
  });
  if (code !== 0) throw new Error(`next build failed (exit code ${code}):\n${output}`);
}
