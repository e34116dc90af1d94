import { handleChanges } from "@/lib/http/admin-changes";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function GET(request: Request) {
  return handleChanges(request);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts); HEAD answers like GET without the body.
export const { POST, PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("GET", "HEAD");
