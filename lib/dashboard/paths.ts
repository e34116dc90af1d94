/**
 * The dashboard's addresses and the rule for where a login may return to, for the pages and
 * for the login handler alike (plain values: no React, no Next.js).
 */

export const LOGIN_PATH = "/dashboard/admin/login";
export const HOME_PATH = "/dashboard/admin/cron-jobs";

/** Paths the login form may return to: a path under /dashboard/admin, with an optional plain query. */
export const NEXT_PATH_RE = /^\/dashboard\/admin(?:\/[A-Za-z0-9._~\/-]*)?(?:\?[A-Za-z0-9._~=&%-]*)?$/;

/** `value` when the login may return to it (never the login page itself), else null. */
export function safeNextPath(value: string | null | undefined): string | null {
  if (!value || value.length > 300 || !NEXT_PATH_RE.test(value) || value.startsWith(LOGIN_PATH)) return null;
  return value;
}
