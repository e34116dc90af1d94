import { handleMarkFailed } from "@/lib/http/admin-dead-letters";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

type Params = { params: Promise<{ id: string }> };

export async function POST(request: Request, { params }: Params) {
  return handleMarkFailed(request, (await params).id);
}
