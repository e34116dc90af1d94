import { createHash, timingSafeEqual } from "node:crypto";
import type { ActorChannel, AdminRole } from "../cron/vocabulary";
import { API_TOKEN_PREFIX, useApiToken } from "../db/commands/api-tokens";
import type { Env } from "../env";
import type { Db } from "../db/client";
import { refusal, type Refusal } from "./refusal";
import { checkSession, isExpiry, readSessionCookie } from "./admin-session";
import { BACKGROUND_HEADER } from "./background";
import { clientAddress, type AddressEnv } from "./client-address";

/**
 * Who may use the admin API: a browser with a live session (lib/auth/admin-session.ts), or a script with
 * `Authorization: Bearer $ADMIN_TOKEN`. A state-changing request authenticated by the
 * cookie must also carry an Origin equal to the app's own (CSRF); a bearer token is never
 * sent by a browser on its own, so bearer requests need none.
 */

export type AdminVia = Exclude<ActorChannel, "cli">;

/** Why an admin request is refused: 503 (ADMIN_TOKEN unset), 401 (no valid credentials), 403 (foreign Origin). */
export type AdminRefusal = Refusal<"admin_not_configured" | "unauthorized" | "session_expired" | "bad_origin">;

export interface AdminAuth {
  ok: true;
  /** "admin" (ADMIN_TOKEN's session), "api-token" (ADMIN_TOKEN as bearer), or a personal token's owner. */
  actor: string;
  /** What they may do: admin for ADMIN_TOKEN, the token's role for a personal token. */
  role: AdminRole;
  via: AdminVia;
  /** The client's address as TRUST_PROXY lets it be known (clientAddress), for the audit log. */
  ip: string | null;
  /** The session's id (cookie requests), "token:<id>" for a personal token; null for ADMIN_TOKEN as bearer. */
  session: string | null;
}

/** The actor's name for a session-cookie request (the login that starts the session records it too). */
export const SESSION_ACTOR = "admin";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** Constant-time comparison of a presented token with ADMIN_TOKEN (SHA-256 digests, so lengths do not leak). */
export function adminTokenMatches(presented: string, adminToken: string): boolean {
  if (presented.length > 1024) return false;
  return timingSafeEqual(digest(presented), digest(adminToken));
}

/**
 * The origins the app answers on: the request URL's, the one a proxy in front reports
 * (x-forwarded-proto/-host, else Host), and NEXT_PUBLIC_APP_URL's. A browser cannot make a
 * cross-site request carry forged x-forwarded-* headers without a CORS preflight, which
 * this app never grants, so trusting them here opens nothing.
 */
export function allowedOrigins(request: Request, env: Pick<Env, "NEXT_PUBLIC_APP_URL">): Set<string> {
  const origins = new Set<string>([new URL(request.url).origin]);
  const forwarded = forwardedOrigin(request);
  if (forwarded) origins.add(forwarded);
  if (env.NEXT_PUBLIC_APP_URL) origins.add(new URL(env.NEXT_PUBLIC_APP_URL).origin);
  return origins;
}

/** The origin a proxy in front reports (x-forwarded-proto/-host, else Host); null when the headers give no usable http(s) origin. */
export function forwardedOrigin(request: Request): string | null {
  const url = new URL(request.url);
  const proto = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() || url.protocol.replace(":", "");
  const host = request.headers.get("x-forwarded-host")?.split(",")[0]?.trim() || request.headers.get("host")?.trim();
  if (!host || (proto !== "http" && proto !== "https")) return null;
  try {
    return new URL(`${proto}://${host}`).origin;
  } catch {
    // a malformed host header gives none
    return null;
  }
}

