import { handleGetOverrides, handleRevertOverrides, handleSetOverrides } from "@/lib/http/admin-overrides";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

type Params = { params: Promise<{ jobName: string }> };

export async function GET(request: Request, { params }: Params) {
  return handleGetOverrides(request, (await params).jobName);
}

export async function PATCH(request: Request, { params }: Params) {
  return handleSetOverrides(request, (await params).jobName, false);
}

export async function PUT(request: Request, { params }: Params) {
  return handleSetOverrides(request, (await params).jobName, true);
}

export async function DELETE(request: Request, { params }: Params) {
  return handleRevertOverrides(request, (await params).jobName);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts).
export const { HEAD, POST, OPTIONS } = refuseOtherMethods("GET", "PATCH", "PUT", "DELETE");
