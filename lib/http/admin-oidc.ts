import { isHttps, newSession, readCookie, sessionRowFor, sessionSetCookie } from "../auth/admin-session";
import { clientAddress } from "../auth/client-address";
import { adminNotConfigured, forwardedOrigin } from "../auth/admin";
import { refusal } from "../auth/refusal";
import { finishOidcFlow, OIDC_CALLBACK_PATH, OIDC_COOKIE_PATH, OIDC_FLOW_COOKIE, OIDC_FLOW_SECONDS, oidcConfigured, readFlow, roleOf, signFlow, startOidcFlow } from "../auth/oidc";
import { redact, truncate } from "../cron/redact";
import { startSession } from "../db/commands/sessions";
import { HOME_PATH, LOGIN_PATH, safeNextPath } from "../dashboard/paths";
import { loadEnv, secretsOf, type Env } from "../env";
import { getRuntime } from "../app/runtime";
import { toErrorResponse } from "./http";

/**
 * The two ends of a sign-in through the identity provider (lib/auth/oidc.ts). Once it is set up,
 * both answer with redirects a browser follows: to the provider, back into the dashboard, or to
 * the login page with ?error= saying what went wrong (never a stack trace or a provider's raw
 * message). Not set up, they answer like the rest of the API: JSON saying what to configure.
 */

function redirect(location: string, cookies: string[] = []): Response {
  const headers = new Headers({ location, "cache-control": "no-store" });
  for (const c of cookies) headers.append("set-cookie", c);
  return new Response(null, { status: 303, headers });
}

const loginError = (code: string, cookies: string[] = []) => redirect(`${LOGIN_PATH}?error=${code}`, cookies);

/** The app's public origin: NEXT_PUBLIC_APP_URL, else what a proxy in front reports, else the request's. */
function appOrigin(request: Request, env: Pick<Env, "NEXT_PUBLIC_APP_URL">): string {
  if (env.NEXT_PUBLIC_APP_URL) return new URL(env.NEXT_PUBLIC_APP_URL).origin;
  return forwardedOrigin(request) ?? new URL(request.url).origin;
}

/** ADMIN_TOKEN (which signs the cookies), or the JSON answer of a server where this sign-in is not set up: ADMIN_TOKEN first (503), then the provider (404). */
function setUp(env: Env, context: string): { adminToken: string } | { closed: Response } {
  if (!env.ADMIN_TOKEN) return { closed: toErrorResponse(adminNotConfigured(), context) };
  if (!oidcConfigured(env)) {
    return { closed: toErrorResponse(refusal(404, "oidc_not_configured", "Sign-in through an identity provider is not set up: set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, or log in with ADMIN_TOKEN at /dashboard/admin/login."), context) };
  }
  return { adminToken: env.ADMIN_TOKEN };
}

const flowCookie = (request: Request, value: string, maxAge: number) =>
  `${OIDC_FLOW_COOKIE}=${value}; Path=${OIDC_COOKIE_PATH}; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${isHttps(request) ? "; Secure" : ""}`;

/** GET /api/admin/oidc/login?next=: starts a sign-in at the provider. */
export async function handleOidcLogin(request: Request, now: () => Date = () => new Date()): Promise<Response> {
  const env = loadEnv();
  const ready = setUp(env, "oidc login");
  if ("closed" in ready) return ready.closed;
  const next = safeNextPath(new URL(request.url).searchParams.get("next")) ?? HOME_PATH;
  try {
    const { flow, url } = await startOidcFlow(env, `${appOrigin(request, env)}${OIDC_CALLBACK_PATH}`, next, now().getTime());
    return redirect(url.href, [flowCookie(request, signFlow(flow, ready.adminToken), OIDC_FLOW_SECONDS)]);
  } catch (error) {
    console.warn(`[crondeck] sign-in with the identity provider could not start: ${truncate(redact(error instanceof Error ? error.message : String(error), secretsOf(env)), 300)}`);
    return loginError("oidc_unavailable");
  }
}

/**
 * GET /api/admin/oidc/callback?code&state: the provider's answer. The code is
 * exchanged and the ID token checked; a person the configuration and the claims give no role
 * is refused; anyone else gets a session (its row and a session.login audit row naming them,
 * their role and the provider's subject) and lands where the sign-in started.
 */
export async function handleOidcCallback(request: Request, now: () => Date = () => new Date()): Promise<Response> {
  const env = loadEnv();
  const ready = setUp(env, "oidc callback");
  if ("closed" in ready) return ready.closed;
  const clear = flowCookie(request, "", 0);
  const at = now();
  const flow = readFlow(readCookie(request, OIDC_FLOW_COOKIE) ?? undefined, ready.adminToken, at.getTime());
  if (!flow) return loginError("oidc_expired", [clear]);
  const query = new URL(request.url).searchParams;
  if (query.get("error")) return loginError("oidc_denied", [clear]);
  const ip = clientAddress(request, env);
  try {
    const callback = new URL(`${appOrigin(request, env)}${OIDC_CALLBACK_PATH}`);
    callback.search = query.toString();
    const person = await finishOidcFlow(env, callback, flow);
    const role = roleOf(env, person);
    if (!role) {
      console.warn(`[crondeck] sign-in refused: ${truncate(person.name, 200)} has no role (OIDC_ADMINS, OIDC_OPERATORS, OIDC_VIEWERS or the ${env.OIDC_ROLE_CLAIM} claim)`);
      return loginError("oidc_no_role", [clear]);
    }
    const cookie = newSession(at.getTime());
    const { database } = await getRuntime();
    await startSession(
      database.db,
      { name: person.name, via: "cookie", ip },
      sessionRowFor(cookie, { actor: person.name, role }, ready.adminToken, { ip, userAgent: request.headers.get("user-agent") }),
      { method: "oidc", role, subject: person.subject.slice(0, 200) },
    );
    return redirect(flow.next, [clear, sessionSetCookie(request, cookie, ready.adminToken)]);
  } catch (error) {
    console.warn(`[crondeck] sign-in with the identity provider failed: ${truncate(redact(error instanceof Error ? error.message : String(error), secretsOf(env)), 300)}`);
    return loginError("oidc_failed", [clear]);
  }
}
