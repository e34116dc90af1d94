import { handleClearLock } from "@/lib/http/admin-locks";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

type Params = { params: Promise<{ jobName: string }> };

/** Frees the lease and marks its run abandoned; a live lease needs ?force=true. */
export async function DELETE(request: Request, { params }: Params) {
  return handleClearLock(request, (await params).jobName);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts).
export const { GET, HEAD, POST, PUT, PATCH, OPTIONS } = refuseOtherMethods("DELETE");
