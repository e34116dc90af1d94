import { z } from "zod";
import { JOB_NAME_RE, type JobDefinition } from "../cron/define-job";
import { OperationError } from "../cron/errors";
import { isUuid } from "../cron/ids";
import { controlCharacterIn, hasLineBreak } from "../cron/text";
import type { JobRegistry } from "../cron/registry";
import { getRegistry } from "../jobs";
import { HttpError, validationError } from "./errors";

/**
 * What a request brings in, checked once for every route: a JSON body, a query string, a
 * UUID in the path, a job name, an Idempotency-Key header. Each failure is an error the one
 * mapping (lib/http/errors.ts) answers, naming the field and what it should look like.
 */

const MAX_BODY_BYTES = 64 * 1024;

/**
 * The body as UTF-8 text, read no further than `maxBytes`: a Content-Length over the limit is
 * refused before a byte is read, and a body without one (chunked) is cut off at the limit, so
 * a client cannot make the server buffer more than `maxBytes`. Over the limit: 413 body_too_large.
 */
export async function readBodyText(request: Request, maxBytes = MAX_BODY_BYTES): Promise<string> {
  const tooLarge = () => new HttpError(413, "body_too_large", `The body is over ${formatLimit(maxBytes)}; send at most ${formatLimit(maxBytes)}.`, { field: "body" });
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared.trim()) > maxBytes) {
    await request.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const formatLimit = (bytes: number) => (bytes % 1024 === 0 ? `${bytes / 1024} KB` : `${bytes} bytes`);

/** Reads a JSON body (at most 64 KB; an empty body is `{}`); `example` is what the 400 suggests sending. */
export async function readJsonBody(request: Request, example = '{"enabled": true}'): Promise<unknown> {
  const text = await readBodyText(request);
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid_json", `body: not valid JSON; send a JSON object such as ${example} with Content-Type: application/json.`, { field: "body" });
  }
}

/** Reads a JSON body (an empty body is `{}`) and validates it. */
export async function parseJsonBody<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
  return parseWith(schema, await readJsonBody(request), "body");
}

/** Validates the query string (the last value of a repeated parameter wins). */
export function parseQuery<S extends z.ZodType>(url: URL, schema: S): z.infer<S> {
  return parseWith(schema, Object.fromEntries(url.searchParams), "query");
}

/**
 * Validates `value` with `schema`, or throws the 400 naming the first offending field. Every
 * string in it, at any depth, is first checked for control characters (refuseControlCharacters).
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: "body" | "query" | "path"): z.infer<S> {
  refuseControlCharacters(value, where);
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, where);
  return result.data;
}

/**
 * Throws the 400 naming the first field (a dotted path; a field *name* counts too) whose string
 * holds a control character no text takes (lib/cron/text.ts), before anything reads the value.
 */
export function refuseControlCharacters(value: unknown, where: "body" | "query" | "path"): void {
  // A loop over (value, where it sits), not recursion: a 64 KB body can nest arrays 30,000 deep.
  type Place = { key: string; parent: Place | null } | null;
  const pending: Array<{ value: unknown; place: Place }> = [{ value, place: null }];
  const fail = (found: string, place: Place, what: string): never => {
    const keys: string[] = [];
    for (let p = place; p; p = p.parent) keys.push(p.key);
    const dotted = keys.reverse().join(".");
    const field = dotted === "" ? where : dotted.length > 100 ? `${dotted.slice(0, 100)}…` : dotted;
    throw new HttpError(400, `invalid_${where}`, `${field}: ${what} contains the control character ${found}; send text without control characters.`, { field });
  };
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value: item, place } = next;
    if (typeof item === "string") {
      const found = controlCharacterIn(item);
      if (found) fail(found, place, "the value");
    } else if (typeof item === "object" && item !== null) {
      for (const [key, child] of Object.entries(item)) {
        const found = Array.isArray(item) ? null : controlCharacterIn(key);
        if (found) fail(found, place, "a field name");
        pending.push({ value: child, place: { key, parent: place } });
      }
    }
  }
}

/** A one-line text field (a search, a name, an assignee): no TAB, LF or CR either. */
export function oneLine<S extends z.ZodString>(schema: S): S {
  return schema.refine((v) => !hasLineBreak(v), "must be one line (no tab or line break)");
}

/** A path or query id that must be a UUID, lower-cased. */
export function requireUuid(value: string, field = "id"): string {
  if (!isUuid(value)) throw new HttpError(400, "invalid_path", `${field}: must be a UUID such as 0b7c3f5e-8a1d-4c2b-9e6f-1a2b3c4d5e6f`, { field });
  return value.toLowerCase();
}

const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,200}$/;

/** The request's Idempotency-Key header (null when absent), or 400 invalid_idempotency_key. */
export function idempotencyKeyOf(request: Request): string | null {
  const key = request.headers.get("idempotency-key");
  if (key !== null && !IDEMPOTENCY_KEY_RE.test(key)) {
    throw new HttpError(400, "invalid_idempotency_key", "Idempotency-Key: must be 1-200 visible ASCII characters.", { field: "Idempotency-Key" });
  }
  return key;
}

/** The 404 for a job name the registry does not know (a long name is not echoed whole). */
export function jobNotFound(rawName: string): OperationError {
  const shown = rawName.length > 60 ? `${rawName.slice(0, 60)}…` : rawName;
  return new OperationError("not_found", "job_not_found", `No job named "${shown}". GET /api/cron/jobs (with the cron secret) or /api/admin/cron-jobs lists the jobs.`);
}

/** The registry's job named `rawName`, or 404 job_not_found. Default registry: the app's. */
export function requireJob(rawName: string, registry: JobRegistry = getRegistry()): JobDefinition {
  const job = JOB_NAME_RE.test(rawName) ? registry.get(rawName) : undefined;
  if (!job) throw jobNotFound(rawName);
  return job;
}
