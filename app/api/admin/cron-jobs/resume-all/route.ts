import { handlePauseAll } from "@/lib/http/admin-jobs";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function POST(request: Request) {
  return handlePauseAll(request, false);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts).
export const { GET, HEAD, PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("POST");
