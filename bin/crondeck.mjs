#!/usr/bin/env node
// The `crondeck` command: runs scripts/cli.ts through tsx, resolved from this package, in a
// child Node process (same arguments, same stdio, same exit code). Signals go to the child.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(resolve(root, "package.json"));
let tsx;
try {
  tsx = pathToFileURL(require.resolve("tsx")).href;
} catch {
  process.stderr.write("crondeck: cannot find tsx in this project: run `npm install` in " + root + "\n");
  process.exit(1);
}

const child = spawn(process.execPath, ["--import", tsx, resolve(root, "scripts/cli.ts"), ...process.argv.slice(2)], { stdio: "inherit" });
// Ctrl-C reaches the child from the terminal itself (same process group): the parent only
// waits, so the child sees one SIGINT, not two. SIGTERM and SIGHUP are sent to this pid alone.
process.on("SIGINT", () => {});
for (const signal of ["SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
child.on("error", (error) => {
  process.stderr.write(`crondeck: ${error.message}\n`);
  process.exit(1);
});
