import { ROLES, type Role } from "../cron/vocabulary";

/**
 * The one home of who may do what. A request's role comes from its credentials (the session's
 * row, a personal API token's row; ADMIN_TOKEN is admin); an endpoint's required role from
 * its method and the admin route's context name: reads need a viewer, writes an operator,
 * and the contexts in ADMIN_CONTEXTS an admin.
 */

const RANK: Record<Role, number> = Object.fromEntries(ROLES.map((role, i) => [role, i])) as Record<Role, number>;

/** True when `have` is `need` or stronger. */
export const roleAtLeast = (have: Role, need: Role): boolean => RANK[have] >= RANK[need];

/** True for a known role name. */
export const isRole = (value: unknown): value is Role => typeof value === "string" && (ROLES as readonly string[]).includes(value);

/** Admin route contexts (the second argument of adminRoute) whose writes need an admin rather than an operator. */
export const ADMIN_CONTEXTS: ReadonlySet<string> = new Set<string>([]);

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The role an admin request needs: viewer to read, operator to write, admin for ADMIN_CONTEXTS. */
export function requiredRole(method: string, context: string): Role {
  if (READ_METHODS.has(method.toUpperCase())) return "viewer";
  return ADMIN_CONTEXTS.has(context) ? "admin" : "operator";
}
