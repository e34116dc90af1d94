import { handleRunNow } from "@/lib/http/admin-jobs";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";
/** Seconds: the run happens after the response (after()), within this function's lifetime. */
export const maxDuration = 300;

type Params = { params: Promise<{ jobName: string }> };

export async function POST(request: Request, { params }: Params) {
  return handleRunNow(request, (await params).jobName, maxDuration);
}
