import { handleGetJob } from "@/lib/http/jobs-api";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function GET(request: Request, { params }: { params: Promise<{ jobName: string }> }) {
  return handleGetJob(request, (await params).jobName);
}
