import { handleListJobs } from "@/lib/http/admin-jobs";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function GET(request: Request) {
  return handleListJobs(request);
}
