import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** Reads KEY=VALUE lines of a dotenv file (comments and blank lines ignored). */
export function readEnvFile(path: string): Map<string, string> {
  const values = new Map<string, string>();
  if (!existsSync(path)) return values;
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    values.set(match[1], match[2].replace(/^(['"])(.*)\1$/, "$2"));
  }
  return values;
}

/**
 * First run on a fresh clone: gives `.env.local` a random CRON_SECRET and ADMIN_TOKEN so the
 * local scheduler and the dashboard work at once. Never overwrites a value that is already in
 * the file or in `env` (the parsed environment). Returns the names it added and the values now in effect.
 */
export function ensureLocalSecrets(
  path: string,
  env: Partial<Record<"CRON_SECRET" | "ADMIN_TOKEN", string>>,
  generate: () => string = () => randomBytes(32).toString("hex"),
): { added: string[]; values: Record<"CRON_SECRET" | "ADMIN_TOKEN", string> } {
  const file = readEnvFile(path);
  const added: string[] = [];
  const values = {} as Record<"CRON_SECRET" | "ADMIN_TOKEN", string>;
  const lines: string[] = [];
  for (const name of ["CRON_SECRET", "ADMIN_TOKEN"] as const) {
    const existing = env[name] || file.get(name);
    if (existing) {
      values[name] = existing;
      continue;
    }
    values[name] = generate();
    lines.push(`${name}=${values[name]}`);
    added.push(name);
  }
  if (lines.length) {
    const before = existsSync(path) ? readFileSync(path, "utf8") : "";
    const separator = before === "" || before.endsWith("\n") ? "" : "\n";
    const header = before === "" ? "# Written by `npm run dev` on first run. Local development only: keep this file out of git.\n" : "";
    writeFileSync(path, `${before}${separator}${header}${lines.join("\n")}\n`, { mode: 0o600 });
  }
  return { added, values };
}
