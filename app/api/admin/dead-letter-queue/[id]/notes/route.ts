import { handleUpdateNotes } from "@/lib/http/admin-dead-letters";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

type Params = { params: Promise<{ id: string }> };

export async function PUT(request: Request, { params }: Params) {
  return handleUpdateNotes(request, (await params).id);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts).
export const { GET, HEAD, POST, PATCH, DELETE, OPTIONS } = refuseOtherMethods("PUT");
