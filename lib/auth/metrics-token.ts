import { createHash, timingSafeEqual } from "node:crypto";
import type { Env } from "../env";
import { refusal, type Refusal } from "./refusal";

export type MetricsAuthResult = { ok: true } | Refusal<"unauthorized" | "metrics_not_configured">;

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/**
 * Checks `Authorization: Bearer <METRICS_TOKEN>` for GET /api/metrics in constant time (both
 * sides hashed to 32 bytes first, as lib/auth/cron-secret.ts does). With no METRICS_TOKEN the
 * endpoint does not exist (404, saying how to turn it on): metrics are off by default.
 */
export function verifyMetricsRequest(request: Request, env: Pick<Env, "METRICS_TOKEN">): MetricsAuthResult {
  if (!env.METRICS_TOKEN) {
    return refusal(404, "metrics_not_configured", "Metrics are off. Set METRICS_TOKEN (openssl rand -hex 32) on the server and scrape /api/metrics with `Authorization: Bearer <METRICS_TOKEN>`.");
  }
  const refused = refusal(401, "unauthorized", "Missing or wrong Authorization header: send `Authorization: Bearer <METRICS_TOKEN>`.", { "www-authenticate": 'Bearer realm="crondeck-metrics"' });
  const header = request.headers.get("authorization");
  const match = header ? /^Bearer ([^\s,]+)$/.exec(header) : null;
  if (!match || match[1].length > 1024) return refused;
  return timingSafeEqual(digest(match[1]), digest(env.METRICS_TOKEN)) ? { ok: true } : refused;
}
