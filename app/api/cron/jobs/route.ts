import { handleListJobs } from "@/lib/http/jobs-api";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export function GET(request: Request) {
  return handleListJobs(request);
}
