import { z } from "zod";
import { adminNotConfigured, adminTokenMatches, checkOrigin, SESSION_ACTOR } from "../auth/admin";
import { clearSessionCookie, newSession, SESSION_ABSOLUTE_SECONDS, SESSION_IDLE_SECONDS, sessionRowFor, sessionSetCookie } from "../auth/admin-session";
import { clientAddress } from "../auth/client-address";
import { refusal } from "../auth/refusal";
import { endSession, startSession } from "../db/commands/sessions";
import { clearLoginAttempts, countLoginAttempt } from "../db/login-limiter";
import { HOME_PATH, LOGIN_PATH, NEXT_PATH_RE } from "../dashboard/paths";
import { loadEnv } from "../env";
import { HttpError, json, toErrorResponse } from "./http";
import { adminRoute } from "./admin-http";
import { parseWith, readBodyText } from "./parse";
import { getRuntime } from "../app/runtime";

/** A login body is a token and a path: anything over this is refused (413) before it is read further. */
export const LOGIN_BODY_MAX_BYTES = 4096;

export const loginBodySchema = z.strictObject({
  token: z.string({ error: "is required: the ADMIN_TOKEN" }).min(1, "is required: the ADMIN_TOKEN").max(1024, "is too long"),
  // A form may ask to land elsewhere in the dashboard, never outside it (no open redirect).
  next: z.string().max(300).regex(NEXT_PATH_RE, "must be a path under /dashboard/admin").optional(),
});

function redirect(location: string, setCookie?: string): Response {
  const headers = new Headers({ location, "cache-control": "no-store" });
  if (setCookie) headers.append("set-cookie", setCookie);
  return new Response(null, { status: 303, headers });
}

/** The login body as text, parsed as a form (application/x-www-form-urlencoded) or JSON; at most LOGIN_BODY_MAX_BYTES. */
async function readLoginBody(request: Request, isForm: boolean): Promise<unknown> {
  const text = await readBodyText(request, LOGIN_BODY_MAX_BYTES);
  if (isForm) return Object.fromEntries(new URLSearchParams(text));
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid_json", 'body: not valid JSON; send {"token": "<ADMIN_TOKEN>"} with Content-Type: application/json.', { field: "body" });
  }
}

/**
 * POST /api/admin/session { token } (JSON, or a form post from the login page without
 * JavaScript): starts a session (its row, its audit row, the cookie naming it). Needs the
 * app's own Origin (login CSRF). Every well-formed attempt is counted, before its token is
 * compared, by the limiter all instances share (lib/db/login-limiter.ts), keyed by
 * clientAddress: 429 with Retry-After over it, whatever the token.
 */
export async function handleLogin(request: Request, now: () => Date = () => new Date()): Promise<Response> {
  try {
    const env = loadEnv();
    if (!env.ADMIN_TOKEN) return toErrorResponse(adminNotConfigured(), "admin login");
    const refused = checkOrigin(request, env);
    if (refused) return toErrorResponse(refused, "admin login");
    const contentType = request.headers.get("content-type") ?? "";
    if (/^multipart\/form-data/i.test(contentType)) {
      throw new HttpError(415, "unsupported_media_type", "body: send the login as application/x-www-form-urlencoded (the login page's form) or JSON.", { field: "body" });
    }
    const isForm = /^application\/x-www-form-urlencoded/i.test(contentType);
    // The body first (at most 4 KB; a malformed one compares no token, so it is not an attempt).
    let body: z.infer<typeof loginBodySchema>;
    try {
      body = parseWith(loginBodySchema, await readLoginBody(request, isForm), "body");
    } catch (error) {
      if (isForm && error instanceof HttpError && error.status === 400) return redirect(`${LOGIN_PATH}?error=missing_token`);
      throw error;
    }

    const ip = clientAddress(request, env);
    const { database } = await getRuntime();
    const attempt = await countLoginAttempt(database.db, ip, now());
    if (!attempt.allowed) {
      const wait = String(attempt.retryAfterSeconds);
      const message =
        attempt.scope === "address"
          ? `Too many login attempts from this address; try again in ${wait}s.`
          : `Too many login attempts on this server as a whole; try again in ${wait}s. Scripts can use Authorization: Bearer <ADMIN_TOKEN> without logging in.`;
      return toErrorResponse(refusal(429, "too_many_attempts", message, { "retry-after": wait }), "admin login");
    }

    if (!adminTokenMatches(body.token, env.ADMIN_TOKEN)) {
      console.warn(`[crondeck] admin login refused from ${ip ?? "an unknown address"}`);
      if (isForm) return redirect(`${LOGIN_PATH}?error=invalid_token`);
      return toErrorResponse(refusal(401, "unauthorized", "Wrong admin token."), "admin login");
    }
    const at = now();
    await clearLoginAttempts(database.db, ip, at);
    const cookie = newSession(at.getTime());
    const row = sessionRowFor(cookie, { actor: SESSION_ACTOR, role: "admin" }, env.ADMIN_TOKEN, { ip, userAgent: request.headers.get("user-agent") });
    // The session starts here, so it is the cookie's actor; the detail says how the form was sent.
    await startSession(database.db, { name: SESSION_ACTOR, via: "cookie", ip }, row, { submitted: isForm ? "form" : "json" });
    const setCookie = sessionSetCookie(request, cookie, env.ADMIN_TOKEN);
    if (isForm) return redirect(body.next ?? HOME_PATH, setCookie);
    const response = json({ success: true, expiresAt: new Date((cookie.iat + SESSION_ABSOLUTE_SECONDS) * 1000).toISOString(), idleTimeoutSeconds: SESSION_IDLE_SECONDS });
    response.headers.append("set-cookie", setCookie);
    return response;
  } catch (error) {
    return toErrorResponse(error, "admin login");
  }
}

/** DELETE /api/admin/session: logs out: the session's row is revoked (a copy of the cookie stops working) and the cookie deleted. */
export function handleLogout(request: Request): Promise<Response> {
  return adminRoute(request, "logout", async ({ actor }) => {
    const { database } = await getRuntime();
    await endSession(database.db, actor, new Date());
    const response = json({ success: true });
    response.headers.append("set-cookie", clearSessionCookie(request));
    return response;
  }, { role: "viewer" });
}
