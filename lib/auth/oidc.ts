import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import * as client from "openid-client";
import { ADMIN_ROLES, roleAllows, type AdminRole } from "../cron/vocabulary";
import type { Env } from "../env";

/**
 * Sign-in through the team's identity provider with OpenID Connect (the authorization code flow
 * with PKCE, state and nonce, by openid-client): GET /api/admin/oidc/login sends the browser to
 * the provider with a short-lived signed cookie holding the flow's secrets; the provider sends it
 * back to /api/admin/oidc/callback, where the code is exchanged, the ID token checked, and the person
 * gets a session with the role the configuration or a claim gives them (lib/http/admin-oidc.ts).
 */

export type OidcEnv = Pick<Env, "OIDC_ISSUER" | "OIDC_CLIENT_ID" | "OIDC_CLIENT_SECRET" | "OIDC_SCOPES" | "OIDC_ROLE_CLAIM" | "OIDC_ADMINS" | "OIDC_OPERATORS" | "OIDC_VIEWERS" | "OIDC_NAME">;

export const OIDC_CALLBACK_PATH = "/api/admin/oidc/callback";
export const OIDC_LOGIN_PATH = "/api/admin/oidc/login";
/** The flow cookie is sent to these two only. */
export const OIDC_COOKIE_PATH = "/api/admin/oidc";
export const OIDC_FLOW_COOKIE = "crondeck_oidc";
/** How long a sign-in may take at the provider. */
export const OIDC_FLOW_SECONDS = 10 * 60;

export const oidcConfigured = (env: OidcEnv): boolean => Boolean(env.OIDC_ISSUER && env.OIDC_CLIENT_ID);

/** http is allowed for an issuer on this machine only (a provider run for development or tests). */
const isLoopback = (url: URL) => url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);

const configurations = new Map<string, Promise<client.Configuration>>();

/** The provider's configuration, discovered once per process (its keys are fetched as the ID tokens need them). */
export function oidcConfiguration(env: OidcEnv): Promise<client.Configuration> {
  const issuer = new URL(env.OIDC_ISSUER!);
  const key = `${issuer.href}|${env.OIDC_CLIENT_ID}`;
  let found = configurations.get(key);
  if (!found) {
    const insecure = isLoopback(issuer);
    if (issuer.protocol !== "https:" && !insecure) throw new Error("OIDC_ISSUER must be an https URL (http only on 127.0.0.1 or localhost)");
    found = client.discovery(issuer, env.OIDC_CLIENT_ID!, env.OIDC_CLIENT_SECRET, undefined, { execute: insecure ? [client.allowInsecureRequests] : [], timeout: 10 });
    // A failed discovery (the provider was down) is tried again on the next sign-in.
    found.catch(() => configurations.delete(key));
    configurations.set(key, found);
  }
  return found;
}

/** What the flow cookie carries from the start of a sign-in to its callback. */
export interface OidcFlow {
  state: string;
  nonce: string;
  verifier: string;
  /** Where to land after signing in (a path under /dashboard/admin). */
  next: string;
  /** Seconds since the epoch when the flow started. */
  iat: number;
}

const flowKey = (adminToken: string) => Buffer.from(hkdfSync("sha256", adminToken, "crondeck", "crondeck-oidc-flow-v1", 32));

/** The flow as a cookie value: base64url(JSON).base64url(HMAC), under a key derived from ADMIN_TOKEN. */
export function signFlow(flow: OidcFlow, adminToken: string): string {
  const data = Buffer.from(JSON.stringify(flow)).toString("base64url");
  return `${data}.${createHmac("sha256", flowKey(adminToken)).update(data).digest("base64url")}`;
}

/** The flow in a cookie value when its signature holds and it is younger than OIDC_FLOW_SECONDS; null otherwise. */
export function readFlow(value: string | undefined, adminToken: string, nowMs: number): OidcFlow | null {
  if (!value || value.length > 2048) return null;
  const [data, mac, extra] = value.split(".");
  if (!data || !mac || extra !== undefined) return null;
  const expected = createHmac("sha256", flowKey(adminToken)).update(data).digest();
  const given = Buffer.from(mac, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const flow = JSON.parse(Buffer.from(data, "base64url").toString("utf8")) as OidcFlow;
    const age = nowMs / 1000 - flow.iat;
    return age >= -60 && age <= OIDC_FLOW_SECONDS && typeof flow.state === "string" && typeof flow.verifier === "string" ? flow : null;
  } catch {
    return null;
  }
}

/** A new flow and the provider's authorization URL that starts it. */
export async function startOidcFlow(env: OidcEnv, redirectUri: string, next: string, nowMs: number): Promise<{ flow: OidcFlow; url: URL }> {
  const config = await oidcConfiguration(env);
  const flow: OidcFlow = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier(), next, iat: Math.floor(nowMs / 1000) };
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: env.OIDC_SCOPES,
    code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
    code_challenge_method: "S256",
    state: flow.state,
    nonce: flow.nonce,
  });
  return { flow, url };
}

/** Who signed in: the person's name for the audit log (their e-mail, else their user name, else the subject) and their claims. */
export interface OidcPerson {
  name: string;
  email: string | null;
  subject: string;
  claims: Record<string, unknown>;
}

/**
 * The callback: exchanges the code (PKCE, state and nonce checked; the ID token's signature,
 * issuer, audience and expiry by openid-client), then reads the person's claims from the ID
 * token, completed by the userinfo endpoint where the token leaves some out.
 */
export async function finishOidcFlow(env: OidcEnv, callbackUrl: URL, flow: OidcFlow): Promise<OidcPerson> {
  const config = await oidcConfiguration(env);
  const tokens = await client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
  let claims: Record<string, unknown> = { ...(tokens.claims() ?? {}) };
  const subject = String(claims.sub);
  if ((claims.email === undefined || claims[env.OIDC_ROLE_CLAIM] === undefined) && config.serverMetadata().userinfo_endpoint) {
    claims = { ...(await client.fetchUserInfo(config, tokens.access_token, subject)), ...claims };
  }
  const email = typeof claims.email === "string" ? claims.email.toLowerCase() : null;
  const username = typeof claims.preferred_username === "string" ? claims.preferred_username : null;
  return { name: (email ?? username ?? subject).slice(0, 200), email, subject, claims };
}

/**
 * The role a person gets: the highest of what the configuration says of their e-mail
 * (OIDC_ADMINS, OIDC_OPERATORS, OIDC_VIEWERS; "*" matches everyone the provider signs in) and
 * what the OIDC_ROLE_CLAIM claim holds; null when neither gives one (the sign-in is refused).
 */
export function roleOf(env: OidcEnv, person: Pick<OidcPerson, "email" | "claims">): AdminRole | null {
  const listed = (list: readonly string[]) => list.includes("*") || (person.email !== null && list.includes(person.email));
  const fromConfig: AdminRole[] = [...(listed(env.OIDC_ADMINS) ? ["admin" as const] : []), ...(listed(env.OIDC_OPERATORS) ? ["operator" as const] : []), ...(listed(env.OIDC_VIEWERS) ? ["viewer" as const] : [])];
  const claim = person.claims[env.OIDC_ROLE_CLAIM];
  const fromClaim = (Array.isArray(claim) ? claim : [claim]).filter((v): v is AdminRole => typeof v === "string" && (ADMIN_ROLES as readonly string[]).includes(v));
  const all = [...fromConfig, ...fromClaim];
  if (all.length === 0) return null;
  return all.reduce((best, r) => (roleAllows(r, best) ? r : best));
}
