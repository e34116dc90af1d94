import { handleMetrics } from "@/lib/http/metrics";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

/** Prometheus metrics (text format 0.0.4), read from the database; `Authorization: Bearer <METRICS_TOKEN>`. */
export function GET(request: Request): Promise<Response> {
  return handleMetrics(request);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts); HEAD answers like GET without the body.
export const { POST, PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("GET", "HEAD");
