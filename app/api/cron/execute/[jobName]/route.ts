import { executeRoute } from "@/lib/http/cron-routes";
import { refuseOtherMethods } from "@/lib/http/methods";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";
/** Seconds; Vercel Pro allows up to 300 by default (800 with fluid compute). The engine budgets retries against it. */
export const maxDuration = 300;

type Params = { params: Promise<{ jobName: string }> };

/**
 * Vercel Cron triggers with GET; curl and other schedulers POST. Both run the job. A caller whose
 * run outlives a graceful shutdown still gets an answer (503 interrupted), never a reset.
 */
export async function GET(request: Request, { params }: Params) {
  return executeRoute(request, (await params).jobName, maxDuration);
}

export async function POST(request: Request, { params }: Params) {
  return executeRoute(request, (await params).jobName, maxDuration);
}

// Without its own HEAD export Next.js answers HEAD with GET, which would run the job (and a
// HEAD is no trigger: monitors and link checkers send it). Only GET and POST run anything.
export const { HEAD, PUT, PATCH, DELETE, OPTIONS } = refuseOtherMethods("GET", "POST");
