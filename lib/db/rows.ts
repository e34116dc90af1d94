/**
 * The drivers' differences in one place. PGlite and node-postgres hand back the same
 * columns in different shapes: a timestamptz as a Date or a string, a bigint or a
 * count(*) as a string or a number, a jsonb as a value or its text. Every row read in
 * lib/db goes through these converters instead of writing its own.
 */

/** A timestamptz as either driver returns it. */
export type DbTime = Date | string;
/** A bigint, numeric or count as either driver returns it. */
export type DbNumber = number | string;

/** A timestamp as a Date. */
export function toDate(value: DbTime): Date {
  return value instanceof Date ? value : new Date(value);
}

/** A timestamp as a Date, or null. */
export function toDateOrNull(value: DbTime | null | undefined): Date | null {
  return value == null ? null : toDate(value);
}

/** A timestamp as an ISO 8601 string (UTC). */
export function iso(value: DbTime): string {
  return toDate(value).toISOString();
}

/** A timestamp as an ISO 8601 string (UTC), or null for null and for text that is no date. */
export function isoOrNull(value: DbTime | null | undefined): string | null {
  if (value == null) return null;
  const date = toDate(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** A number; null counts as 0 (a sum or count over no rows). */
export function num(value: DbNumber | null | undefined): number {
  return Number(value ?? 0);
}

/** A number, or null. */
export function numOrNull(value: DbNumber | null | undefined): number | null {
  return value == null ? null : Number(value);
}

/**
 * A jsonb value, parsed when the driver returned its text; null for SQL null. A string
 * that is no JSON text is a jsonb string the driver already parsed, and stays as it is.
 */
export function jsonValue<T = unknown>(value: unknown): T | null {
  if (value == null) return null;
  if (typeof value !== "string") return value as T;
  try {
    return JSON.parse(value) as T;
  } catch {
    return value as T;
  }
}
