import { handleRunNow } from "@/lib/http/admin-jobs";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";
/** Seconds: the run happens after the response (after()), within this function's lifetime. */
export const maxDuration = 300;

type Params = { params: Promise<{ jobName: string }> };

export async function POST(request: Request, { params }: Params) {
  return handleRunNow(request, (await params).jobName, maxDuration);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts).
export const { GET, HEAD, PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("POST");
