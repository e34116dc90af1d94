import { handleJobDependencies } from "@/lib/http/admin-dependencies";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

type Params = { params: Promise<{ jobName: string }> };

export async function GET(request: Request, { params }: Params) {
  return handleJobDependencies(request, (await params).jobName);
}

// Every other method: a JSON 405 with Allow (lib/http/methods.ts); HEAD answers like GET without the body.
export const { POST, PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("GET", "HEAD");
