import { handleSnooze, handleUnsnooze } from "@/lib/http/admin-snooze";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

type Params = { params: Promise<{ jobName: string }> };

export async function POST(request: Request, { params }: Params) {
  return handleSnooze(request, (await params).jobName);
}

export async function DELETE(request: Request, { params }: Params) {
  return handleUnsnooze(request, (await params).jobName);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts).
export const { GET, HEAD, PUT, PATCH, OPTIONS } = refuseOtherMethods("POST", "DELETE");
