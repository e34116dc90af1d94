import type { Env } from "../env";

/**
 * Where the tick reaches the execute route, and what it sends to get through Vercel's
 * Deployment Protection (docs: "Deployment Protection", "Protection Bypass for Automation").
 *
 * Standard Protection, Vercel's default, guards preview deployments and every generated
 * deployment URL (VERCEL_URL) but leaves the production domain public. So the tick dispatches to
 * NEXT_PUBLIC_APP_URL when set, else on production to the project's production domain
 * (VERCEL_PROJECT_PRODUCTION_URL), else to VERCEL_URL, else to the origin it was called on; and
 * sends x-vercel-protection-bypass with VERCEL_AUTOMATION_BYPASS_SECRET whenever it is set,
 * which gets through any protection method, previews included.
 */

export const PROTECTION_BYPASS_HEADER = "x-vercel-protection-bypass";

export function dispatchBaseUrl(
  env: Pick<Env, "NEXT_PUBLIC_APP_URL" | "VERCEL_ENV" | "VERCEL_PROJECT_PRODUCTION_URL" | "VERCEL_URL">,
  requestOrigin: string,
): string {
  if (env.NEXT_PUBLIC_APP_URL) return env.NEXT_PUBLIC_APP_URL;
  if (env.VERCEL_ENV === "production" && env.VERCEL_PROJECT_PRODUCTION_URL) return `https://${env.VERCEL_PROJECT_PRODUCTION_URL}`;
  if (env.VERCEL_URL) return `https://${env.VERCEL_URL}`;
  return requestOrigin;
}

/** The headers that get a dispatch through Deployment Protection: the bypass, when Vercel set one. */
export function protectionHeaders(env: Pick<Env, "VERCEL_AUTOMATION_BYPASS_SECRET">): Record<string, string> {
  return env.VERCEL_AUTOMATION_BYPASS_SECRET ? { [PROTECTION_BYPASS_HEADER]: env.VERCEL_AUTOMATION_BYPASS_SECRET } : {};
}

/**
 * What a 401/403 answer to a dispatch means. Crondeck's own refusals are JSON with a `code`;
 * anything else (Vercel's login page is HTML) is the deployment's protection in front of the
 * route. The message names the fix and never the secret.
 */
export function refusedDispatchError(status: number, contentType: string | null, origin: string, bypassSent: boolean): string {
  const isJson = (contentType ?? "").toLowerCase().includes("json");
  if (isJson) {
    return `the execute route at ${origin} refused the tick with ${status}: the CRON_SECRET the tick sends is not the one that deployment has (set the same CRON_SECRET on both and redeploy)`;
  }
  return bypassSent
    ? `${origin} answered ${status} with a ${contentType ?? "non-JSON"} page, not the execute route: Deployment Protection refused the x-vercel-protection-bypass secret. Regenerate Protection Bypass for Automation in the project's Deployment Protection settings and redeploy (the variable is set at build time), or set NEXT_PUBLIC_APP_URL to the production domain`
    : `${origin} answered ${status} with a ${contentType ?? "non-JSON"} page, not the execute route: Vercel Deployment Protection blocks the tick's dispatch there. Set NEXT_PUBLIC_APP_URL to the production domain (Standard Protection leaves it public), or turn on Protection Bypass for Automation in the project's Deployment Protection settings (Vercel then sets VERCEL_AUTOMATION_BYPASS_SECRET, which the tick sends) and redeploy`;
}
