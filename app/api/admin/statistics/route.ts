import { handleStatistics } from "@/lib/http/admin-runs";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

export async function GET(request: Request) {
  return handleStatistics(request);
}
