import { handleExecute } from "@/lib/server/execute";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";
/** Seconds; Vercel Pro allows up to 300 by default (800 with fluid compute). The engine budgets retries against it. */
export const maxDuration = 300;

type Params = { params: Promise<{ jobName: string }> };

/** Vercel Cron triggers with GET; curl and other schedulers POST. Both run the job. */
export async function GET(request: Request, { params }: Params) {
  return handleExecute(request, (await params).jobName, maxDuration);
}

export async function POST(request: Request, { params }: Params) {
  return handleExecute(request, (await params).jobName, maxDuration);
}
