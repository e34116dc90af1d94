import { spawn } from "node:child_process";
import { childEnv, projectRoot } from "./next-server";

export { projectRoot };

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is JSON (--json). */
  json: any;
}

/**
 * Runs a command of the project as an operator would (`node --import tsx scripts/cli.ts ...`
 * by default), as a child process, in the environment every test child gets (childEnv: no .env*
 * file is loaded, the shell's connection, secret and alert variables are removed) with
 * NODE_ENV=test, then `env`; undefined removes a variable.
 */
export function runNode(command: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  const env = childEnv({ NODE_ENV: "test", ...opts.env });
  return new Promise((resolveResult, reject) => {
    const child = spawn(process.execPath, command, { cwd: opts.cwd ?? projectRoot, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.once("error", reject);
    child.once("close", (code) => {
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolveResult({ code, stdout, stderr, json });
    });
  });
}

/** `crondeck <args>` through scripts/cli.ts. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  return runNode(["--import", "tsx", "scripts/cli.ts", ...args], opts);
}
