import { handleHealth } from "@/lib/http/health";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

/** 200 with the database and lock store status, 503 when the database does not answer. */
export function GET(): Promise<Response> {
  return handleHealth();
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts); HEAD answers like GET without the body.
export const { POST, PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("GET", "HEAD");
