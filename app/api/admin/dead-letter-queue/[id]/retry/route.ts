import { handleRetryDeadLetter } from "@/lib/http/admin-dead-letters";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";
/** Seconds: the replay happens after the response (after()), within this function's lifetime. */
export const maxDuration = 300;

type Params = { params: Promise<{ id: string }> };

export async function POST(request: Request, { params }: Params) {
  return handleRetryDeadLetter(request, (await params).id, maxDuration);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts).
export const { GET, HEAD, PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("POST");
