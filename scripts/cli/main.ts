import { commands, groups } from "./commands";
import { CliError, EXIT_OK, EXIT_USAGE, fromOperationError, UsageError } from "./errors";
import { BIN, commandHelp, globalHelp, groupHelp, parseCommand, type CommandSpec } from "./spec";

function findCommand(argv: string[]): { spec: CommandSpec; rest: string[] } | { help: string; exitCode: number } {
  const [first, second] = argv;
  if (first === undefined || first === "help" || first === "--help" || first === "-h") {
    return { help: globalHelp(groups, commands), exitCode: first === undefined ? EXIT_USAGE : EXIT_OK };
  }
  const single = commands.find((c) => c.path.length === 1 && c.path[0] === first);
  if (single) return { spec: single, rest: argv.slice(1) };
  const group = groups.find((g) => g.name === first);
  if (!group) throw new UsageError(`unknown command "${first}": run \`${BIN} --help\` to see the commands`, "unknown_command");
  if (second === undefined || second === "--help" || second === "-h" || second === "help") {
    if (second === undefined) throw new UsageError(`\`${BIN} ${first}\` needs a command:\n\n${groupHelp(group, commands)}`, "missing_command");
    return { help: groupHelp(group, commands), exitCode: EXIT_OK };
  }
  const spec = commands.find((c) => c.path[0] === first && c.path[1] === second);
  if (!spec) throw new UsageError(`unknown command "${first} ${second}": run \`${BIN} ${first} --help\` to see its commands`, "unknown_command");
  return { spec, rest: argv.slice(2) };
}

/** Runs the command line and returns the exit code. Never prints a stack trace. */
export async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const fail = (thrown: unknown, redactText: (t: string) => string = (t) => t): number => {
    const error = fromOperationError(thrown);
    const cliError =
      error instanceof CliError ? error : new CliError("unexpected", `unexpected error: ${(error as Error)?.message ?? String(error)}`.split("\n")[0]);
    const message = redactText(cliError.message);
    process.stderr.write(`${BIN}: ${message}\n`);
    if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code: cliError.code, message } }, null, 2)}\n`);
    return cliError.exitCode;
  };

  let found;
  try {
    found = findCommand(argv);
  } catch (error) {
    return fail(error);
  }
  if ("help" in found) {
    (found.exitCode === EXIT_OK ? process.stdout : process.stderr).write(found.help);
    return found.exitCode;
  }
  const { spec, rest } = found;
  let input;
  try {
    input = parseCommand(spec, rest);
  } catch (error) {
    return fail(error);
  }
  if (input.help) {
    process.stdout.write(commandHelp(spec));
    return EXIT_OK;
  }

  // The migrations folder and the .env files are the project's: work from its root, and
  // resolve paths given on the command line (--file) against where the command was typed.
  const invokedFrom = process.cwd();
  // Loaded only now: --help and usage errors answer without loading the engine and drivers.
  const { createContext, loadDotenv, projectRoot } = await import("./context");
  process.chdir(projectRoot);
  loadDotenv();
  const ctx = createContext({ json: input.json, cwd: invokedFrom });
  try {
    return await spec.run(ctx, input);
  } catch (error) {
    return fail(error, (t) => ctx.redact(t));
  } finally {
    await ctx.close();
  }
}
