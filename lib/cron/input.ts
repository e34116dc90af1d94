import { z } from "zod";
import type { JobDefinition } from "./define-job";
import { NonRetriableError, OperationError } from "./errors";

/**
 * A run's input, checked in one place: run-now (API, CLI, dashboard), a replay's edited input
 * and the engine all ask here. What is stored is the input as given (JSON, once it passes the
 * schema), not the schema's output: the engine parses it again when the run starts, so
 * defaults and transforms apply the same way to a first run and to its replay.
 */

/** The largest input a run takes, as JSON (it is stored on the run row and shown on the run page). */
export const MAX_INPUT_BYTES = 16 * 1024;

/** A checked input: what to store on the run (null: the job's default input). */
export type CheckedInput = { ok: true; stored: unknown } | { ok: false; field: string; message: string };

/** `input.days: expected number, received string`: the first issue, with its field path under `input`. */
function issueOf(error: z.ZodError, root = "input"): { field: string; message: string } {
  const issue = error.issues[0];
  let path = issue.path.map(String);
  let what = issue.message.replace(/^Invalid input: /, "");
  if (issue.code === "unrecognized_keys") {
    path = [...path, issue.keys[0]];
    what = `is not a field of the job's input (${issue.keys.join(", ")})`;
  }
  const field = [root, ...path].join(".");
  return { field, message: `${field}: ${what}` };
}

/** The size of a value as JSON, in bytes (undefined counts as nothing). */
function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : Buffer.byteLength(text, "utf8");
}

/**
 * Checks a run's input against the job's schema. `raw` undefined or null: none given (the run
 * uses the job's default). A job without a schema takes none.
 */
export function checkRunInput(job: Pick<JobDefinition, "name" | "input">, raw: unknown): CheckedInput {
  if (raw === undefined || raw === null) return { ok: true, stored: null };
  if (!job.input) return { ok: false, field: "input", message: `input: ${job.name} takes no input (its definition declares no input schema); send no input` };
  const bytes = jsonBytes(raw);
  if (bytes > MAX_INPUT_BYTES) return { ok: false, field: "input", message: `input: is ${bytes} bytes as JSON, over the ${MAX_INPUT_BYTES / 1024} KB a run's input may be` };
  const parsed = job.input.schema.safeParse(raw);
  if (!parsed.success) return { ok: false, ...issueOf(parsed.error) };
  return { ok: true, stored: raw };
}

/** checkRunInput, or the 400 invalid_input (an OperationError: the HTTP API and the CLI map it) naming the field. */
export function requireRunInput(job: Pick<JobDefinition, "name" | "input">, raw: unknown): unknown {
  const checked = checkRunInput(job, raw);
  if (!checked.ok) throw new OperationError("invalid", "invalid_input", checked.message, checked.field);
  return checked.stored;
}

/**
 * What a handler gets as ctx.input: the schema's parse of the stored input, or of the default
 * when none was stored; undefined for a job without a schema. A stored input the schema no
 * longer takes (it changed since the run was asked for) is a NonRetriableError naming the
 * field: another attempt would read the same row.
 */
export function runInputOf(job: Pick<JobDefinition, "name" | "input">, stored: unknown): unknown {
  if (!job.input) return undefined;
  const given = stored !== undefined && stored !== null;
  const parsed = job.input.schema.safeParse(given ? stored : job.input.default);
  if (parsed.success) return parsed.data;
  const { message } = issueOf(parsed.error, given ? "input" : "defaultInput");
  throw new NonRetriableError(
    given
      ? `${message}: the run's stored input no longer matches ${job.name}'s input schema (changed since it was asked for); replay it with an edited input`
      : `${message}: ${job.name}'s default input does not match its input schema`,
  );
}

/**
 * JSON text from a command line or a form, parsed: `where` names the option in the message
 * (`--input`). Throws a plain Error with the fix; callers wrap it as their usage error.
 */
export function parseInputText(text: string, where = "input"): unknown {
  if (Buffer.byteLength(text, "utf8") > MAX_INPUT_BYTES) throw new Error(`${where}: over the ${MAX_INPUT_BYTES / 1024} KB a run's input may be`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${where}: not valid JSON; pass a JSON object such as '{"days": 7}' (quote it for the shell)`);
  }
}

/** One field of an input schema, as the dashboard describes it. */
export interface InputField {
  /** Dotted path under the input ("days", "range.from"). */
  path: string;
  /** The JSON Schema type ("number", "boolean", "string", "object", "array"), or "any". */
  type: string;
  required: boolean;
  description: string | null;
  /** The field's own default, when the schema has one. */
  default?: unknown;
  /** Other constraints as words: "integer, 1..90", "one of a, b". */
  constraints: string | null;
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
  anyOf?: JsonSchema[];
};

/** The job's input schema as JSON Schema (zod 4's z.toJSONSchema); null when it takes no input. */
export function inputJsonSchema(job: Pick<JobDefinition, "input">): Record<string, unknown> | null {
  if (!job.input) return null;
  // io "input": what a caller sends (a field with a default is optional); a transform or a
  // date cannot be written as JSON Schema and is described as any value.
  return z.toJSONSchema(job.input.schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}

/** The fields of the job's input schema, flattened to dotted paths (two levels are plenty for a form's help). */
export function inputFields(job: Pick<JobDefinition, "input">): InputField[] {
  const schema = inputJsonSchema(job) as JsonSchema | null;
  if (!schema) return [];
  const out: InputField[] = [];
  const walk = (s: JsonSchema, prefix: string, depth: number) => {
    for (const [key, field] of Object.entries(s.properties ?? {})) {
      const path = prefix ? `${prefix}.${key}` : key;
      const type = Array.isArray(field.type) ? field.type.join(" | ") : (field.type ?? (field.anyOf ? field.anyOf.map((a) => a.type ?? "any").join(" | ") : "any"));
      const constraints = [
        field.minimum !== undefined || field.maximum !== undefined ? `${field.minimum ?? "…"}..${field.maximum ?? "…"}` : null,
        field.minLength !== undefined || field.maxLength !== undefined ? `length ${field.minLength ?? 0}..${field.maxLength ?? "…"}` : null,
        field.enum ? `one of ${field.enum.map((v) => JSON.stringify(v)).join(", ")}` : null,
        field.format ?? null,
      ].filter((c): c is string => c !== null);
      out.push({
        path,
        type,
        required: (s.required ?? []).includes(key),
        description: field.description ?? null,
        ...(field.default !== undefined ? { default: field.default } : {}),
        constraints: constraints.length ? constraints.join(", ") : null,
      });
      if (field.properties && depth < 2) walk(field, path, depth + 1);
    }
  };
  walk(schema, "", 0);
  return out;
}
