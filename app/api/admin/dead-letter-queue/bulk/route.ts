import { handleBulkDeadLetters } from "@/lib/http/admin-dead-letters";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";
/** Seconds: a replay batch runs after the response (after()), within this function's lifetime. */
export const maxDuration = 300;

export async function POST(request: Request) {
  return handleBulkDeadLetters(request, maxDuration);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts).
export const { GET, HEAD, PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("POST");
