import { z } from "zod";
import { adminNotConfigured, adminTokenMatches, checkOrigin, clientAddress, SESSION_ACTOR } from "../auth/admin";
import { clearSessionCookie, newSession, SESSION_ABSOLUTE_SECONDS, SESSION_IDLE_SECONDS, sessionSetCookie } from "../auth/admin-session";
import { refusal } from "../auth/refusal";
import { recordSessionEvent } from "../db/commands/audit";
import { HOME_PATH, LOGIN_PATH, NEXT_PATH_RE } from "../dashboard/paths";
import { loadEnv } from "../env";
import { HttpError, json, toErrorResponse } from "./http";
import { adminRoute } from "./admin-http";
import { validationError } from "./errors";
import { readJsonBody } from "./parse";
import { getRuntime } from "../app/runtime";

/**
 * Failed logins per client address, in this process: 10 a minute, then 429 until the
 * minute is over. ADMIN_TOKEN is long and random, so this only keeps noise out of the
 * logs and the CPU; it is not what makes the token safe.
 */
export class LoginRateLimiter {
  private readonly failures = new Map<string, { windowStart: number; count: number }>();
  constructor(
    readonly maxFailures = 10,
    readonly windowMs = 60_000,
    private readonly maxKeys = 10_000,
  ) {}

  /** Seconds to wait, or 0 when a new attempt is allowed. */
  retryAfterSeconds(key: string, now = Date.now()): number {
    const entry = this.failures.get(key);
    if (!entry || now - entry.windowStart >= this.windowMs) return 0;
    return entry.count >= this.maxFailures ? Math.ceil((entry.windowStart + this.windowMs - now) / 1000) : 0;
  }

  fail(key: string, now = Date.now()): void {
    const entry = this.failures.get(key);
    if (!entry || now - entry.windowStart >= this.windowMs) {
      if (this.failures.size >= this.maxKeys) this.prune(now);
      this.failures.set(key, { windowStart: now, count: 1 });
    } else {
      entry.count++;
    }
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  private prune(now: number) {
    for (const [key, entry] of this.failures) if (now - entry.windowStart >= this.windowMs) this.failures.delete(key);
    // Still full (a flood of addresses): forget the oldest half rather than grow without bound.
    if (this.failures.size >= this.maxKeys) [...this.failures.keys()].slice(0, this.maxKeys / 2).forEach((k) => this.failures.delete(k));
  }
}

const LIMITER_KEY = Symbol.for("crondeck.admin-login-limiter");
function limiter(): LoginRateLimiter {
  const holder = globalThis as { [LIMITER_KEY]?: LoginRateLimiter };
  return (holder[LIMITER_KEY] ??= new LoginRateLimiter());
}

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

/**
 * POST /api/admin/session { token } (JSON, or a form post from the login page without
 * JavaScript): sets the session cookie. Needs the app's own Origin (login CSRF).
 */
export async function handleLogin(request: Request): Promise<Response> {
  try {
    const env = loadEnv();
    if (!env.ADMIN_TOKEN) return toErrorResponse(adminNotConfigured(), "admin login");
    const refused = checkOrigin(request, env);
    if (refused) return toErrorResponse(refused, "admin login");
    const ip = clientAddress(request);
    const key = ip ?? "unknown";
    const wait = limiter().retryAfterSeconds(key);
    if (wait > 0) {
      return toErrorResponse(refusal(429, "too_many_attempts", `Too many failed logins from this address; try again in ${wait}s.`, { "retry-after": String(wait) }), "admin login");
    }

    const isForm = /^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(request.headers.get("content-type") ?? "");
    let raw: unknown;
    if (isForm) {
      const form = await request.formData().catch(() => null);
      if (!form) throw new HttpError(400, "invalid_body", "body: not a readable form.", { field: "body" });
      raw = Object.fromEntries([...form.entries()].filter(([, v]) => typeof v === "string"));
    } else {
      raw = await readJsonBody(request, '{"token": "<ADMIN_TOKEN>"}');
    }
    const parsed = loginBodySchema.safeParse(raw);
    if (!parsed.success) {
      if (isForm) return redirect(`${LOGIN_PATH}?error=missing_token`);
      throw validationError(parsed.error, "body");
    }

    if (!adminTokenMatches(parsed.data.token, env.ADMIN_TOKEN)) {
      limiter().fail(key);
      console.warn(`[crondeck] admin login refused from ${ip ?? "an unknown address"}`);
      if (isForm) return redirect(`${LOGIN_PATH}?error=invalid_token`);
      return toErrorResponse(refusal(401, "unauthorized", "Wrong admin token."), "admin login");
    }
    limiter().succeed(key);

    const session = newSession();
    const setCookie = sessionSetCookie(request, session, env.ADMIN_TOKEN);
    const { database } = await getRuntime();
    // The session starts here, so it is the cookie's actor; the detail says how the form was sent.
    await recordSessionEvent(database.db, { name: SESSION_ACTOR, via: "cookie", ip }, "session.login", { sid: session.sid, submitted: isForm ? "form" : "json" });
    if (isForm) return redirect(parsed.data.next ?? HOME_PATH, setCookie);
    const response = json({ success: true, expiresAt: new Date((session.iat + SESSION_ABSOLUTE_SECONDS) * 1000).toISOString(), idleTimeoutSeconds: SESSION_IDLE_SECONDS });
    response.headers.append("set-cookie", setCookie);
    return response;
  } catch (error) {
    return toErrorResponse(error, "admin login");
  }
}

/** DELETE /api/admin/session: logs out (deletes the cookie). */
export function handleLogout(request: Request): Promise<Response> {
  return adminRoute(request, "logout", async ({ actor }) => {
    const { database } = await getRuntime();
    await recordSessionEvent(database.db, actor, "session.logout");
    const response = json({ success: true });
    response.headers.append("set-cookie", clearSessionCookie(request));
    return response;
  });
}
