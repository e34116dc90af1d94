import { handleUpdateNotes } from "@/lib/http/admin-dead-letters";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

type Params = { params: Promise<{ id: string }> };

export async function PUT(request: Request, { params }: Params) {
  return handleUpdateNotes(request, (await params).id);
}
