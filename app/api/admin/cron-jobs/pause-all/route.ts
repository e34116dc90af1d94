import { handlePauseAll } from "@/lib/http/admin-jobs";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function POST(request: Request) {
  return handlePauseAll(request, true);
}
