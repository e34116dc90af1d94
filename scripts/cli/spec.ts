import { parseArgs } from "node:util";
import { controlCharacterIn } from "../../lib/cron/text";
import type { CliContext } from "./context";
import { UsageError } from "./errors";

export const BIN = "crondeck";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** For the help: `--days <n>`. */
  value?: string;
  description: string;
}

export interface ArgSpec {
  name: string;
  required: boolean;
  description: string;
}

export interface CommandInput {
  args: string[];
  options: Record<string, string | boolean | undefined>;
}

export interface CommandSpec {
  /** ["jobs", "run"], or ["doctor"]. */
  path: string[];
  summary: string;
  args?: ArgSpec[];
  options?: Record<string, OptionSpec>;
  /** More help text: what it does in detail, examples. */
  details?: string[];
  /** Returns the exit code. Implementations load lazily, so `--help` stays fast. */
  run(ctx: CliContext, input: CommandInput): Promise<number>;
}

export interface GroupSpec {
  name: string;
  summary: string;
}

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  json: { type: "boolean", description: "print stable JSON on stdout (nothing else goes to stdout)" },
  help: { type: "boolean", short: "h", description: "show this help" },
};

export function commandName(spec: CommandSpec): string {
  return `${BIN} ${spec.path.join(" ")}`;
}

export function usageLine(spec: CommandSpec): string {
  const args = (spec.args ?? []).map((a) => (a.required ? `<${a.name}>` : `[${a.name}]`));
  return [commandName(spec), ...args, "[options]"].join(" ");
}

function optionLabel(name: string, o: OptionSpec): string {
  return `${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` <${o.value ?? "value"}>` : ""}`;
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`Usage: ${usageLine(spec)}`, "", spec.summary];
  if (spec.details?.length) lines.push("", ...spec.details);
  if (spec.args?.length) {
    lines.push("", "Arguments:");
    const width = Math.max(...spec.args.map((a) => a.name.length + 2));
    for (const a of spec.args) lines.push(`  ${(a.required ? `<${a.name}>` : `[${a.name}]`).padEnd(width)}  ${a.description}`);
  }
  const options = { ...spec.options, ...GLOBAL_OPTIONS };
  const labels = Object.entries(options).map(([name, o]) => [optionLabel(name, o), o.description] as const);
  const width = Math.max(...labels.map(([l]) => l.length));
  lines.push("", "Options:", ...labels.map(([l, d]) => `  ${l.padEnd(width)}  ${d}`));
  return `${lines.join("\n")}\n`;
}

export function groupHelp(group: GroupSpec, commands: CommandSpec[]): string {
  const mine = commands.filter((c) => c.path[0] === group.name);
  const usages = mine.map((c) => usageLine(c).replace(/ \[options\]$/, ""));
  const width = Math.max(...usages.map((u) => u.length));
  return [
    `Usage: ${BIN} ${group.name} <command> [options]`,
    "",
    group.summary,
    "",
    "Commands:",
    ...mine.map((c, i) => `  ${usages[i].padEnd(width)}  ${c.summary}`),
    "",
    `Run \`${BIN} ${group.name} <command> --help\` for a command's options.`,
    "",
  ].join("\n");
}

export function globalHelp(groups: GroupSpec[], commands: CommandSpec[]): string {
  const usages = commands.map((c) => usageLine(c).replace(/ \[options\]$/, "").replace(`${BIN} `, ""));
  const width = Math.max(...usages.map((u) => u.length));
  return [
    `${BIN}: operate Crondeck from a terminal: jobs, triggers of the running app, leases, the dead-letter queue, vercel.json, diagnostics and a contention test.`,
    "",
    `Usage: ${BIN} <command> [options]        (in the project: npm run cron -- <command>)`,
    "",
    "Commands:",
    ...commands.map((c, i) => `  ${usages[i].padEnd(width)}  ${c.summary}`),
    "",
    "Every command takes --json (stable JSON on stdout) and --help.",
    "It reads the same environment as the app (.env files, DATABASE_URL / POSTGRES_URL / PGLITE_DIR, CRON_DEMO...).",
    "Exit codes: 0 ok, 1 operational failure (a failed run, an unreachable database, a duplicate), 2 usage error.",
    "",
  ].join("\n");
}

/** Parses a command's arguments and options; every mistake is a UsageError that names the fix. */
export function parseCommand(spec: CommandSpec, argv: string[]): CommandInput & { help: boolean; json: boolean } {
  const options = { ...spec.options, ...GLOBAL_OPTIONS };
  const hint = `run \`${commandName(spec)} --help\``;
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }])),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const e = error as Error & { code?: string };
    const option = /'(-{1,2}[^' ]+)/.exec(e.message)?.[1];
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new UsageError(`unknown option ${option ?? ""} for \`${commandName(spec)}\`: ${hint}`.replace("  ", " "));
    if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const name = option?.replace(/^-+/, "") ?? "";
      const o = options[name];
      if (o?.type === "string") throw new UsageError(`${option} needs a value, such as ${option} <${o.value ?? "value"}>: ${hint}`);
      throw new UsageError(`${option ?? "an option"} takes no value: ${hint}`);
    }
    throw new UsageError(`${e.message}: ${hint}`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const help = values.help === true;
  const json = values.json === true;
  const args = parsed.positionals;
  // The API's rule for text (lib/cron/text.ts): no NUL (Postgres cannot store it) and no other
  // control characters (an ESC sequence in a note would rewrite the terminal that lists it).
  for (const [name, value] of Object.entries(values)) {
    const found = typeof value === "string" ? controlCharacterIn(value) : null;
    if (found) throw new UsageError(`--${name} contains the control character ${found}, which no text here may hold: remove it`, "invalid_option");
  }
  for (const [i, value] of args.entries()) {
    const found = controlCharacterIn(value);
    if (found) throw new UsageError(`<${spec.args?.[i]?.name ?? "argument"}> contains the control character ${found}, which no text here may hold: remove it`, "invalid_argument");
  }
  if (!help) {
    const specs = spec.args ?? [];
    const missing = specs.slice(args.length).find((a) => a.required);
    if (missing) throw new UsageError(`missing <${missing.name}>, ${missing.description}: usage \`${usageLine(spec).replace(/ \[options\]$/, "")}\``, "missing_argument");
    if (args.length > specs.length) throw new UsageError(`unexpected argument "${args[specs.length]}" for \`${commandName(spec)}\`: ${hint}`);
  }
  return { args, options: values, help, json };
}

/** A whole number option, within bounds, or the fallback when absent. */
export function intOption(input: CommandInput, name: string, fallback: number, bounds: { min: number; max: number; example?: number }): number {
  const raw = input.options[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== "string" || !/^\d+$/.test(raw.trim()) || value < bounds.min || value > bounds.max) {
    throw new UsageError(`--${name} must be a whole number from ${bounds.min} to ${bounds.max}, such as --${name} ${bounds.example ?? fallback}; got "${raw}"`, "invalid_option");
  }
  return value;
}

export function stringOption(input: CommandInput, name: string): string | undefined {
  const raw = input.options[name];
  return typeof raw === "string" ? raw : undefined;
}