/** Null when the Origin header names this app; otherwise the 403 refusal. */
export function checkOrigin(request: Request, env: Pick<Env, "NEXT_PUBLIC_APP_URL">): AdminRefusal | null {
  const origin = request.headers.get("origin");
  if (origin && origin !== "null" && allowedOrigins(request, env).has(origin)) return null;
  const shown = origin === null ? "no Origin header" : `Origin ${JSON.stringify(origin.slice(0, 100))}`;
  return refusal(
    403,
    "bad_origin",
    `This request changes state with the session cookie but came with ${shown}; it must come from this app's own pages. ` +
      "Scripts should send Authorization: Bearer <ADMIN_TOKEN> instead. Behind a proxy that rewrites the host, set NEXT_PUBLIC_APP_URL to the public URL.",
  );
}

export function adminNotConfigured(): AdminRefusal {
  return refusal(
    503,
    "admin_not_configured",
    "ADMIN_TOKEN is not set on the server, so the admin area is closed to everyone. Set it to a long random value " +
      "(openssl rand -hex 32) in the environment (.env.local, or the project's environment variables on Vercel) and restart or redeploy.",
  );
}

export interface AdminAuthOptions {
  /** The database holding the sessions; asked for only when the request comes with a cookie. */
  db: () => Promise<Db>;
  now?: Date;
}

/** True for a request the dashboard made on its own (the running-jobs poll): authenticated, but not the user's activity. */
export const isBackgroundRequest = (request: Request) => request.headers.get(BACKGROUND_HEADER) === "1";

/**
 * Authenticates an admin request: the result, or the refusal (503 when ADMIN_TOKEN is unset,
 * 401 without valid credentials or with a session that ended, 403 for a cookie request that
 * changes state from a foreign, "null" or missing Origin). ADMIN_TOKEN as a bearer touches no
 * database; a personal token (cdk_...) reads its row by hash; a cookie request reads its
 * session's row (checkSession).
 */
export async function authenticateAdmin(
  request: Request,
  env: Pick<Env, "ADMIN_TOKEN" | "NEXT_PUBLIC_APP_URL"> & AddressEnv,
  opts: AdminAuthOptions,
): Promise<AdminAuth | AdminRefusal> {
  const token = env.ADMIN_TOKEN;
  if (!token) return adminNotConfigured();
  const ip = clientAddress(request, env);
  const unauthorized = () =>
    refusal(401, "unauthorized", "Not logged in: log in at /dashboard/admin/login, or send Authorization: Bearer <ADMIN_TOKEN>.");

  const header = request.headers.get("authorization");
  if (header !== null) {
    // A wrong bearer token is refused even when a valid cookie is also present: no fallback.
    const match = /^Bearer ([^\s,]+)$/.exec(header);
    if (!match) return unauthorized();
    // A personal token (cdk_...) is looked up by its hash; a revoked or expired one is refused.
    if (match[1].startsWith(API_TOKEN_PREFIX) && match[1].length <= 200) {
      const personal = await useApiToken(await opts.db(), match[1], opts.now ?? new Date());
      if (personal) return { ok: true, actor: personal.owner, role: personal.role, via: "bearer", ip, session: `token:${personal.id}` };
    }
    if (!adminTokenMatches(match[1], token)) return unauthorized();
    return { ok: true, actor: "api-token", role: "admin", via: "bearer", ip, session: null };
  }

  const cookie = readSessionCookie(request);
  if (!cookie) return unauthorized();
  // The Origin is checked before the session is looked up (and its idle clock moved).
  if (STATE_CHANGING.has(request.method.toUpperCase())) {
    const refused = checkOrigin(request, env);
    if (refused) return refused;
  }
  const check = await checkSession(await opts.db(), cookie, token, { now: opts.now ?? new Date(), background: isBackgroundRequest(request) });
  if (!check.ok) {
    if (isExpiry(check.reason)) return refusal(401, "session_expired", "Your admin session expired; log in again at /dashboard/admin/login.");
    return unauthorized();
  }
  return { ok: true, actor: check.session.actor, role: check.session.role, via: "cookie", ip, session: check.session.id };
}
