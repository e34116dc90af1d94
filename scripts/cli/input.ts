import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { MAX_INPUT_BYTES, parseInputText } from "../../lib/cron/input";
import { UsageError } from "./errors";
import { stringOption, type CommandInput } from "./spec";

/**
 * A run's input from the command line: `--input '<json>'` or `--input-file <path>` (JSON).
 * Undefined when neither is given. A mistake is a usage error (exit 2) naming the fix; the
 * job's schema checks the value afterwards, in the one place every caller uses.
 */
export function inputOption(input: CommandInput, cwd: string): unknown {
  const text = stringOption(input, "input");
  const file = stringOption(input, "input-file");
  if (input.options.input === true || input.options["input-file"] === true) throw new UsageError("--input needs a JSON value, such as --input '{\"days\": 7}'; --input-file needs a path", "invalid_option");
  if (text !== undefined && file !== undefined) throw new UsageError("--input and --input-file cannot be combined: pass the JSON inline or in a file, not both", "invalid_option");
  if (text !== undefined) return parsed(text, "--input");
  if (file === undefined) return undefined;
  let content: string;
  try {
    const path = resolve(cwd, file);
    content = readFileSync(path, "utf8");
  } catch {
    throw new UsageError(`--input-file ${file}: cannot read it; pass the path of a JSON file (at most ${MAX_INPUT_BYTES / 1024} KB)`, "invalid_option");
  }
  return parsed(content, `--input-file ${file}`);
}

function parsed(text: string, where: string): unknown {
  try {
    return parseInputText(text, where);
  } catch (error) {
    throw new UsageError((error as Error).message, "invalid_input_json");
  }
}
