import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { PLAIN_COOKIE_NAME, SECURE_COOKIE_NAME, verifySession, type SessionPayload } from "../auth/admin-session";
import { loadEnv } from "../env";
import { HOME_PATH, LOGIN_PATH, safeNextPath } from "./paths";

/**
 * The admin session as a server component sees it. lib/auth reads the cookie from a
 * Request (route handlers); pages only have next/headers' cookies(), so this reads the
 * value there and hands it to the same verifySession. Pages cannot set cookies, so a page
 * view does not push the idle expiry back; the dashboard's API calls (the running-jobs
 * poll among them) re-issue the cookie.
 */

export type DashboardSession =
  | { status: "ok"; session: SessionPayload }
  | { status: "not_configured" }
  | { status: "signed_out"; reason: "missing" | "malformed" | "bad_signature" | "idle_expired" | "expired" };

export async function readDashboardSession(): Promise<DashboardSession> {
  // cookies() first: it marks the page as rendered per request, even when the answer is
  // "not configured" (otherwise a build without ADMIN_TOKEN would prerender that redirect).
  const store = await cookies();
  const token = loadEnv().ADMIN_TOKEN;
  if (!token) return { status: "not_configured" };
  // The API names the cookie by scheme (__Host- on https, plain on http); a page has no
  // request URL, so it accepts either: both are MACed under the same key.
  const value = store.get(SECURE_COOKIE_NAME)?.value || store.get(PLAIN_COOKIE_NAME)?.value;
  const check = verifySession(value, token);
  return check.ok ? { status: "ok", session: check.session } : { status: "signed_out", reason: check.reason };
}

/** The session, or a redirect to the login page (which explains a missing ADMIN_TOKEN). */
export async function requireDashboardSession(nextPath: string): Promise<SessionPayload> {
  const state = await readDashboardSession();
  if (state.status === "ok") return state.session;
  const params = new URLSearchParams();
  const next = safeNextPath(nextPath);
  if (next && next !== HOME_PATH) params.set("next", next);
  if (state.status === "signed_out" && (state.reason === "idle_expired" || state.reason === "expired")) params.set("error", "expired");
  const query = params.toString();
  redirect(query ? `${LOGIN_PATH}?${query}` : LOGIN_PATH);
}
