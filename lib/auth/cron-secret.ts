import { createHash, timingSafeEqual } from "node:crypto";
import type { Env } from "../env";
import { refusal, type Refusal } from "./refusal";

export type CronAuthResult = { ok: true } | Refusal<"unauthorized" | "cron_secret_not_configured">;

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/**
 * Checks `Authorization: Bearer <CRON_SECRET>` in constant time: both sides are hashed to
 * 32 bytes first, so neither the length nor a common prefix leaks through timing. The
 * previous secret is also accepted while a secret is rotated. No secret configured means
 * every request is refused (fail closed).
 */
export function verifyCronAuthorization(header: string | null, secrets: { current?: string; previous?: string }): CronAuthResult {
  if (!secrets.current) {
    return refusal(503, "cron_secret_not_configured", "CRON_SECRET is not set on the server, so no trigger is accepted. Set it (openssl rand -hex 32) and redeploy.");
  }
  const refused = refusal(401, "unauthorized", "Missing or wrong Authorization header: send `Authorization: Bearer <CRON_SECRET>`.");
  const match = header ? /^Bearer ([^\s,]+)$/.exec(header) : null;
  if (!match || match[1].length > 1024) return refused;
  const presented = digest(match[1]);
  // Compare against both secrets every time so the rotation state does not show in the timing.
  const current = timingSafeEqual(presented, digest(secrets.current));
  const previous = timingSafeEqual(presented, digest(secrets.previous ?? secrets.current));
  return current || (previous && Boolean(secrets.previous)) ? { ok: true } : refused;
}

/** A request's `Authorization` header checked against CRON_SECRET (and CRON_SECRET_PREVIOUS while rotating). */
export function verifyCronRequest(request: Request, env: Pick<Env, "CRON_SECRET" | "CRON_SECRET_PREVIOUS">): CronAuthResult {
  return verifyCronAuthorization(request.headers.get("authorization"), { current: env.CRON_SECRET, previous: env.CRON_SECRET_PREVIOUS });
}
