import { handleCancelBackfill } from "@/lib/http/admin-backfills";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

type Params = { params: Promise<{ id: string }> };

export async function POST(request: Request, { params }: Params) {
  return handleCancelBackfill(request, (await params).id);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts).
export const { GET, HEAD, PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("POST");
