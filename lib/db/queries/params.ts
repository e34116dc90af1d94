import { sql, type SQL } from "drizzle-orm";
import { OperationError } from "../../cron/errors";

/**
 * The read side's parameters: sort keys and filter values come from allow-lists (never from
 * the caller's text), lists go to SQL as one text[] parameter, search text is escaped for LIKE.
 */

export type SortOrder = "asc" | "desc";

/** The entry of `map` for `key`; an OperationError("invalid", "invalid_sort") naming `field` otherwise. */
export function pick<T>(map: ReadonlyMap<string, T>, key: string, field: string): T {
  const value = map.get(key);
  if (value === undefined) throw new OperationError("invalid", "invalid_sort", `${field} must be one of ${[...map.keys()].join(", ")}; got "${key.slice(0, 40)}"`, field);
  return value;
}

/** `value` when it is one of `allowed` (or empty: no filter); an OperationError("invalid", "invalid_filter") naming `field` otherwise. */
export function filterValue<T extends string>(allowed: readonly T[], value: string | null | undefined, field: string): T | null {
  if (!value) return null;
  if (!(allowed as readonly string[]).includes(value)) throw new OperationError("invalid", "invalid_filter", `${field} must be one of ${allowed.join(", ")}`, field);
  return value as T;
}

export const direction = (order: SortOrder | undefined, fallback: SortOrder): SQL => ((order ?? fallback) === "asc" ? sql.raw("ASC") : sql.raw("DESC"));

/** A text[] literal, passed as one parameter (an index condition, unlike a join with a subquery). */
export const pgTextArray = (values: readonly string[]) => `{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(",")}}`;

/** `column = ANY(values)`, the list as one text[] parameter: for IN-lists taken from the vocabulary. */
export const inList = (column: SQL, values: readonly string[]): SQL => sql`${column} = ANY(${pgTextArray(values)}::text[])`;

export const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
