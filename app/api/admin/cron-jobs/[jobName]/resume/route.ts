import { handlePause } from "@/lib/http/admin-jobs";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

type Params = { params: Promise<{ jobName: string }> };

export async function POST(request: Request, { params }: Params) {
  return handlePause(request, (await params).jobName, false);
}
