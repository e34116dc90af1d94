import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { cache } from "react";
import { checkSession, isExpiry, PLAIN_COOKIE_NAME, SECURE_COOKIE_NAME, type SessionRefusalReason } from "../auth/admin-session";
import { BACKGROUND_COOKIE } from "../auth/background";
import type { SessionRecord } from "../db/sessions";
import { getRuntime } from "../app/runtime";
import { loadEnv } from "../env";
import { HOME_PATH, LOGIN_PATH, safeNextPath } from "./paths";

/**
 * The admin session as a server component sees it. lib/auth reads the cookie from a
 * Request (route handlers); pages only have next/headers' cookies(), so this reads the
 * value there and hands it to the same checkSession. A page view is the user's activity and
 * moves the session's last_seen_at (in its row: pages cannot set cookies, and need not),
 * except a re-render the dashboard asked for on its own (router.refresh() from a poll or an
 * auto-refresh), which sets the short-lived background cookie first.
 */

export type DashboardSession = { status: "ok"; session: SessionRecord } | { status: "not_configured" } | { status: "signed_out"; reason: SessionRefusalReason };

/**
 * Once per request (React's cache): the console layout (who is signed in, what they may do) and
 * the page (its redirect) both ask, and the session is read and touched once.
 */
export const readDashboardSession = cache(async function readDashboardSession(): Promise<DashboardSession> {
  // cookies() first: it marks the page as rendered per request, even when the answer is
  // "not configured" (otherwise a build without ADMIN_TOKEN would prerender that redirect).
  const store = await cookies();
  const token = loadEnv().ADMIN_TOKEN;
  if (!token) return { status: "not_configured" };
  // The API names the cookie by scheme (__Host- on https, plain on http); a page has no
  // request URL, so it accepts either: both are MACed under the same key.
  const value = store.get(SECURE_COOKIE_NAME)?.value || store.get(PLAIN_COOKIE_NAME)?.value;
  if (!value) return { status: "signed_out", reason: "missing" };
  const { database } = await getRuntime();
  const check = await checkSession(database.db, value, token, { now: new Date(), background: store.get(BACKGROUND_COOKIE)?.value === "1" });
  return check.ok ? { status: "ok", session: check.session } : { status: "signed_out", reason: check.reason };
});

/** The session, or a redirect to the login page (which explains a missing ADMIN_TOKEN). */
export async function requireDashboardSession(nextPath: string): Promise<SessionRecord> {
  const state = await readDashboardSession();
  if (state.status === "ok") return state.session;
  const params = new URLSearchParams();
  const next = safeNextPath(nextPath);
  if (next && next !== HOME_PATH) params.set("next", next);
  if (state.status === "signed_out" && isExpiry(state.reason)) params.set("error", "expired");
  const query = params.toString();
  redirect(query ? `${LOGIN_PATH}?${query}` : LOGIN_PATH);
}
