import { handleBackfill, handleListBackfills } from "@/lib/http/admin-backfills";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";
/** Seconds: the backfill's slots run after the response (after()), within this function's lifetime; the tick goes on with the rest. */
export const maxDuration = 300;

type Params = { params: Promise<{ jobName: string }> };

export async function POST(request: Request, { params }: Params) {
  return handleBackfill(request, (await params).jobName, maxDuration);
}

export async function GET(request: Request, { params }: Params) {
  return handleListBackfills(request, (await params).jobName);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts); HEAD answers like GET without the body.
export const { PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("GET", "HEAD", "POST");
