import { handleGetRun } from "@/lib/http/admin-runs";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

type Params = { params: Promise<{ id: string }> };

export async function GET(request: Request, { params }: Params) {
  return handleGetRun(request, (await params).id);
}
