import { handleRetryDeadLetter } from "@/lib/http/admin-dead-letters";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";
/** Seconds: the replay happens after the response (after()), within this function's lifetime. */
export const maxDuration = 300;

type Params = { params: Promise<{ id: string }> };

export async function POST(request: Request, { params }: Params) {
  return handleRetryDeadLetter(request, (await params).id, maxDuration);
}
