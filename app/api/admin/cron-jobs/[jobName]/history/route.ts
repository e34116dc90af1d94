import { handleJobHistory } from "@/lib/http/admin-jobs";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

type Params = { params: Promise<{ jobName: string }> };

export async function GET(request: Request, { params }: Params) {
  return handleJobHistory(request, (await params).jobName);
}
