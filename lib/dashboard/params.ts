import { isUuid as isRowId } from "../cron/ids";
import { controlCharacterIn, hasLineBreak } from "../cron/text";

/** Reading a page's searchParams: one string per key, allow-lists for the rest. */

export type SearchParams = Record<string, string | string[] | undefined>;

/**
 * The last value of a parameter (like the API's parser), trimmed; null when absent or empty,
 * and when it holds a control character or a line break (lib/cron/text.ts: a NUL would fail the query).
 */
export function param(params: SearchParams, key: string, maxLength = 200): string | null {
  const raw = params[key];
  const value = (Array.isArray(raw) ? raw[raw.length - 1] : raw)?.trim();
  if (!value || controlCharacterIn(value) || hasLineBreak(value)) return null;
  return value.slice(0, maxLength);
}

/** The parameter when it is one of `allowed`, else null. */
export function oneOf<T extends string>(params: SearchParams, key: string, allowed: readonly T[] | ReadonlySet<T> | ReadonlyMap<T, unknown>): T | null {
  const value = param(params, key);
  if (value === null) return null;
  const ok = Array.isArray(allowed) ? allowed.includes(value as T) : (allowed as ReadonlySet<T>).has(value as T);
  return ok ? (value as T) : null;
}

/** A whole number within [min, max], else the fallback. */
export function intParam(params: SearchParams, key: string, fallback: number, min: number, max: number): number {
  const value = param(params, key, 12);
  if (value === null || !/^\d+$/.test(value)) return fallback;
  const n = Number(value);
  return n >= min && n <= max ? n : fallback;
}

/** A run or entry id from the address bar (see lib/cron/ids.ts). */
export const isUuid = (value: string | null): value is string => value !== null && isRowId(value);

/** A query string from the non-empty entries, with a leading "?" (or "" when there are none). */
export function queryString(entries: Record<string, string | number | null | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(entries)) if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : "";
}
