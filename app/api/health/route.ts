import { handleHealth } from "@/lib/http/health";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

/** 200 with the database and lock store status, 503 when the database does not answer. */
export function GET(): Promise<Response> {
  return handleHealth();
}
